-- users owns seller profiles; seller_client_ids is its projection of topclients' lists (IDs only).
CREATE TABLE sellers (
  id text PRIMARY KEY,
  username text NOT NULL UNIQUE,
  display_name text NOT NULL,
  level text NOT NULL,
  country text NOT NULL,
  member_since date NOT NULL,
  languages text[] NOT NULL,
  bio text
);

CREATE TABLE seller_client_ids (
  seller_id text PRIMARY KEY,
  client_ids text[] NOT NULL,
  version integer NOT NULL
);
