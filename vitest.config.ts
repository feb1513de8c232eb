import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{gateway,subgraphs,schema,scripts}/**/test/**/*.test.ts'],
    // Never let @apollo/gateway start its metrics exporter from a test run.
    env: { APOLLO_TELEMETRY_DISABLED: 'true', NODE_ENV: 'test' },
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
