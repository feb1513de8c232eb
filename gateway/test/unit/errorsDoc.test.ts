import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GATEWAY_ERROR_CODES } from '../../src/errors.js';

const doc = readFileSync(new URL('../../ERRORS.md', import.meta.url), 'utf8');
const documented = new Map(
  [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| (.+) \|$/gm)].map((m) => [m[1]!, { status: Number(m[2]), meaning: m[3]! }]),
);

describe('ERRORS.md', () => {
  it('documents every code the gateway defines, with the same meaning', () => {
    for (const [code, meaning] of Object.entries(GATEWAY_ERROR_CODES)) {
      expect(documented.get(code)?.meaning, code).toBe(meaning);
    }
  });

  it('lists no code the gateway no longer defines', () => {
    expect([...documented.keys()].filter((code) => !(code in GATEWAY_ERROR_CODES))).toEqual([]);
  });
});
