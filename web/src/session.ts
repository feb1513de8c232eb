/**
 * Who the editor acts as. Signing in asks the web server for a development token for the seller id
 * (`POST /dev-token`, served only when the deployment runs its development identity provider); the pages then send
 * it as `Authorization: Bearer <token>`, which the gateway verifies like any real token. Without that endpoint
 * (a web server started without development tokens) the seller id alone is kept and sent as the development
 * `x-seller-id` header, which only a development gateway accepts. Kept in localStorage so a reload stays signed in.
 * A WebSocket cannot carry headers from a browser: over graphql-ws the same headers go in `connection_init`.
 */
const SELLER_KEY = 'gigs.sellerId';
const TOKEN_KEY = 'gigs.token';

export function signedInSeller(): string | null {
  return localStorage.getItem(SELLER_KEY);
}

/** The signed-in seller's token, or null when the deployment issues none. */
function sessionToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

/** Who a request acts as, as the headers that say it: the token, or in development the bare seller id. */
export function identityHeaders(sellerId: string): Record<string, string> {
  const token = sessionToken();
  return token ? { authorization: `Bearer ${token}` } : { 'x-seller-id': sellerId };
}

export async function signIn(sellerId: string): Promise<void> {
  localStorage.removeItem(TOKEN_KEY);
  const response = await fetch('/dev-token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sellerId }),
  }).catch(() => null);
  if (response?.ok) localStorage.setItem(TOKEN_KEY, ((await response.json()) as { token: string }).token);
  localStorage.setItem(SELLER_KEY, sellerId);
}

export function signOut(): void {
  localStorage.removeItem(SELLER_KEY);
  localStorage.removeItem(TOKEN_KEY);
}
