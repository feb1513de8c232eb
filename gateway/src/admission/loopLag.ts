/**
 * How busy the gateway's own event loop is: the delay a short timer suffers (Node's monitorEventLoopDelay). A
 * loop that runs late answers every socket late, so this is the signal admission control steers by; a subgraph
 * that is slow to answer does not raise it.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface LoopLag {
  /** The 90th percentile delay in ms since the last reading; the next reading starts afresh. */
  read(): number;
  stop(): void;
}

export function eventLoopLag(resolutionMs = 10): LoopLag {
  const histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  return {
    read() {
      const ms = histogram.count > 0 ? histogram.percentile(90) / 1e6 : 0;
      histogram.reset();
      return ms;
    },
    stop: () => histogram.disable(),
  };
}
