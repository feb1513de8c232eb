import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module) builds; Node and the Apollo packages load the CJS one, Vite
    // would pick the ESM one, and two copies of graphql refuse each other's schemas and errors.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['{gateway,subgraphs,schema,scripts,test,web/test}/**/*.test.ts'],
    // Never let @apollo/gateway start its metrics exporter from a test run.
    env: { APOLLO_TELEMETRY_DISABLED: 'true', NODE_ENV: 'test' },
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
