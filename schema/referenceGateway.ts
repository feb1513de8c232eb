/**
 * The gateway settings of this reference deployment. The gateway itself is generic and has no defaults about
 * any supergraph; `npm start`, the tests, the benchmark and docker-compose.yml give it these.
 */
import { fileURLToPath } from 'node:url';
import { SUPERGRAPH_FILE } from './subgraphs.js';

export const MANIFEST_FILE = fileURLToPath(new URL('./persisted-query-manifest.json', import.meta.url));

/**
 * The events that evict: topclients' `client-updated` / `client-removed` (a cached client is wrong then), and
 * gigs' and users' `seller-client-ids-applied` (a seller's answers at THAT service changed). topclients' own
 * `seller-client-ids-changed` is left out on purpose: it reaches the gateway before gigs and users hold the new
 * IDs, and evicting then would let the next page cache the old list again.
 */
export const INVALIDATING_EVENT_TYPES = 'client-updated,client-removed,seller-client-ids-applied';

/** The JetStream stream and subject of topclients' client events (subgraphs/toolkit/transports/jetstream.ts). */
export const CLIENT_EVENTS_STREAM = 'TOPCLIENTS';
export const clientEventsSubject = (subjectPrefix = 'topclients') => `${subjectPrefix}.client.>`;

/** A publisher's stream as the subgraph's NATS_STREAM / NATS_SUBJECT_PREFIX (or <NAME>_NATS_*) name it. */
export interface PublisherStream {
  stream: string;
  subjectPrefix: string;
}

/** Every service that publishes change events the gateway reads, with its default stream. */
export const EVENT_PUBLISHERS: Readonly<Record<'topclients' | 'gigs' | 'users', PublisherStream>> = {
  topclients: { stream: CLIENT_EVENTS_STREAM, subjectPrefix: 'topclients' },
  gigs: { stream: 'GIGS', subjectPrefix: 'gigs' },
  users: { stream: 'USERS', subjectPrefix: 'users' },
};

/** The gateway's settings to listen to every publisher's change feed (`<service>/events`). */
export function invalidationFeedEnv(feedUrls: readonly string[]): Record<string, string> {
  return { INVALIDATION_FEED_URL: feedUrls.join(',') };
}

/** The gateway's settings to listen on JetStream: topclients' client subjects, gigs' and users' seller subjects. */
export function invalidationNatsEnv(natsUrl: string, streams: Readonly<Record<keyof typeof EVENT_PUBLISHERS, PublisherStream>> = EVENT_PUBLISHERS): Record<string, string> {
  const { topclients, gigs, users } = streams;
  return {
    INVALIDATION_NATS_URL: natsUrl,
    INVALIDATION_NATS_STREAM: [topclients.stream, gigs.stream, users.stream].join(','),
    INVALIDATION_NATS_SUBJECT: [clientEventsSubject(topclients.subjectPrefix), `${gigs.subjectPrefix}.seller.>`, `${users.subjectPrefix}.seller.>`].join(','),
  };
}

export const REFERENCE_GATEWAY_ENV: Readonly<Record<string, string>> = {
  SUPERGRAPH: SUPERGRAPH_FILE,
  PERSISTED_QUERY_MANIFEST: MANIFEST_FILE,
  INVALIDATION_EVENT_TYPES: INVALIDATING_EVENT_TYPES,
  // topclients fills only optional parts of the pages, and is the service that may be slow: a page waits for it
  // at most 300 ms of its own time (the gigs fetch before it included), while its late answer gets 3 s to land in
  // the cache for the pages after it. (Its own self-view is bounded by the operation budget anyway.)
  SUBGRAPH_TOPCLIENTS_ENTITY_PAGE_BUDGET_MS: '300',
  SUBGRAPH_TOPCLIENTS_TIMEOUT_MS: '3000',
};
