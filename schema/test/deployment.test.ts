/**
 * No Docker engine runs here, so docker-compose.yml is checked for the structure a deployment relies on: every
 * service of the scaled-out stack, their health checks and start order, the settings each one is given (only keys
 * its code reads), and the ports that are published.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { SUBGRAPHS } from '../subgraphs.js';
import { INVALIDATING_EVENT_TYPES, REFERENCE_GATEWAY_ENV } from '../referenceGateway.js';
import { declaredKeys } from '../../gateway/src/config.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(`${root}/${path}`, 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const gatewayReplicas = Object.entries(services).filter(([, s]) => s.command?.includes('gateway/src/main.js'));

/** A key the gateway declares under its current name (gateway/SETTINGS.md), or the switch @apollo/gateway reads. */
function isGatewayKey(key: string): boolean {
  const { keys, patterns } = declaredKeys();
  return keys.has(key) || patterns.some((pattern) => pattern.test(key)) || key === 'APOLLO_TELEMETRY_DISABLED';
}

/** `env.KEY` and `env[`${upper}_KEY`]` in a subgraph's config (subgraphs/toolkit/config.ts). */
function subgraphKeys(name: string): Set<string> {
  const source = read('subgraphs/toolkit/config.ts');
  const keys = new Set([...source.matchAll(/env\.([A-Z0-9_]+)/g)].map((m) => m[1]!));
  for (const m of source.matchAll(/env\[`\$\{upper\}_([A-Z0-9_]+)`\]/g)) keys.add(`${name.toUpperCase()}_${m[1]}`);
  return keys;
}

const webKeys = () => new Set([...read('web/main.ts').matchAll(/process\.env\.([A-Z0-9_]+)/g)].map((m) => m[1]!));

describe('docker-compose.yml', () => {
  it('runs one service per subgraph, each on its own PostgreSQL database created at init, with events over JetStream', () => {
    const init = read('docker/postgres-init.sql');
    const databases = new Set<string>();
    for (const subgraph of SUBGRAPHS) {
      const service = services[subgraph.name]!;
      expect(service, subgraph.name).toBeDefined();
      // The built release: plain node, no TypeScript loader in the image.
      expect(service.command).toEqual(['node', 'subgraphs/main.js', subgraph.name]);
      const env = service.environment!;
      const url = new URL(env[`${subgraph.name.toUpperCase()}_DATABASE_URL`]!);
      expect(url.hostname).toBe('postgres');
      databases.add(url.pathname.slice(1));
      expect(init).toContain(`CREATE DATABASE ${url.pathname.slice(1)};`);
      expect(env[`${subgraph.name.toUpperCase()}_PORT`]).toBe(String(subgraph.defaultPort));
      expect(service.expose).toEqual([String(subgraph.defaultPort)]);
      expect(service.ports, `${subgraph.name} is reached through the gateway only`).toBeUndefined();
      expect(env.HOST).toBe('0.0.0.0');
      expect(env.EVENT_TRANSPORT).toBe('nats');
      expect(new URL(env.NATS_URL!).hostname).toBe('nats');
      expect(service.depends_on!.postgres!.condition).toBe('service_healthy');
      expect(service.depends_on!.nats!.condition).toBe('service_healthy');
    }
    expect(databases.size).toBe(SUBGRAPHS.length);
    // "Created at init": the script is mounted where the postgres image runs it on a fresh data volume.
    expect(services.postgres!.volumes).toContain('./docker/postgres-init.sql:/docker-entrypoint-initdb.d/init.sql:ro');
    expect(services.nats!.command).toContain('-js');
  });

  it('runs two gateway replicas sharing Redis and JetStream invalidation, behind one published port 4000', () => {
    expect(gatewayReplicas.length).toBeGreaterThanOrEqual(2);
    const nginx = read('docker/nginx.conf');
    const upstream = [...(/upstream gateways \{([\s\S]*?)\}/.exec(nginx)?.[1] ?? '').matchAll(/server ([\w-]+):(\d+)/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(upstream.sort()).toEqual(gatewayReplicas.map(([name, s]) => `${name}:${s.environment!.PORT}`).sort());
    for (const [name, replica] of gatewayReplicas) {
      const env = replica.environment!;
      for (const subgraph of SUBGRAPHS) {
        expect(env[`SUBGRAPH_${subgraph.name.toUpperCase()}_URL`], name).toBe(`http://${subgraph.name}:${subgraph.defaultPort}/graphql`);
        expect(replica.depends_on![subgraph.name]!.condition).toBe('service_healthy');
      }
      expect(new URL(env.REDIS_URL!).hostname).toBe('redis');
      expect(new URL(env.INVALIDATION_NATS_URL!).hostname).toBe('nats');
      // Every publishing service's stream, one subject each, in the same order.
      expect(env.INVALIDATION_NATS_STREAM!.split(',')).toEqual(['TOPCLIENTS', 'GIGS', 'USERS']);
      expect(env.INVALIDATION_NATS_SUBJECT!.split(',')).toEqual(['topclients.client.>', 'gigs.seller.>', 'users.seller.>']);
      expect(env.INVALIDATION_EVENT_TYPES!.split(',')).toEqual(INVALIDATING_EVENT_TYPES.split(','));
      // The reference deployment's time limits for topclients, as npm start gives them.
      for (const key of Object.keys(REFERENCE_GATEWAY_ENV).filter((k) => k.startsWith('SUBGRAPH_'))) {
        expect(env[key], `${name} ${key}`).toBe(REFERENCE_GATEWAY_ENV[key]);
      }
      expect(Number(env.GATEWAY_WORKERS)).toBeGreaterThanOrEqual(1);
      expect(env.APOLLO_TELEMETRY_DISABLED).toBe('true');
      expect(env.GATEWAY_MODE).toBe('production');
      expect(existsSync(`${root}/${env.SUPERGRAPH}`), env.SUPERGRAPH).toBe(true);
      expect(existsSync(`${root}/${env.PERSISTED_QUERY_MANIFEST}`), env.PERSISTED_QUERY_MANIFEST).toBe(true);
      // The same signing secret as every subgraph, required from the operator rather than written here.
      expect(env.GATEWAY_SUBGRAPH_SECRET).toMatch(/^\$\{GATEWAY_SUBGRAPH_SECRET:\?/);
      for (const subgraph of SUBGRAPHS) expect(services[subgraph.name]!.environment!.GATEWAY_SUBGRAPH_SECRET).toBe(env.GATEWAY_SUBGRAPH_SECRET);
      expect(replica.ports, `${name} is reached through the front only`).toBeUndefined();
      expect(replica.depends_on!.redis!.condition).toBe('service_healthy');
      expect(replica.depends_on!.nats!.condition).toBe('service_healthy');
    }
    const front = services.gateway!;
    expect(front.image).toMatch(/^nginx:/);
    expect(front.volumes).toContain('./docker/nginx.conf:/etc/nginx/nginx.conf:ro');
    expect(nginx).toMatch(/listen 4000;/);
    // Every published port, and what publishes it.
    const published = Object.entries(services).flatMap(([name, s]) => (s.ports ?? []).map((p) => `${name} ${p}`));
    expect(published.sort()).toEqual(['gateway 4000:4000', 'web 4080:4080']);
    expect(services.web!.environment!.GATEWAY_URL).toBe('http://gateway:4000/graphql');
    expect(services.web!.depends_on!.gateway!.condition).toBe('service_healthy');
  });

  it('gives every service a health check on its own port, and starts each only after what it needs is healthy', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.healthcheck?.test, name).toBeDefined();
      const probe = service.healthcheck!.test.join(' ');
      const port = service.environment?.PORT ?? service.environment?.WEB_PORT
        ?? service.environment?.[`${name.toUpperCase()}_PORT`];
      if (port) expect(probe, name).toContain(`127.0.0.1:${port}/`);
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(services[dependency], `${name} depends on ${dependency}`).toBeDefined();
        expect(condition, `${name} -> ${dependency}`).toBe('service_healthy');
      }
    }
  });

  it('sets only settings the services read', () => {
    for (const [name, replica] of gatewayReplicas) {
      for (const key of Object.keys(replica.environment!)) expect(isGatewayKey(key), `${name}: ${key}`).toBe(true);
    }
    for (const subgraph of SUBGRAPHS) {
      const keys = subgraphKeys(subgraph.name);
      for (const key of Object.keys(services[subgraph.name]!.environment!)) {
        expect(keys.has(key) || key === 'APOLLO_TELEMETRY_DISABLED', `${subgraph.name}: ${key}`).toBe(true);
      }
    }
    const web = webKeys();
    for (const key of Object.keys(services.web!.environment!)) expect(web.has(key), `web: ${key}`).toBe(true);
  });

  it('builds from a Dockerfile holding every folder the commands run from, built, and mounts only files that exist', () => {
    const dockerfile = read('Dockerfile');
    // The build stage builds the pages and the release; the image takes both, and only the production dependencies.
    for (const folder of ['schema', 'gateway', 'subgraphs', 'scripts', 'web']) {
      expect(dockerfile).toContain(`COPY ${folder} ./${folder}`);
      expect(dockerfile).toContain(`COPY --from=build /app/${folder} ./${folder}`);
    }
    expect(dockerfile).toContain('npx vite build -c web/vite.config.ts && npx tsx scripts/buildRelease.ts');
    expect(dockerfile).toContain('RUN npm ci --omit=dev');
    expect(JSON.parse(read('package.json')).dependencies.tsx).toBeUndefined();
    const fileMounts = Object.values(services)
      .flatMap((service) => service.volumes ?? [])
      .map((volume) => volume.split(':')[0]!)
      .filter((source) => source.startsWith('./'));
    // At least the init script and nginx.conf; without any, the loop below would check nothing.
    expect(fileMounts.length).toBeGreaterThanOrEqual(2);
    for (const source of fileMounts) expect(existsSync(`${root}/${source}`), source).toBe(true);
  });
});
