/** No Docker engine runs here, so docker-compose.yml is checked for the structure a deployment relies on. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { SUBGRAPHS } from '../subgraphs.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const compose = parseYaml(readFileSync(`${root}/docker-compose.yml`, 'utf8'), { merge: true });

describe('docker-compose.yml', () => {
  it('runs one service per subgraph, each on its own PostgreSQL database created at init', () => {
    const init = readFileSync(`${root}/docker/postgres-init.sql`, 'utf8');
    const databases = new Set<string>();
    for (const subgraph of SUBGRAPHS) {
      const service = compose.services[subgraph.name];
      expect(service, subgraph.name).toBeDefined();
      expect(service.command).toEqual(['node', '--import', 'tsx', 'subgraphs/main.ts', subgraph.name]);
      const url = new URL(service.environment[`${subgraph.name.toUpperCase()}_DATABASE_URL`]);
      expect(url.hostname).toBe('postgres');
      databases.add(url.pathname.slice(1));
      expect(init).toContain(`CREATE DATABASE ${url.pathname.slice(1)};`);
      expect(service.environment[`${subgraph.name.toUpperCase()}_PORT`]).toBe(String(subgraph.defaultPort));
      expect(service.environment.HOST).toBe('0.0.0.0');
      expect(service.depends_on.postgres.condition).toBe('service_healthy');
    }
    expect(databases.size).toBe(SUBGRAPHS.length);
    // "Created at init": the script is mounted where the postgres image runs it on a fresh data volume.
    expect(compose.services.postgres.volumes).toContain('./docker/postgres-init.sql:/docker-entrypoint-initdb.d/init.sql:ro');
  });

  it('points the gateway at every subgraph service by name and publishes port 4000 with telemetry off', () => {
    const gateway = compose.services.gateway;
    for (const subgraph of SUBGRAPHS) {
      expect(gateway.environment[`SUBGRAPH_${subgraph.name.toUpperCase()}_URL`]).toBe(
        `http://${subgraph.name}:${subgraph.defaultPort}/graphql`,
      );
      expect(gateway.depends_on).toContain(subgraph.name);
    }
    expect(gateway.ports).toContain('4000:4000');
    expect(gateway.environment.APOLLO_TELEMETRY_DISABLED).toBe('true');
  });

  it('builds from a Dockerfile and mounts only files that exist', () => {
    expect(existsSync(`${root}/Dockerfile`)).toBe(true);
    const fileMounts = Object.values(compose.services as Record<string, { volumes?: string[] }>)
      .flatMap((service) => service.volumes ?? [])
      .map((volume) => volume.split(':')[0]!)
      .filter((source) => source.startsWith('./'));
    // At least the init script above; without any, the loop below would check nothing.
    expect(fileMounts.length).toBeGreaterThan(0);
    for (const source of fileMounts) expect(existsSync(`${root}/${source}`), source).toBe(true);
  });
});
