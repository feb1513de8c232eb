/**
 * GraphQL over GET carries its parameters in the query string exactly as Apollo Client and Apollo Server spell
 * them: `query`, `operationName`, and `variables` / `extensions` as JSON, e.g.
 * `?operationName=GigPage&variables={"id":"g1"}&extensions={"persistedQuery":{"version":1,"sha256Hash":"<id>"}}`.
 * These helpers read the two parameters the persisted-query layer looks at and write back its changes, leaving
 * every other parameter untouched for Apollo Server.
 */
export interface PersistedParams {
  query: string | undefined;
  /** The parsed `extensions` object; undefined when absent or not a JSON object (Apollo Server answers that). */
  extensions: Record<string, unknown> | undefined;
}

export function readGetParams(search: string): PersistedParams {
  const params = new URLSearchParams(search);
  return { query: params.get('query') ?? undefined, extensions: parseJsonObject(params.get('extensions')) };
}

/** The query string with `query` and `extensions` replaced (`extensions` dropped when it is left empty). */
export function writeGetParams(search: string, next: PersistedParams): string {
  const params = new URLSearchParams(search);
  if (next.query === undefined) params.delete('query');
  else params.set('query', next.query);
  if (next.extensions && Object.keys(next.extensions).length > 0) params.set('extensions', JSON.stringify(next.extensions));
  else params.delete('extensions');
  const text = params.toString();
  return text ? `?${text}` : '';
}

function parseJsonObject(text: string | null): Record<string, unknown> | undefined {
  if (text === null) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
