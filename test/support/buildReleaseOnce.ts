/**
 * Vitest's global setup: the built release (scripts/buildRelease.ts, 0.1 s) made fresh from the sources before any
 * test, so the tests that start the gateway, a subgraph or a script as a real process run it as `npm start` and the
 * Docker image do, with plain `node`. Loading tsx in each of those processes cost about 2 s of its start-up.
 */
import { buildRelease } from '../../scripts/buildRelease.js';

export default async function setup(): Promise<void> {
  await buildRelease();
}
