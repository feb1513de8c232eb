/**
 * Which files of gateway/src one request runs: V8's precise coverage of this process, taken over the inspector
 * (function call counts, reset by every take), once before and once after the request. A file counts when any of
 * its functions was called in between. Used to keep the request path short enough to follow (gateway/ARCHITECTURE.md
 * walks the same path file by file).
 */
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';

const SOURCE_ROOT = fileURLToPath(new URL('../../src/', import.meta.url));

export interface PathCoverage {
  /** Files of gateway/src (relative to it) whose functions ran during `run`, sorted. */
  files: string[];
}

/** Runs `run` between two takes of precise coverage; returns the gateway/src files it entered. */
export async function requestPathCoverage(run: () => Promise<void>): Promise<PathCoverage> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
    await session.post('Profiler.takePreciseCoverage');
    await run();
    const { result } = await session.post('Profiler.takePreciseCoverage');
    const files = new Set<string>();
    for (const script of result) {
      const path = script.url.startsWith('file://') ? fileURLToPath(script.url) : script.url;
      if (!path.startsWith(SOURCE_ROOT)) continue;
      if (script.functions.some((fn) => fn.ranges.some((range) => range.count > 0))) files.add(path.slice(SOURCE_ROOT.length));
    }
    await session.post('Profiler.stopPreciseCoverage');
    return { files: [...files].sort() };
  } finally {
    session.disconnect();
  }
}
