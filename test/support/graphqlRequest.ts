/** POSTs a GraphQL request to a subgraph or the gateway and returns the parsed answer (no gateway code imported). */
export async function graphqlRequest(url: string, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as { data?: any; errors?: { message: string; extensions?: Record<string, any> }[] } };
  } catch {
    throw new Error(`${url} answered HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
}
