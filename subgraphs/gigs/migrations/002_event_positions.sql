-- Where this service's consumer is in each source's event stream, written in the same transaction as the IDs it
-- applies, so a consumer that dies resumes exactly where its last commit left it.
CREATE TABLE event_positions (
  source text PRIMARY KEY,
  position bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Events that could not be read (bad payload, unknown schema version): kept with their position for an operator,
-- skipped so the stream goes on.
CREATE TABLE parked_events (
  source text NOT NULL,
  position bigint NOT NULL,
  raw text NOT NULL,
  error text NOT NULL,
  parked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, position)
);
