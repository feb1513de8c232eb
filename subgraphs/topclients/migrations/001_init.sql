-- topclients owns client details and each seller's ordered list: the source of truth.
CREATE TABLE clients (
  id text PRIMARY KEY,
  name text NOT NULL,
  logo_url text,
  industry text,
  website text,
  verified boolean NOT NULL DEFAULT false,
  -- Increases on every change; the gateway's entity validators (ETags) derive from it.
  version integer NOT NULL DEFAULT 1,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per seller that ever had a list; version increases on every change to the list.
CREATE TABLE seller_lists (
  seller_id text PRIMARY KEY,
  version integer NOT NULL
);

CREATE TABLE top_clients (
  seller_id text NOT NULL REFERENCES seller_lists (seller_id),
  client_id text NOT NULL REFERENCES clients (id),
  position integer NOT NULL,
  PRIMARY KEY (seller_id, client_id)
);

CREATE INDEX top_clients_by_seller ON top_clients (seller_id, position);
