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
 * 128 MB nothing more.
 *
 * `--heap-growing-percent=50`: what survives two scavenges anyway (the answers in flight under load) is promoted and
 * dies in the old generation, which V8 otherwise lets grow to about four times what is live before it compacts: in
 * scenario 7 about 70 MB live after a mark-compact, 270 MB before the next, and a peak RSS of 508-533 MB against
 * stock's 378-567 (three 15 s runs each way). Growing it by half of what is live at most took the peak to 336-362 MB
 * for about a fifth more CPU per answer (3.00-3.04 ms against 2.49-2.54: the mark-compacts come more often); by as
 * much as is live, to 368-377 MB for a tenth more (2.74-2.84 ms), too close to stock's to promise staying under it.
 * The young generation at 32 MB instead cost 1.6x the CPU. Allocating less per answer is what would cut both.
 *
 * Running the gateway with your own `node` command? Pass the same flags.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64', '--heap-growing-percent=50'];

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
