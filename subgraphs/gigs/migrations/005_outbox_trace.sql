-- The W3C traceparent of the span the row was written in (the edit's request, or the apply of a source's event),
-- when tracing is on: an event carries it on, so whoever applies or evicts for it continues the same trace.
ALTER TABLE outbox ADD COLUMN traceparent text;
