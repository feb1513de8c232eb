/** The operations the benchmark sends: the real gig page and editor mutation, and a gig page that needs only gigs. */
import { readFileSync } from 'node:fs';
import { parse, print, visit } from 'graphql';
import { operation } from '../schema/operations.js';
import { MANIFEST_FILE } from '../schema/referenceGateway.js';

/**
 * The pages' gig page, whole: without the `@defer` on its top clients, which stock @apollo/gateway and Hive Gateway
 * refuse (their schemas declare no @defer), so that every contender answers the same page in one JSON body. It is
 * what ours plans for a client that takes JSON only; the deferred page has scenarios of its own (DEFERRED_GIG_PAGE).
 */
export const GIG_PAGE = print(visit(parse(operation('GigPage').body), { Directive: (node) => (node.name.value === 'defer' ? null : undefined) }));
export const UPDATE_CLIENT = operation('UpdateClient').body;

/** The gig page's own data only (one fetch to gigs): the baseline "a gateway that only has to call gigs". */
export const GIGS_ONLY = `query GigsOnly($id: ID!) {
  gig(id: $id) { id title description price rating ratingCount category seller { id } }
}`;

/**
 * The gig page with the top clients' details deferred (scenarios 2d and 4d). The bench's own text, not the
 * manifest's GigPage, so that what these scenarios measure does not change when the pages' operations do: the first
 * payload is the gig, the seller's profile and the top clients' ids; each client's details follow when topclients
 * has answered.
 */
const CLIENT_SUMMARY = `fragment ClientSummary on Client {
  id
  name
  logoUrl
  verified
  version
}`;
export const DEFERRED_GIG_PAGE = `query DeferredGigPage($id: ID!) {
  gig(id: $id) {
    id title description price rating ratingCount category
    seller {
      id username displayName level country
      topClients { id ...ClientSummary @defer(label: "topClients") }
    }
  }
}

${CLIENT_SUMMARY}`;

/**
 * The deferred page's first payload asked as a query of its own: the gig, the seller's profile at users and the top
 * clients' ids that gigs stores, without their details (no topclients call). The baseline the deferred page's first
 * payload is held to (the issue's "gigs-only page"): it costs the page subgraphs exactly what the first payload does,
 * so the two differ only in deferring. GIGS_ONLY above also leaves out users and the ids.
 */
export const NO_CLIENT_DETAILS_PAGE = `query NoClientDetailsGigPage($id: ID!) {
  gig(id: $id) {
    id title description price rating ratingCount category
    seller { id username displayName level country topClients { id } }
  }
}`;

/**
 * The deferred page and its baseline as the pages' operations are deployed: in the persisted query manifest, which
 * ours prepares before it reports ready (PLAN_WARMUP). Sent as ad-hoc text, each would be planned by the first
 * request of a cold burst while the other 99 wait: the deferred page's plan took 69 ms there, its baseline's 30-40,
 * and that difference alone, added to every first payload of scenario 2d, was about its whole gap (on 2026-12-07).
 */
export const DEFERRED_PAGE_OPERATIONS = [
  { name: 'DeferredGigPage', type: 'query', body: DEFERRED_GIG_PAGE },
  { name: 'NoClientDetailsGigPage', type: 'query', body: NO_CLIENT_DETAILS_PAGE },
] as const;

/**
 * Scenario 8's live gig page: the manifest's `GigPageLive` when it has one, sent by its id as the pages send
 * operations (over graphql-ws: `extensions.persistedQuery` and an empty `query`); else issue 26's text, sent as text
 * (ours runs in development with the manifest, PERSISTED_QUERIES=manifest+apq, which runs ad-hoc operations).
 */
export const ISSUE_GIG_PAGE_LIVE = `query GigPageLive($id: ID!) @live {
  gig(id: $id) { id title seller { id username topClients { id name logoUrl } } }
}`;
const manifestLivePage = (JSON.parse(readFileSync(MANIFEST_FILE, 'utf8')) as { operations: { id: string; name: string; body: string }[] })
  .operations.find((o) => o.name === 'GigPageLive');
export const LIVE_PAGE: { text: string; id: string | null; source: string } = manifestLivePage
  ? { text: manifestLivePage.body, id: manifestLivePage.id, source: `the manifest's GigPageLive, by id (${manifestLivePage.id.slice(0, 12)}...)` }
  : { text: ISSUE_GIG_PAGE_LIVE, id: null, source: 'issue 26\'s text (the manifest has no GigPageLive)' };
/**
 * The live page's text without `@live`: every gig page served once before the streams open (scenario 8), and what
 * stock is polled for (POST, once per second per viewer).
 */
export const GIG_PAGE_POLLED = LIVE_PAGE.text.replace(' @live', '');
/** Scenario 8's propagation subscription (issue 26's selection; gigs' `gigPagesUpdated`, completed at topclients). */
export const GIG_PAGES_UPDATED = `subscription GigPagesUpdatedBench($sellerId: ID!) {
  gigPagesUpdated(sellerId: $sellerId) { version appliedAt seller { id topClients { id name } } }
}`;
/** The editor's list mutations (the pages' own), signed as the seller, and the list it starts from. */
export const ADD_TOP_CLIENT = operation('AddTopClient').body;
export const REMOVE_TOP_CLIENT = operation('RemoveTopClient').body;
export const MY_TOP_CLIENTS = operation('MyTopClients').body;
