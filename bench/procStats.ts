/**
 * CPU time and memory of another process and its descendants, read from /proc (Linux): what the gateway itself
 * spent (all its processes when it forks workers), not the load.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux everywhere in practice). */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds of a process: its own utime + stime, plus cutime + cstime (children it has already reaped, whose own
 * time no longer shows anywhere else).
 */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number(fields[i]));
  return (utime! + stime! + cutime! + cstime!) / TICKS_PER_SECOND;
}

/** A process and all its live descendants (a gateway that forks workers: the primary and its children). */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number) => {
    out.push(p);
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const task of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${p}/task/${task}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const child of children.trim().split(/\s+/).filter(Boolean)) if (!isTooling(Number(child))) visit(Number(child));
    }
  };
  visit(pid);
  return out;
}

/**
 * tsx starts an esbuild service process the first time it compiles a file it has not cached: idle while requests are
 * served, and no part of any gateway, so it is left out of the gateway's processes.
 */
function isTooling(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'esbuild';
  } catch {
    return false;
  }
}

/** What a sum over the tree cannot read (a process that ended between listing and reading) counts as 0. */
function sumOverTree(pid: number, read: (p: number) => number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      total += read(p);
    } catch {
      // gone meanwhile: a reaped child's CPU time shows in its parent's cutime/cstime
    }
  }
  return total;
}

/** CPU seconds of a process and its descendants. */
export function groupCpuSeconds(pid: number): number {
  return sumOverTree(pid, cpuSeconds);
}

/** The sum of each process's peak RSS over a process and its descendants, in MiB (an upper bound of the group's peak). */
export function groupPeakRssMb(pid: number): number {
  return sumOverTree(pid, peakRssMb);
}

/** Peak resident set size (VmHWM) in MiB. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : NaN;
}

export function loadAverage(): number[] {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

/** How many descendant processes a process has (0: everything ran in the one process measured). */
export function childProcessCount(pid: number): number {
  return processTree(pid).length - 1;
}
