/** A key's value only when the object itself has it: merged answers never read a name through a prototype. */
export function ownValue(object: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
}
