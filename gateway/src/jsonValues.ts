/**
 * JSON values (subgraph answers and cached values are nothing else): deep copies by a plain recursive walk, several
 * times cheaper than structuredClone, which must handle every structured type. Depth is bounded because the
 * transport refuses answers nested deeper than it allows.
 */
export function copyJson<T>(value: T): T {
  return copyValue(value) as T;
}

function copyValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const copy = new Array(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = copyValue(value[i]);
    return copy;
  }
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const field = copyValue((value as Record<string, unknown>)[key]);
    // JSON.parse makes "__proto__" an own data property; plain assignment would set the copy's prototype instead.
    if (key === '__proto__') Object.defineProperty(copy, key, { value: field, enumerable: true, writable: true, configurable: true });
    else copy[key] = field;
  }
  return copy;
}

/** A key's value only when the object itself has it: merged answers never read a name through a prototype. */
export function ownValue(object: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
}
