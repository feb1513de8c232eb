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
