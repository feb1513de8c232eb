/**
 * Turns the configured supergraph source into the ApolloGateway option that loads it. A file is watched and
 * hot-swapped when it changes (a bad new version is logged and the running one kept); a URL is fetched once at
 * start-up; `compose` introspects running subgraphs (development); `managed` leaves it to Apollo Uplink.
 */
import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { IntrospectAndCompose, type GatewayConfig as ApolloGatewayConfig } from '@apollo/gateway';
import { request } from 'undici';
import type { SupergraphSource } from './config.js';
import type { Logger } from './logger.js';
import { boolean, family, integer, isHttpUrl, text, type SettingGroup } from './settings.js';

export class SupergraphLoadError extends Error {
  override name = 'SupergraphLoadError';
}

export function supergraphOption(source: SupergraphSource, logger: Logger): Partial<ApolloGatewayConfig> {
  switch (source.kind) {
    case 'file':
      return {
        supergraphSdl: async ({ update }) => {
          const sdl = await readSupergraphFile(source.path);
          let timer: NodeJS.Timeout | undefined;
          // Editors save in several steps; reload once the file has been quiet for a moment.
          const watcher = watch(source.path, () => {
            clearTimeout(timer);
            timer = setTimeout(() => {
              readSupergraphFile(source.path)
                .then((next) => {
                  update(next);
                  logger.info('supergraph reloaded', { path: source.path });
                })
                .catch((error: unknown) => logger.error('supergraph reload failed; keeping the running one', { error: String(error) }));
            }, 200);
          });
          return { supergraphSdl: sdl, cleanup: async () => { clearTimeout(timer); watcher.close(); } };
        },
      };
    case 'url':
      return { supergraphSdl: async () => ({ supergraphSdl: await fetchSupergraph(source.url) }) };
    case 'compose':
      return {
        supergraphSdl: new IntrospectAndCompose({
          subgraphs: source.subgraphs,
          pollIntervalInMs: source.pollIntervalMs || undefined,
        }),
      };
    case 'managed':
      return {};
    default:
      throw new UnreachableCaseError(source);
  }
}

async function readSupergraphFile(path: string): Promise<string> {
  let sdl: string;
  try {
    sdl = await readFile(path, 'utf8');
  } catch (error) {
    throw new SupergraphLoadError(`cannot read SUPERGRAPH file ${path}: ${(error as Error).message}`);
  }
  if (!sdl.trim()) throw new SupergraphLoadError(`SUPERGRAPH file ${path} is empty`);
  return sdl;
}

async function fetchSupergraph(url: string): Promise<string> {
  let response;
  try {
    response = await request(url, { headersTimeout: 10_000, bodyTimeout: 10_000 });
  } catch (error) {
    throw new SupergraphLoadError(`cannot fetch SUPERGRAPH ${url}: ${(error as Error).message}`);
  }
  const body = await response.body.text();
  if (response.statusCode !== 200) throw new SupergraphLoadError(`SUPERGRAPH ${url} answered HTTP ${response.statusCode}`);
  return body;
}

export class UnreachableCaseError extends Error {
  constructor(value: never) {
    super(`unreachable case: ${JSON.stringify(value)}`);
  }
}

/** Where the supergraph comes from, and the subgraphs' URLs when they differ from its own. */
export const SUPERGRAPH_SETTINGS = {
  supergraph: text('SUPERGRAPH', {
    default: null, defaultText: 'required (npm start / npm run gateway: schema/supergraph.graphql)', values: 'a file path or an http(s) URL',
    check: (value) => (/^[a-z]+:\/\//i.test(value) && !/^https?:\/\//.test(value) ? 'must be a file path or an http(s) URL' : /^https?:\/\//.test(value) && !isHttpUrl(value) ? 'is not a valid URL' : null),
    doc: 'a file (watched: edits are hot-reloaded) or a URL (fetched at start); not needed with managed federation or GATEWAY_DEV_COMPOSE',
  }),
  devCompose: boolean('GATEWAY_DEV_COMPOSE', { default: false, doc: 'development: compose from the running subgraphs named by SUBGRAPH_<NAME>_URL (introspection), polling every SUPERGRAPH_COMPOSE_POLL_MS' }),
  composePollMs: integer('SUPERGRAPH_COMPOSE_POLL_MS', { default: 10_000, min: 0, max: 3_600_000, unit: 'ms', doc: 'with GATEWAY_DEV_COMPOSE: how often the subgraphs are introspected again (0 = never)' }),
  subgraphUrls: family('SUBGRAPH_<NAME>_URL', /^SUBGRAPH_([A-Z0-9_]+?)_URL$/, text('SUBGRAPH_<NAME>_URL', {
    default: '', defaultText: 'the URL in the supergraph', values: 'an http(s) URL',
    check: (value) => (isHttpUrl(value) ? null : 'must be an http(s) URL'),
    doc: 'overrides one subgraph\'s URL, e.g. SUBGRAPH_TOPCLIENTS_URL',
  })),
  apolloKey: text('APOLLO_KEY', { default: null, defaultText: 'unset', values: 'a GraphOS API key', secret: true, doc: 'with APOLLO_GRAPH_REF: usage reporting to GraphOS, and managed federation (the supergraph from Apollo Uplink) when SUPERGRAPH is not set' }),
  apolloGraphRef: text('APOLLO_GRAPH_REF', { default: null, defaultText: 'unset', values: 'graph@variant', doc: 'the GraphOS graph; alone, it points the production landing page to Studio' }),
} satisfies SettingGroup;
