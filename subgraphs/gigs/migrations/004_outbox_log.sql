-- The outbox's identity: made once, with the table, so a reader of the change feed can tell this log from another
-- one whose ids it has passed (a new database, one restored from elsewhere) and knows it missed what came before.
CREATE TABLE outbox_log (
  id text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO outbox_log DEFAULT VALUES;
