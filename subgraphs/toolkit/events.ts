/**
 * The change events of ID propagation, version 1 of their schema, and the one function that checks an event read
 * off a transport. topclients publishes the source's changes (`seller-client-ids-changed`, `client-*`); gigs and
 * users publish `seller-client-ids-applied` once THEY hold a seller's new IDs, so a cache in front of them evicts
 * that seller's answers only when a re-read would see the change. Every event names the entity it is about (`entity`: typename + key fields) so a listener
 * such as the gateway's cache can act on it without knowing the event types, and carries the entity's new
 * `version` (topclients' seller_lists.version or clients.version) so consumers can ignore repeats and stale events.
 *
 * Evolving the schema: adding an optional payload field keeps `schemaVersion` 1; any change an old consumer would
 * misread bumps it. Consumers park events whose `schemaVersion` they do not know (they never guess), so deploy
 * consumers that understand the new version before the producer that emits it.
 */
export const EVENT_SCHEMA_VERSION = 1;

export type EventType = 'seller-client-ids-changed' | 'client-updated' | 'client-removed' | 'seller-client-ids-applied';
export const EVENT_TYPES: readonly EventType[] = ['seller-client-ids-changed', 'client-updated', 'client-removed', 'seller-client-ids-applied'];

export interface EntityRef {
  typename: string;
  keyFields: Record<string, string>;
}

interface EventBase<T extends EventType, P> {
  /** The outbox row id: unique per event, stable across re-publication (the JetStream message id). */
  id: string;
  schemaVersion: number;
  type: T;
  entity: EntityRef;
  /** The entity's version after this change; strictly increasing per entity. */
  version: number;
  occurredAt: string;
  payload: P;
  /**
   * Optional: the W3C traceparent of the span the change was made in (tracing on), so whoever applies or evicts for
   * it continues that trace. Not checked: one that cannot be read is ignored, never a reason to park the event.
   */
  traceparent?: string;
}

export type SellerClientIdsChanged = EventBase<'seller-client-ids-changed', { sellerId: string; clientIds: string[] }>;
export type ClientUpdated = EventBase<'client-updated', { clientId: string }>;
export type ClientRemoved = EventBase<'client-removed', { clientId: string }>;
/**
 * A page subgraph (gigs, users) stored a seller's IDs: in the same transaction as the new row, so it is published
 * exactly when the change is readable there. `version` is the list's version now held (for a seller removed by a
 * rebuild, the version it had; `clientIds` is then empty).
 */
export type SellerClientIdsApplied = EventBase<'seller-client-ids-applied', { sellerId: string; clientIds: string[] }>;
export type ChangeEvent = SellerClientIdsChanged | ClientUpdated | ClientRemoved | SellerClientIdsApplied;

/** What a mutation hands to the outbox: the id and time are the outbox's to assign. */
export type NewChangeEvent = Omit<ChangeEvent, 'id' | 'occurredAt' | 'schemaVersion' | 'traceparent'>;

export function sellerClientIdsChanged(sellerId: string, clientIds: readonly string[], version: number): NewChangeEvent {
  return {
    type: 'seller-client-ids-changed',
    entity: { typename: 'Seller', keyFields: { id: sellerId } },
    version,
    payload: { sellerId, clientIds: [...clientIds] },
  };
}

export function sellerClientIdsApplied(sellerId: string, clientIds: readonly string[], version: number): NewChangeEvent {
  return {
    type: 'seller-client-ids-applied',
    entity: { typename: 'Seller', keyFields: { id: sellerId } },
    version,
    payload: { sellerId, clientIds: [...clientIds] },
  };
}

export function clientUpdated(clientId: string, version: number): NewChangeEvent {
  return { type: 'client-updated', entity: { typename: 'Client', keyFields: { id: clientId } }, version, payload: { clientId } };
}

export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Checks an event read off a transport; throws InvalidEventError saying what is wrong (the event is then parked). */
export function parseChangeEvent(raw: unknown): ChangeEvent {
  const value = typeof raw === 'string' || raw instanceof Uint8Array ? parseJson(raw) : raw;
  if (!isObject(value)) throw new InvalidEventError('event is not a JSON object');
  if (value.schemaVersion !== EVENT_SCHEMA_VERSION) {
    throw new InvalidEventError(`unknown schemaVersion ${JSON.stringify(value.schemaVersion)} (this consumer reads ${EVENT_SCHEMA_VERSION})`);
  }
  if (!isNonEmptyString(value.id)) throw new InvalidEventError('id must be a non-empty string');
  if (!EVENT_TYPES.includes(value.type as EventType)) throw new InvalidEventError(`unknown type ${JSON.stringify(value.type)}`);
  if (!Number.isInteger(value.version) || (value.version as number) < 1) throw new InvalidEventError('version must be a positive integer');
  if (!isNonEmptyString(value.occurredAt)) throw new InvalidEventError('occurredAt must be a timestamp string');
  const entity = value.entity;
  if (!isObject(entity) || !isNonEmptyString(entity.typename) || !isObject(entity.keyFields)
    || !Object.values(entity.keyFields).every(isNonEmptyString)) {
    throw new InvalidEventError('entity must be { typename, keyFields } with string key values');
  }
  const payload = value.payload;
  if (!isObject(payload)) throw new InvalidEventError('payload must be an object');
  if (value.type === 'seller-client-ids-changed' || value.type === 'seller-client-ids-applied') {
    if (!isNonEmptyString(payload.sellerId)) throw new InvalidEventError('payload.sellerId must be a non-empty string');
    if (!Array.isArray(payload.clientIds) || !payload.clientIds.every(isNonEmptyString)) {
      throw new InvalidEventError('payload.clientIds must be an array of client ids');
    }
    if (new Set(payload.clientIds).size !== payload.clientIds.length) throw new InvalidEventError('payload.clientIds repeats an id');
  } else if (!isNonEmptyString(payload.clientId)) {
    throw new InvalidEventError('payload.clientId must be a non-empty string');
  }
  return value as unknown as ChangeEvent;
}

function parseJson(raw: string | Uint8Array): unknown {
  try {
    return JSON.parse(typeof raw === 'string' ? raw : new TextDecoder().decode(raw));
  } catch {
    throw new InvalidEventError('event is not valid JSON');
  }
}
