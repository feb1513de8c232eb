/**
 * The Node.js flags every gateway process is started with: `npm run gateway`, `npm start`, `npm run start:scaled`,
 * the Docker image and the benchmark (workers forked for GATEWAY_WORKERS inherit them). They cannot be set from
 * inside the process: V8 sizes its heap before any of our code runs.
 *
 * `--max-semi-space-size=64`: answering one large query allocates megabytes of short-lived objects (parsed
 * subgraph answers, @apollo/gateway's merged and shaped results, the serialized response). With V8's default young
 * generation many of them are still alive at a scavenge, get promoted and cost a full mark-compact later. With
 * 64 MB semi-spaces they die young: in bench scenario 7 (90 KB answers, 50 connections, 2 cores) that gave 1.4x
 * the answers per second for 0.66x the CPU per answer, at about 100 MB more peak RSS; 32 MB gained little and
 * 128 MB nothing more. Running the gateway with your own `node` command? Pass the same flags.
 *
 * Not among them: `--heap-growing-percent=50` (compact the old generation before it is 1.5x what is live, where V8
 * lets it reach about 4x). In scenario 7 it took peak RSS from 508-533 MB to 336-362 MB, under stock's, but cost about
 * a fifth more CPU per answer there, and with the warm caches of scenarios 1 and 5 it made the mark-compacts of their
 * large live set frequent enough to raise the page p99 from 23 to 32 ms and the CPU of scenario 5 by a fifth. A
 * gateway short of memory may pass it. Allocating less per answer cut both instead: at 0.84 MB per answer where it
 * was 1.6 MB, scenario 7's peak RSS is about stock's without it (bench/README.md).
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/**
 * The flags of GATEWAY_NODE_FLAGS this process was started without, on its command line or in NODE_OPTIONS. A flag
 * counts as given whatever its value: an operator who chose another size has decided.
 */
export function missingNodeFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = new Set([...execArgv, ...(nodeOptions ?? '').split(/\s+/)].map(flagName));
  return GATEWAY_NODE_FLAGS.filter((flag) => !given.has(flagName(flag)));
}

/** `--max-semi-space-size=64` and `--max_semi_space_size 64` both name the flag `--max-semi-space-size`. */
function flagName(arg: string): string {
  return arg.split('=')[0]!.replace(/_/g, '-');
}
