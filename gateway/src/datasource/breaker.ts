/**
 * A circuit breaker per subgraph (opossum): after repeated failures it opens and calls fail fast with
 * SUBGRAPH_CIRCUIT_OPEN instead of waiting on a subgraph that keeps failing; after `resetTimeoutMs` it lets one
 * probe through (half-open) and closes again when the probe succeeds.
 */
import CircuitBreaker from 'opossum';
import { SubgraphFailure } from '../errors.js';

export type BreakerState = 'closed' | 'open' | 'halfOpen';

export interface BreakerOptions {
  /** Share of failed calls in the rolling window that opens the breaker (0-100). */
  errorThresholdPercentage: number;
  /** Calls needed in the window before the breaker may open, so one early failure does not open it. */
  volumeThreshold: number;
  /** How long the breaker stays open before it lets a probe through. */
  resetTimeoutMs: number;
  /** Length of the rolling window the failure share is computed over. */
  rollingWindowMs: number;
}

export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = {
  errorThresholdPercentage: 50,
  volumeThreshold: 10,
  resetTimeoutMs: 5_000,
  rollingWindowMs: 10_000,
};

type Call = () => Promise<unknown>;

export class SubgraphBreaker {
  private readonly circuit: CircuitBreaker<[Call], unknown>;

  constructor(
    readonly serviceName: string,
    options: BreakerOptions,
    onStateChange: (state: BreakerState) => void = () => undefined,
  ) {
    this.circuit = new CircuitBreaker((call: Call) => call(), {
      // Deadlines are the data source's job (they abort the request); the breaker only counts outcomes.
      timeout: false,
      errorThresholdPercentage: options.errorThresholdPercentage,
      volumeThreshold: options.volumeThreshold,
      resetTimeout: options.resetTimeoutMs,
      rollingCountTimeout: options.rollingWindowMs,
      // Only the subgraph's own failures count; an answer with GraphQL errors is a working subgraph.
      errorFilter: (error: unknown) => !(error instanceof SubgraphFailure),
    });
    this.circuit.on('open', () => onStateChange('open'));
    this.circuit.on('halfOpen', () => onStateChange('halfOpen'));
    this.circuit.on('close', () => onStateChange('closed'));
  }

  get state(): BreakerState {
    if (this.circuit.opened) return 'open';
    if (this.circuit.halfOpen) return 'halfOpen';
    return 'closed';
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    try {
      return (await this.circuit.fire(call)) as T;
    } catch (error) {
      if ((error as { code?: string })?.code === 'EOPENBREAKER') {
        throw new SubgraphFailure('SUBGRAPH_CIRCUIT_OPEN', this.serviceName,
          `${this.serviceName} failed repeatedly; not calling it until a probe succeeds`, { cause: error });
      }
      throw error;
    }
  }

  shutdown(): void {
    this.circuit.shutdown();
  }
}
