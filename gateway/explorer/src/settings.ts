/**
 * What the gateway tells the explorer when it serves the page: a JSON block in index.html, written by
 * gateway/src/explorer/explorerRoute.ts. Without it (the page opened from a plain static server) the explorer
 * still works against /graphql on the same origin, with no header documented.
 */
export interface ExplorerSettings {
  /** The GraphQL endpoint, relative to the page: the gateway's own /graphql. */
  endpoint: string;
  /** Request headers the graph reads, shown (empty) in the headers tab with their description. */
  headers: { name: string; description: string }[];
}

export const SETTINGS_ELEMENT_ID = 'explorer-settings';

export function readSettings(doc: Document): ExplorerSettings {
  const fallback: ExplorerSettings = { endpoint: '../graphql', headers: [] };
  const text = doc.getElementById(SETTINGS_ELEMENT_ID)?.textContent;
  if (!text) return fallback;
  try {
    const parsed = JSON.parse(text) as Partial<ExplorerSettings>;
    return {
      endpoint: typeof parsed.endpoint === 'string' ? parsed.endpoint : fallback.endpoint,
      headers: Array.isArray(parsed.headers) ? parsed.headers : [],
    };
  } catch {
    return fallback;
  }
}

/**
 * The headers tab's first content: JSON with comments (GraphiQL 5 strips them before sending), each documented
 * header present with an empty value, which the gateway treats as absent.
 */
export function initialHeaders(settings: ExplorerSettings): string {
  if (settings.headers.length === 0) return '{\n  // This gateway reads no identity header: every call is anonymous.\n}';
  const lines = settings.headers.flatMap((h, i) => [
    `  // ${h.description}`,
    `  ${JSON.stringify(h.name)}: ""${i < settings.headers.length - 1 ? ',' : ''}`,
  ]);
  return ['{', ...lines, '}'].join('\n');
}
