/**
 * Who the editor acts as. The reference deployment names the seller by the `x-seller-id` header; a real product
 * would put a signed session there. Kept in localStorage so a reload stays signed in.
 */
const KEY = 'gigs.sellerId';

export function signedInSeller(): string | null {
  return localStorage.getItem(KEY);
}

export function signIn(sellerId: string): void {
  localStorage.setItem(KEY, sellerId);
}

export function signOut(): void {
  localStorage.removeItem(KEY);
}
