import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GATEWAY_ERROR_CODES, GATEWAY_ERROR_STATUS } from '../../src/errors.js';

const doc = readFileSync(new URL('../../ERRORS.md', import.meta.url), 'utf8');
const documented = new Map(
  [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| (.+) \|$/gm)].map((m) => [m[1]!, { status: Number(m[2]), meaning: m[3]! }]),
);

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []);
}

/**
 * Where the gateway's sources answer a request with an error status and code written side by side:
 * `sendRequestError(res, 404, 'NOT_FOUND', …)` and `sendJson(res, 401, { errors: [{ …, extensions: { code: 'X' } }] })`.
 */
function answeredStatuses(): { where: string; status: number; code: string }[] {
  const found: { where: string; status: number; code: string }[] = [];
  const calls = /sendRequestError\(\s*res,\s*(\d{3}),\s*'([A-Z_]+)'|sendJson\(\s*res,\s*(\d{3}),\s*\{\s*errors:[^;]*?code:\s*'([A-Z_]+)'/g;
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(calls)) {
      const line = text.slice(0, m.index).split('\n').length;
      found.push({ where: `${relative(SRC, file)}:${line}`, status: Number(m[1] ?? m[3]), code: m[2] ?? m[4]! });
    }
  }
  return found;
}

describe('ERRORS.md', () => {
  it('documents every code the gateway defines, with the same meaning', () => {
    for (const [code, meaning] of Object.entries(GATEWAY_ERROR_CODES)) {
      expect(documented.get(code)?.meaning, code).toBe(meaning);
    }
  });

  it('documents every code with the HTTP status the gateway answers it with', () => {
    for (const code of Object.keys(GATEWAY_ERROR_CODES) as (keyof typeof GATEWAY_ERROR_CODES)[]) {
      expect(documented.get(code)?.status, code).toBe(GATEWAY_ERROR_STATUS[code]);
    }
  });

  it('lists no code the gateway no longer defines', () => {
    expect([...documented.keys()].filter((code) => !(code in GATEWAY_ERROR_CODES))).toEqual([]);
  });
});

describe('the error registry (src/errors.ts)', () => {
  it('gives every code a status, and no status to a code it does not define', () => {
    expect(Object.keys(GATEWAY_ERROR_STATUS).sort()).toEqual(Object.keys(GATEWAY_ERROR_CODES).sort());
  });

  it('holds the status and code of every error answer the sources write out, and no code they use is missing from it', () => {
    const answers = answeredStatuses();
    // The scan finds the request errors of server.ts at least; an empty result means the pattern broke.
    expect(answers.map((a) => a.code)).toEqual(expect.arrayContaining(['NOT_FOUND', 'PAYLOAD_TOO_LARGE', 'BAD_REQUEST', 'GATEWAY_NOT_READY']));
    const wrong = answers.filter((a) => GATEWAY_ERROR_STATUS[a.code as keyof typeof GATEWAY_ERROR_STATUS] !== a.status);
    expect(wrong.map((a) => `${a.where}: ${a.code} answered ${a.status}, registry says ${GATEWAY_ERROR_STATUS[a.code as keyof typeof GATEWAY_ERROR_STATUS] ?? 'nothing (unregistered code)'}`)).toEqual([]);
  });
});
