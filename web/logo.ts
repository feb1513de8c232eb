/**
 * Placeholder client logos, generated from the client id (`/logos/c12.svg`): the demo data names logo paths but
 * ships no images, and the pages must never fetch one from outside. Same id, same picture.
 */
const MARKS = [
  '<circle cx="32" cy="32" r="14" fill="#fff"/>',
  '<rect x="19" y="19" width="26" height="26" rx="4" fill="#fff"/>',
  '<path d="M32 16 L48 46 H16 Z" fill="#fff"/>',
  '<path d="M32 15 L49 32 L32 49 L15 32 Z" fill="#fff"/>',
  '<circle cx="25" cy="32" r="10" fill="#fff" opacity=".85"/><circle cx="39" cy="32" r="10" fill="#fff" opacity=".85"/>',
  '<rect x="16" y="28" width="32" height="8" rx="4" fill="#fff"/><rect x="28" y="16" width="8" height="32" rx="4" fill="#fff"/>',
];

/** The SVG for a logo id such as `c12`; null for anything that is not a plain id. */
export function logoSvg(id: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) return null;
  const hash = fnv1a(id);
  const hue = hash % 360;
  const mark = MARKS[(hash >>> 9) % MARKS.length];
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64" role="img" aria-label="logo ${id}">`
    + `<rect width="64" height="64" rx="12" fill="hsl(${hue} 55% 45%)"/>${mark}</svg>`;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
