/**
 * The gateway as a real process (`node <GATEWAY_NODE_FLAGS> gateway/src/main.js`, the built release), as `npm run gateway`
 * and the bench start it, with its JSON log lines parsed so a test awaits the line that reports an event.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GATEWAY_NODE_FLAGS } from '../../src/nodeFlags.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export interface GatewayProcess {
  child: ChildProcess;
  /** Resolves with the `nth` log line (parsed) whose `msg` is `msg`, past or future. */
  line(msg: string, nth?: number): Promise<Record<string, any>>;
  /** Resolves with the first log line from index `from` on (see `mark`) that `matches`. */
  lineAfter(from: number, matches: (line: Record<string, any>) => boolean): Promise<Record<string, any>>;
  /** How many lines were logged so far. */
  readonly mark: number;
  /** The log lines so far whose `msg` starts with `prefix`. */
  logged(prefix: string): Record<string, any>[];
  exited: Promise<number | null>;
}

export function startGatewayProcess(env: Record<string, string>, nodeFlags: readonly string[] = GATEWAY_NODE_FLAGS): GatewayProcess {
  const child = spawn(process.execPath, [...nodeFlags, 'gateway/src/main.js'], {
    cwd: ROOT,
    env: { ...process.env, APOLLO_TELEMETRY_DISABLED: 'true', LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, any>[] = [];
  const waiting = new Set<() => void>();
  let buffered = '';
  const read = (chunk: Buffer) => {
    buffered += chunk.toString();
    const complete = buffered.split('\n');
    buffered = complete.pop()!;
    for (const text of complete) {
      try {
        lines.push(JSON.parse(text));
      } catch {
        lines.push({ msg: text });
      }
    }
    for (const wake of [...waiting]) wake();
  };
  child.stdout!.on('data', read);
  child.stderr!.on('data', read);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = (find: (all: Record<string, any>[]) => Record<string, any> | undefined, what: string) =>
    new Promise<Record<string, any>>((resolve, reject) => {
      const check = () => {
        const found = find(lines);
        if (found) {
          waiting.delete(check);
          resolve(found);
        }
      };
      waiting.add(check);
      check();
      void exited.then(() => {
        if (waiting.delete(check)) reject(new Error(`gateway exited before logging ${what}:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`));
      });
    });
  return {
    child,
    exited,
    logged: (prefix) => lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith(prefix)),
    line(msg, nth = 1) {
      return waitFor((all) => all.filter((l) => l.msg === msg)[nth - 1], `"${msg}"`);
    },
    lineAfter(from, matches) {
      return waitFor((all) => all.slice(from).find(matches), 'the line awaited');
    },
    get mark() {
      return lines.length;
    },
  };
}
