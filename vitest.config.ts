import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  plugins: [{
    // The built release puts a .js beside each .ts (scripts/buildRelease.ts); tests run the sources, as tsx does.
    name: 'typescript-sources-over-the-built-release',
    enforce: 'pre',
    resolveId(source, importer) {
      if (!importer?.endsWith('.ts') || !source.startsWith('.') || !source.endsWith('.js')) return null;
      const typescript = resolve(dirname(importer), `${source.slice(0, -3)}.ts`);
      return existsSync(typescript) ? typescript : null;
    },
  }],
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module) builds; Node and the Apollo packages load the CJS one, Vite
    // would pick the ESM one, and two copies of graphql refuse each other's schemas and errors.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['{gateway,subgraphs,schema,scripts,test,web/test}/**/*.test.ts'],
    // Never let @apollo/gateway start its metrics exporter from a test run.
    env: { APOLLO_TELEMETRY_DISABLED: 'true', NODE_ENV: 'test' },
    // The processes a test starts run the built release, made fresh here once per run.
    globalSetup: ['test/support/buildReleaseOnce.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
