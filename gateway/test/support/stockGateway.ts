/**
 * The reference answer: stock @apollo/gateway (ApolloGateway + Apollo Server, the stock RemoteGraphQLDataSource)
 * on a supergraph, served on 127.0.0.1 port 0 with Apollo's telemetry off. Differential tests compare our gateway's
 * answers with this one's, after `normaliseAnswer`.
 *
 * Normalisation (deliberately small): the HTTP status, `data` as is (key order included), and `errors` with
 * message, path, locations and extensions (minus `stacktrace`, which neither gateway sends with stack traces off),
 * sorted: stock itself orders the errors of fetches that run in parallel by which subgraph answered first (seen
 * in the null-and-failing-entities fixture), so order is not part of the contract. Top-level `extensions` are not
 * compared: our gateway may add its own (the stale-served report).
 */
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

export interface StockGateway {
  url: string;
  stop(): Promise<void>;
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

export async function startStockGateway(supergraphSdl: string): Promise<StockGateway> {
  // ApolloGateway reads this in its constructor; without it the gateway phones home (docs/APOLLO-NOTES.md §6).
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  const gateway = new ApolloGateway({ supergraphSdl, logger: silent });
  // Stack traces are off on our gateway too; everything else is Apollo's default.
  const server = new ApolloServer({ gateway, logger: silent, includeStacktraceInErrorResponses: false });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return {
    url,
    stop: () => server.stop(),
  };
}

export interface Answer {
  status: number;
  data: unknown;
  errors: unknown[] | undefined;
}

export async function postOperation(url: string, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${url} answered HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  return normaliseAnswer(response.status, body);
}

export function normaliseAnswer(status: number, body: any): Answer {
  const errors = body.errors?.map((error: any) => {
    const { stacktrace: _, ...extensions } = error.extensions ?? {};
    return {
      message: error.message,
      ...(error.path ? { path: error.path } : {}),
      ...(error.locations ? { locations: error.locations } : {}),
      ...(error.extensions ? { extensions } : {}),
    };
  });
  return {
    status,
    data: body.data,
    errors: errors?.sort((a: unknown, b: unknown) => compareText(JSON.stringify(a), JSON.stringify(b))),
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
