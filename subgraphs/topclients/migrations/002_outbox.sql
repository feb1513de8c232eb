-- Every change to topclients writes one row here in the same transaction as the change (the transactional outbox).
-- The change feed serves rows by id; the JetStream relay publishes them in id order (message id = row id).
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
