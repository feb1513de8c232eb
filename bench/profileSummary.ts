/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and sums self time per function and per package, so a results
 * file can say what dominates without opening DevTools. Usage as a script: tsx bench/profileSummary.ts <file>.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Share of sampled time the process was busy (not idle). */
  busyMs: number;
  topFunctions: { name: string; where: string; selfMs: number; share: number }[];
  topPackages: { name: string; selfMs: number; share: number }[];
  /** This project's own files (any checkout of it), by self time. */
  topFiles: { name: string; selfMs: number; share: number }[];
}

/** `skipFirstMs` leaves out the process's start-up and warm-up (time counted from the profile's start). */
export function summariseProfile(file: string, options: { top?: number; skipFirstMs?: number } = {}): ProfileSummary {
  const top = options.top ?? 15;
  const skipUs = (options.skipFirstMs ?? 0) * 1000;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let elapsedUs = 0;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the following interval to sample i.
    const dt = deltas[i + 1] ?? 0;
    elapsedUs += deltas[i] ?? 0;
    if (elapsedUs < skipUs) continue;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, dt));
  }
  const byFunction = new Map<string, { name: string; where: string; us: number }>();
  const byPackage = new Map<string, number>();
  const byFile = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${functionName}@${where}`;
    const entry = byFunction.get(key) ?? { name: functionName || '(anonymous)', where, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
    const pkg = packageOf(url, functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
    const own = projectPath(url);
    if (own) byFile.set(own, (byFile.get(own) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  return {
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    topFunctions: [...byFunction.values()].sort((a, b) => b.us - a.us).slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: f.us / 1000, share: f.us / busyUs })),
    topPackages: [...byPackage.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: us / busyUs })),
    topFiles: [...byFile.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: us / busyUs })),
  };
}

/** A file of this project, relative to its root (whatever the checkout is called), or null. */
function projectPath(url: string): string | null {
  if (!url || url.includes('node_modules/')) return null;
  return /\/((?:gateway|bench|subgraphs|scripts|schema|web)\/.*)$/.exec(url)?.[1] ?? null;
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  return projectPath(url) ?? url.replace(/^file:\/\//, '');
}

function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node core';
  const own = projectPath(url);
  return own ? own.split('/').slice(0, 2).join('/') : url;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const summary = summariseProfile(process.argv[2]!);
  console.log(JSON.stringify(summary, null, 2));
}
