-- gigs owns gigs; seller_client_ids is its projection of topclients' lists (IDs only), so the gig page needs no
-- hop to users for top clients.
CREATE TABLE gigs (
  id text PRIMARY KEY,
  seq integer NOT NULL UNIQUE,
  seller_id text NOT NULL,
  title text NOT NULL,
  description text NOT NULL,
  price numeric(10, 2) NOT NULL,
  rating numeric(2, 1),
  rating_count integer NOT NULL DEFAULT 0,
  category text NOT NULL
);

CREATE INDEX gigs_by_seller ON gigs (seller_id, seq DESC);
CREATE INDEX gigs_by_rank ON gigs (rating DESC NULLS LAST, rating_count DESC, seq);

CREATE TABLE seller_client_ids (
  seller_id text PRIMARY KEY,
  client_ids text[] NOT NULL,
  version integer NOT NULL
);
