-- The sellers topclients may keep a list for: a list is created only for a seller known here, so an identity that
-- names no seller (a made-up id) cannot create one. Seeded with the demo sellers; a real deployment feeds it from
-- the users service's seller events. Sellers that already have a list are known.
CREATE TABLE sellers (
  id text PRIMARY KEY
);

INSERT INTO sellers (id) SELECT seller_id FROM seller_lists ON CONFLICT DO NOTHING;
