/**
 * What the gateway reads from a source's change event: only its type and the entity it names (`entity`:
 * `{ typename, keyFields }`). The gateway knows nothing else of any subgraph's events, so any source that names
 * its entities this way can keep the cache fresh.
 */
export interface EntityChange {
  type: string;
  typename: string;
  keyFields: Record<string, unknown>;
  /** The W3C traceparent of the change, when its source traced it: the eviction continues that trace. */
  traceparent?: string;
}

/** Reads an event; null when it does not name an entity (it is then ignored, never fatal). */
export function entityChangeFrom(raw: unknown): EntityChange | null {
  let value = raw;
  if (typeof raw === 'string' || raw instanceof Uint8Array) {
    try {
      value = JSON.parse(typeof raw === 'string' ? raw : new TextDecoder().decode(raw));
    } catch {
      return null;
    }
  }
  if (typeof value !== 'object' || value === null) return null;
  const { type, entity, traceparent } = value as { type?: unknown; entity?: { typename?: unknown; keyFields?: unknown }; traceparent?: unknown };
  if (typeof type !== 'string' || typeof entity !== 'object' || entity === null) return null;
  if (typeof entity.typename !== 'string' || entity.typename === '') return null;
  if (typeof entity.keyFields !== 'object' || entity.keyFields === null || Array.isArray(entity.keyFields)) return null;
  if (Object.keys(entity.keyFields).length === 0) return null;
  return { type, typename: entity.typename, keyFields: entity.keyFields as Record<string, unknown>, ...(typeof traceparent === 'string' ? { traceparent } : {}) };
}
