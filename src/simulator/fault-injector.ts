import { Prng } from './prng.ts';
import type { FaultConfig } from './simulator-options.ts';

export type FaultKind = 'rateLimit' | 'serverError' | 'hang' | 'reset' | 'truncated' | 'malformed' | 'slow';

export const FAULT_KINDS: readonly FaultKind[] = [
  'rateLimit',
  'serverError',
  'hang',
  'reset',
  'truncated',
  'malformed',
  'slow',
];

/** What happens to one request. Every parameter is drawn when the decision is made. */
export type FaultDecision =
  | { kind: null }
  | { kind: 'rateLimit'; httpDate: boolean }
  | { kind: 'serverError'; status: 500 | 502 | 503 }
  | { kind: 'hang' }
  | { kind: 'reset'; cut: number }
  | { kind: 'truncated'; cut: number }
  | { kind: 'malformed'; variant: 0 | 1 | 2 }
  | { kind: 'slow' };

const STATUSES = [500, 502, 503] as const;

/**
 * Draws the fault for each API request, in arrival order, from a PRNG seeded by the simulator seed:
 * the same seed and the same request sequence give the same faults. A 5xx burst, once started,
 * answers the next requests with 5xx too, without drawing.
 */
export class FaultInjector {
  private readonly prng: Prng;
  private config: FaultConfig;
  private burstLeft = 0;

  constructor(seed: number, config: FaultConfig) {
    this.prng = new Prng(seed, 0x6661756c);
    this.config = config;
  }

  get current(): FaultConfig {
    return this.config;
  }

  configure(config: FaultConfig): void {
    this.config = config;
    // Turning server errors off ends a burst in progress.
    if (config.serverError === 0) this.burstLeft = 0;
  }

  decide(): FaultDecision {
    const c = this.config;
    if (this.burstLeft > 0) {
      this.burstLeft--;
      return { kind: 'serverError', status: this.prng.pick(STATUSES) };
    }
    const u = this.prng.next();
    // The shares partition [0, 1): the first band that contains u is the fault.
    let edge = c.rateLimit;
    if (u < edge) return { kind: 'rateLimit', httpDate: this.prng.next() < c.retryAfterDateShare };
    edge += c.serverError;
    if (u < edge) {
      this.burstLeft = this.prng.between(c.serverErrorBurstMin, c.serverErrorBurstMax) - 1;
      return { kind: 'serverError', status: this.prng.pick(STATUSES) };
    }
    edge += c.hang;
    if (u < edge) return { kind: 'hang' };
    // Cuts fall strictly inside the body: between 10% and 90% of its length.
    edge += c.reset;
    if (u < edge) return { kind: 'reset', cut: 0.1 + 0.8 * this.prng.next() };
    edge += c.truncated;
    if (u < edge) return { kind: 'truncated', cut: 0.1 + 0.8 * this.prng.next() };
    edge += c.malformed;
    if (u < edge) return { kind: 'malformed', variant: this.prng.int(3) as 0 | 1 | 2 };
    edge += c.slow;
    if (u < edge) return { kind: 'slow' };
    return { kind: null };
  }
}

/**
 * A body that is never valid JSON, in one of three shapes real gateways produce: an HTML error page
 * served as 200, an anti-XSSI prefix, or junk after the JSON value.
 */
export function malformBody(body: string, variant: 0 | 1 | 2): string {
  if (variant === 0)
    return '<html><head><title>502 Bad Gateway</title></head><body>upstream error</body></html>';
  if (variant === 1) return ")]}',\n" + body;
  return body + '\n<!-- served by edge-cache-7 -->';
}
