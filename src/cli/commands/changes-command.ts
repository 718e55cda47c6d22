import { type Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../../core/errors.ts';
import type { FeedChange } from '../../core/feed-change.ts';
import { DEFAULT_POLL_MS, readChangeFeed } from '../../runtime/read-change-feed.ts';
import { CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';
import type { TerminalStyle } from '../terminal-style.ts';
import { parseLimit } from './parse-limit.ts';

interface ChangesOptions {
  readonly since?: number;
  readonly stream?: string[];
  readonly consumer?: string;
  readonly follow?: boolean;
  readonly json?: boolean;
  readonly limit?: number;
  readonly poll: number;
}

export function registerChangesCommand(program: Command): void {
  program
    .command('changes')
    .description(
      'print the change log: every insert, update and delete, in commit order (--json adds each key’s latest data)',
    )
    .option('--since <seq>', 'only changes after this seq (default 0: the oldest kept)', parseSeq)
    .option('--stream <name>', 'only this stream (repeat for several)', collect)
    .option(
      '--consumer <name>',
      'resume after the seq this consumer acknowledged, and acknowledge each batch once printed',
    )
    .option('--follow', 'at the end, wait for new changes until SIGINT or SIGTERM')
    .option(
      '--json',
      'one JSON object a line: id, seq, stream, key, kind, version, hash, run, committedAt, data',
    )
    .option('--limit <n>', 'stop after this many changes', parseLimit)
    .option('--poll <ms>', 'with --follow, how often to look for new changes', parsePoll, DEFAULT_POLL_MS)
    .action(async (options: ChangesOptions, command: Command) => {
      const ctx = CliContext.of(command);
      const stop = new AbortController();
      let signalled = false;
      const onSignal = (signal: NodeJS.Signals) => {
        // A second signal: do not wait for the batch in progress to be acknowledged.
        if (signalled) process.exit(signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm);
        signalled = true;
        stop.abort();
      };
      // A reader that went away (`| head`): stop reading, quietly.
      const onOutputError = () => stop.abort();
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      process.stdout.on('error', onOutputError);
      try {
        // Acknowledging writes the consumer's offset; reading alone works on a read-only store.
        const store = await ctx.store(options.consumer === undefined ? 'read' : 'write');
        if (options.stream) checkStreams(options.stream, await store.listStreams());
        const batches = readChangeFeed(store, {
          ...(options.since !== undefined ? { since: options.since } : {}),
          ...(options.consumer !== undefined ? { consumer: options.consumer } : {}),
          ...(options.stream ? { streams: options.stream } : {}),
          ...(options.limit !== undefined ? { limit: options.limit } : {}),
          follow: options.follow === true,
          pollMs: options.poll,
          signal: stop.signal,
        });
        for await (const batch of batches) {
          // Acknowledged only once written: a batch whose output failed comes again next time.
          const lines = batch.changes.map((c) => (options.json ? JSON.stringify(c) : line(c, ctx.out)));
          if (!(await written(`${lines.join('\n')}\n`))) break;
          await batch.ack();
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.stdout.off('error', onOutputError);
        await ctx.close();
      }
    });
}

/** Writes to stdout; false when the write failed (the reader went away). */
function written(text: string): Promise<boolean> {
  return new Promise((resolve) => {
    process.stdout.write(text, (error) => resolve(!error));
  });
}

/** A change as a line of text: seq, commit time, stream, kind, key. */
function line(c: FeedChange, out: TerminalStyle): string {
  return `${c.seq}  ${out.muted(c.committedAt)}  ${c.stream}  ${c.kind}  ${c.key}`;
}

/** Streams asked for must be in the store: a mistyped one would print nothing, and wait forever. */
function checkStreams(asked: readonly string[], known: readonly { stream: string }[]): void {
  const names = new Set(known.map((s) => s.stream));
  const missing = asked.filter((s) => !names.has(s));
  if (missing.length > 0) {
    throw new ConfigError(
      `stream "${missing[0]}" is not in the store; its streams: ${[...names].join(', ') || 'none yet'}`,
    );
  }
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  ];
}

function parseSeq(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new InvalidArgumentError(`--since takes a seq (an integer of at least 0), got "${value}"`);
  return n;
}

function parsePoll(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 10 || n > 60_000)
    throw new InvalidArgumentError(`--poll takes milliseconds from 10 to 60000, got "${value}"`);
  return n;
}
