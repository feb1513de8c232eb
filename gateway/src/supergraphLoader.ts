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
