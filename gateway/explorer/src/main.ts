/**
 * The local explorer: GraphiQL 5 bundled by Vite with everything it needs, so it works with no network beyond
 * the gateway itself. Monaco's web workers come from this bundle too (`graphiql/setup-workers/vite` imports them
 * with `?worker`), the fonts are inlined in GraphiQL's stylesheet, and the only requests it sends go to the
 * gateway's /graphql on the same origin.
 */
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import { GraphiQL } from 'graphiql';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { initialHeaders, readSettings } from './settings.js';

const settings = readSettings(document);
const endpoint = new URL(settings.endpoint, window.location.href).href;

/** What GraphiQL hands a fetcher (the subset this one uses). */
interface FetcherParams {
  query: string;
  operationName?: string | null;
  variables?: unknown;
}

/** POST as JSON: no CSRF preflight header is needed for application/json, and the headers tab adds the rest. */
async function fetcher(params: FetcherParams, options?: { headers?: Record<string, unknown> }): Promise<unknown> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { accept: 'application/graphql-response+json, application/json', 'content-type': 'application/json', ...stringHeaders(options?.headers) },
    body: JSON.stringify(params),
  });
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return { errors: [{ message: `HTTP ${response.status} ${response.statusText}: ${text.slice(0, 500)}` }] };
  }
}

/** Empty values mean "not sent", so the documented headers can sit in the tab unfilled. */
function stringHeaders(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    out[name] = String(value);
  }
  return out;
}

const headers = initialHeaders(settings);
createRoot(document.getElementById('explorer')!).render(
  createElement(GraphiQL, {
    fetcher,
    initialHeaders: headers,
    defaultHeaders: headers,
    defaultEditorToolsVisibility: settings.headers.length > 0 ? 'headers' : undefined,
  }),
);
