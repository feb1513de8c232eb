/**
 * A real server on loopback that some tests need (PostgreSQL, Redis, NATS): when it cannot be reached, the test
 * file fails under CI=true and is skipped with a loud warning elsewhere, never skipped quietly.
 */
export interface RequiredServer {
  /** As the message names it: "Redis", "NATS JetStream". */
  name: string;
  url: string;
  /** Why it could not be reached; null when it was. */
  problem: string | null;
  /** Who needs it, for the message: "the Redis tests". */
  neededBy: string;
  /** Where the manual says how to start it (a docs page and its section). */
  docSection: string;
}

/** True when the server is there; throws under CI when it is not. */
export function requireServer({ name, url, problem, neededBy, docSection }: RequiredServer): boolean {
  if (problem === null) return true;
  const message = `${name} is not reachable at ${url} (${problem}); ${neededBy} need it`;
  if (process.env.CI) throw new Error(`${message}. Start it (see ${docSection}).`);
  console.warn(`\n!!! ${message}: SKIPPING them outside CI.\n`);
  return false;
}
