-- This service publishes the seller lists it APPLIED (`seller-client-ids-applied`), from a transactional outbox
-- written in the same transaction as the IDs: a cache in front of this service evicts a seller's answers only once
-- a re-read sees the change. Same shape as topclients' outbox (toolkit/outbox.ts reads and writes both); served as
-- this service's change feed (GET /events) and, on NATS, relayed to its own JetStream stream.
CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  event_type text NOT NULL,
  entity_typename text NOT NULL,
  entity_key jsonb NOT NULL,
  version integer NOT NULL,
  payload jsonb NOT NULL,
  occurred_at timestamptz NOT NULL DEFAULT now()
);

-- How far each relay has published; a relay that dies resumes after this id (and may publish a row twice).
CREATE TABLE outbox_relay_positions (
  relay text PRIMARY KEY,
  published_id bigint NOT NULL
);
