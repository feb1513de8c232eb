/**
 * A bounded memo keyed by operation text, for what the request path derives from a text alone (a verdict, its
 * operation names): clients send the same few texts again and again, and deriving means parsing. Bounded by the
 * characters of text kept, so many distinct texts cannot grow memory.
 */
import { LRUCache } from 'lru-cache';

/** About a thousand page-sized operations. */
const TEXT_CHARS_KEPT = 4_000_000;

export function textMemo<V extends object>(): LRUCache<string, V> {
  return new LRUCache<string, V>({ maxSize: TEXT_CHARS_KEPT, sizeCalculation: (_value, text) => Math.max(1, text.length) });
}
