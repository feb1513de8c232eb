/**
 * The gateway's settings are declared once, by the modules that read them, and nowhere else: a key read but not
 * declared, declared but not in gateway/SETTINGS.md, or named in the docs but unknown to the gateway fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_SETTINGS, declaredKeys, loadConfig, unknownGatewayKeys } from '../../src/config.js';
import { GATEWAY_ERROR_CODES } from '../../src/errors.js';
import { settingsMarkdown } from '../../src/settings.js';

const ROOT = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');

/** Keys of this project's other programs that start like the gateway's, and the file that reads each. */
const OTHER_PROGRAMS_KEYS: Record<string, string> = {
  GATEWAY_URL: 'web/main.ts',
  GATEWAY_REPLICAS: 'scripts/startScaled.ts',
  GATEWAY_BASE_PORT: 'scripts/startScaled.ts',
};
/** Error codes that are not ours (Apollo Server's and Apollo Gateway's), which docs name next to ours. */
const APOLLO_CODES = ['PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED', 'GATEWAY_TIMEOUT'];
/** The manual's example of a mistyped key (docs/CONFIGURATION.md), which the gateway warns about. */
const TYPO_EXAMPLE = 'ENTITY_TIMOUT_MS';

describe('gateway settings', () => {
  it('gateway/SETTINGS.md is what the declarations generate (npm run settings-doc)', () => {
    expect(read('gateway/SETTINGS.md')).toBe(settingsMarkdown(ALL_SETTINGS));
  });

  it('declares every key once', () => {
    const all = ALL_SETTINGS.flatMap(({ settings }) => Object.values(settings).flatMap((setting) => [setting.key, ...(setting.formerly ?? [])]));
    expect(all.filter((key, i) => all.indexOf(key) !== i)).toEqual([]);
  });

  it('reads no key it does not declare', () => {
    const { keys, formerly } = declaredKeys();
    const asked = new Set<string>();
    const env = new Proxy<NodeJS.ProcessEnv>({
      SUPERGRAPH: '/x', INVALIDATION_FEED_URL: 'http://127.0.0.1:4003/events', REDIS_URL: 'redis://127.0.0.1:6379',
      SUBGRAPH_TOPCLIENTS_URL: 'http://127.0.0.1:4003/graphql', SUBGRAPH_TOPCLIENTS_ENTITY_TIMEOUT_MS: '200',
    }, {
      get(target, key) {
        if (typeof key === 'string') asked.add(key);
        return Reflect.get(target, key);
      },
    });
    loadConfig(env);
    const families = new Set(['SUBGRAPH_TOPCLIENTS_URL', 'SUBGRAPH_TOPCLIENTS_ENTITY_TIMEOUT_MS']);
    expect([...asked].filter((key) => !keys.has(key) && !formerly.has(key) && !families.has(key))).toEqual([]);
    // Every declared key was asked for: none is declared but left unread.
    expect([...keys].filter((key) => !asked.has(key))).toEqual([]);

    // Outside config.ts, the sources touch only what is not a setting: Node's own NODE_OPTIONS, and the switch
    // @apollo/gateway reads (written, from GATEWAY_APOLLO_TELEMETRY).
    const sources = (readdirSync(new URL('gateway/src/', ROOT), { recursive: true }) as string[]).filter((file) => file.endsWith('.ts'));
    const touched = sources.flatMap((file) => [...read(`gateway/src/${file}`).matchAll(/process\.env\.([A-Z_]+)/g)].map((match) => match[1]!));
    expect(new Set(touched)).toEqual(new Set(['NODE_OPTIONS', 'APOLLO_TELEMETRY_DISABLED']));
  });

  it('the docs name no key the gateway does not know, and no former name (SETTINGS.md lists those)', () => {
    for (const [key, file] of Object.entries(OTHER_PROGRAMS_KEYS)) expect(read(file), `${file} reads ${key}`).toContain(key);
    const docs = ['README.md', ...readdirSync(new URL('docs/', ROOT)).map((file) => `docs/${file}`),
      ...readdirSync(new URL('gateway/', ROOT)).filter((file) => file.endsWith('.md') && file !== 'SETTINGS.md').map((file) => `gateway/${file}`)];
    const { formerly } = declaredKeys();
    const notSettings = new Set([...Object.keys(GATEWAY_ERROR_CODES), ...APOLLO_CODES, ...Object.keys(OTHER_PROGRAMS_KEYS), 'GATEWAY_ERROR_CODES', TYPO_EXAMPLE]);
    const unknown = docs.filter((file) => file.endsWith('.md')).flatMap((file) => {
      const tokens = new Set([...read(file).matchAll(/\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b/g)].map((match) => match[1]!));
      return [...tokens].filter((token) => !notSettings.has(token) && (formerly.has(token) || unknownGatewayKeys({ [token]: '' }).length > 0))
        .map((token) => `${file}: ${token}`);
    });
    expect(unknown).toEqual([]);
  });
});
