import { type Command, InvalidArgumentError } from 'commander';
import type { FaultPatch, MutationPatch } from '../../simulator/index.ts';

/** Parses a non-negative number option, naming the option in the error. */
function number(name: string, integer = false) {
  return (raw: string): number => {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
      throw new InvalidArgumentError(
        `${name} must be a non-negative ${integer ? 'integer' : 'number'}, got "${raw}"`,
      );
    }
    return value;
  };
}

/** `--client-limit 10/5`: a bucket of 10 requests refilled at 5 per second. */
function clientLimit(raw: string): { capacity: number; refillPerSecond: number } {
  const match = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(raw);
  if (!match || Number(match[1]) < 1 || Number(match[2]) <= 0) {
    throw new InvalidArgumentError(
      `--client-limit must look like CAPACITY/REFILL_PER_SECOND (e.g. 10/5), got "${raw}"`,
    );
  }
  return { capacity: Number(match[1]), refillPerSecond: Number(match[2]) };
}

/** `--crm-idempotency on|off`. */
function onOff(raw: string): boolean {
  if (raw === 'on') return true;
  if (raw === 'off') return false;
  throw new InvalidArgumentError(`--crm-idempotency must be on or off, got "${raw}"`);
}

/** Fault options: CLI flag -> fault knob. Shares are probabilities per request in [0, 1]. */
const FAULT_FLAGS = [
  ['--rate-limit <share>', 'rateLimit', 'share of requests answered 429 with Retry-After'],
  ['--server-errors <share>', 'serverError', 'share of requests that start a burst of 500/502/503'],
  ['--hangs <share>', 'hang', 'share of requests never answered (dropped after --hang-ms)'],
  ['--resets <share>', 'reset', 'share of responses whose connection is reset mid-body'],
  ['--truncated <share>', 'truncated', 'share of responses with a cut JSON body'],
  ['--malformed <share>', 'malformed', 'share of responses with a non-JSON body'],
  ['--slow <share>', 'slow', 'share of responses delayed by --slow-ms'],
  [
    '--hang-ms <ms>',
    'hangMs',
    'how long a hung request is held before its socket is dropped (default 30000)',
  ],
  ['--slow-ms <ms>', 'slowMs', 'delay of slow responses (default 1000)'],
  ['--retry-after <seconds>', 'retryAfterSeconds', 'Retry-After of injected 429s (default 1)'],
] as const;

interface SimulateOptions {
  port: number;
  host: string;
  seed: number;
  customers: number;
  orders: number;
  candles: number;
  maxPageSize: number;
  mutationsPerSecond: number;
  burstSize?: number;
  regress?: number;
  clientLimit?: { capacity: number; refillPerSecond: number };
  bearerToken?: string[];
  apiKey?: string[];
  crmToken?: string;
  crmIdempotency?: boolean;
  [fault: string]: unknown;
}

/**
 * `syncline simulate`: starts the misbehaving API simulator, prints its URL on one line (the only
 * stdout output, so scripts can read it), and runs until SIGINT or SIGTERM.
 */
export function registerSimulateCommand(program: Command): void {
  const command = program
    .command('simulate')
    .description('run the misbehaving API simulator on loopback (see docs/simulator.md)')
    .option('--port <port>', 'port to listen on; 0 picks a free one', number('--port', true), 4010)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--seed <n>', 'seed of data, mutations and faults', number('--seed', true), 1)
    .option('--customers <n>', 'customers generated at start', number('--customers', true), 10_000)
    .option('--orders <n>', 'orders generated at start', number('--orders', true), 10_000)
    .option('--candles <n>', 'candles generated at start', number('--candles', true), 10_000)
    .option('--max-page-size <n>', 'largest limit/per_page honoured', number('--max-page-size', true), 1000)
    .option('--mutations-per-second <n>', 'background mutation rate', number('--mutations-per-second'), 0)
    .option(
      '--burst-size <n>',
      'records sharing one updated_at per burst (default 2500)',
      number('--burst-size', true),
    )
    .option(
      '--regress <weight>',
      'weight of version regressions (records restored from an older backup) in the mutation mix (default 0)',
      number('--regress'),
    )
    .option('--client-limit <capacity/refill>', 'per-client token bucket, e.g. 10/5', clientLimit)
    .option('--bearer-token <token...>', 'require one of these bearer tokens')
    .option('--api-key <key...>', 'require one of these API keys (X-API-Key header or api_key query)')
    .option('--crm-token <token>', 'the CRM at /crm needs Authorization: Bearer <token>')
    .option('--crm-idempotency <on|off>', 'honour Idempotency-Key on CRM creates (default on)', onOff);
  for (const [flag, , help] of FAULT_FLAGS) command.option(flag, help, number(flag.split(' ')[0]!));
  command.action(async (options: SimulateOptions) => {
    const faults: Record<string, unknown> = {};
    for (const [flag, knob] of FAULT_FLAGS) {
      const camel = flag
        .split(' ')[0]!
        .slice(2)
        .replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
      if (options[camel] !== undefined) faults[knob] = options[camel];
    }
    if (options.clientLimit !== undefined) faults.clientLimit = options.clientLimit;
    const mutations: MutationPatch = { ratePerSecond: options.mutationsPerSecond };
    if (options.burstSize !== undefined) mutations.burstSize = options.burstSize;
    if (options.regress !== undefined) mutations.mix = { regress: options.regress };
    // Loaded when used: every other command starts without the simulator's modules.
    const { startSimulator } = await import('../../simulator/index.ts');
    const sim = await startSimulator({
      seed: options.seed,
      port: options.port,
      host: options.host,
      datasets: { customers: options.customers, orders: options.orders, candles: options.candles },
      faults: faults as FaultPatch,
      mutations,
      maxPageSize: options.maxPageSize,
      auth: { bearerTokens: options.bearerToken ?? [], apiKeys: options.apiKey ?? [] },
      crm: {
        ...(options.crmToken === undefined ? {} : { token: options.crmToken }),
        ...(options.crmIdempotency === undefined ? {} : { idempotency: options.crmIdempotency }),
      },
    });
    process.stdout.write(`${sim.url}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await sim.close();
  });
}
