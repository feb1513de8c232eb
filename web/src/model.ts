/** The shapes the page operations select (schema/operations/*.graphql). */
export interface Client {
  id: string;
  name: string;
  logoUrl: string | null;
  industry?: string | null;
  website?: string | null;
  verified: boolean;
  version: number;
}

/**
 * A top client as a page's answer holds it: its id from the first part (the page subgraphs store the IDs), its
 * details once their deferred part (from topclients) has arrived.
 */
export type ClientListing = Pick<Client, 'id'> & Partial<Omit<Client, 'id'>>;

export function hasDetails(client: ClientListing): client is Client {
  return typeof client.name === 'string';
}

export interface SellerSummary {
  id: string;
  username: string;
  displayName: string | null;
  level: string | null;
}

export interface GigSummary {
  id: string;
  title: string;
  price: number;
  rating: number | null;
  ratingCount: number;
  category?: string;
}
