import { type ResolvedConfig, readEnvSecret, unsetEnv } from '../config/load-config.ts';
import { closestName } from '../core/closest-name.ts';
import { ConfigError, describeError, TransientError } from '../core/errors.ts';
import { SyncEventBus } from '../core/events.ts';
import { readPath } from '../core/field-path.ts';
import { scalarText } from '../core/key-codec.ts';
import type { Page } from '../core/source.ts';
import { type AnyStreamDefinition, keyFields } from '../core/stream-definition.ts';
import type { Logger } from '../core/types.ts';
import { PagePreparer, type PreparedRecord } from '../engine/page-preparer.ts';
import { RateLimiters } from '../engine/rate-limiter.ts';
import { RetryPolicy } from '../engine/retry-policy.ts';
import { sourceServices } from '../engine/source-services.ts';
import { recordPreview } from './record-preview.ts';

/** A field the stream names, and how many records of the probed page lack it (absent or null). */
export interface ProbedField {
  readonly role: 'key' | 'cursor' | 'version';
  readonly field: string;
  readonly missing: number;
}

/** One record of the probed page: as read, as the schema made it, and what preparing it gave. */
interface Judged {
  readonly raw: unknown;
  readonly value: unknown;
  readonly prepared: PreparedRecord | null;
  /** Why the engine would dead-letter it, or null. */
  readonly failure: string | null;
}

/** What one page of a stream's source showed. */
export interface ProbeResult {
  readonly stream: string;
  /** Records in the first page: 0 when the source has none or failed. */
  readonly records: number;
  readonly tombstones: number;
  /**
   * The first record, cut and with credentials masked for printing, and the key, cursor and
   * version the stream reads in it (after its schema, as the engine would; null: none found).
   */
  readonly first: {
    readonly record: unknown;
    readonly key: string | null;
    readonly cursor: string | null;
    readonly version: string | null;
  } | null;
  readonly fields: readonly ProbedField[];
  /** What the probe found wrong, one line each (a field missing from records, a failing source). */
  readonly problems: readonly string[];
  /**
   * The source failed on the config rather than on the API (a `ConfigError`: a secret it reads is
   * not set, a setting it refuses); its message is the problem's.
   */
  readonly configError: boolean;
  readonly ms: number;
}

export interface ProbeStreamArgs {
  readonly config: ResolvedConfig;
  readonly stream: AnyStreamDefinition;
  readonly log: Logger;
}

/**
 * Reads the first page of a stream through its real source, with the services a run gives it (the
 * config's retry policy, rate limiters, deadline, secrets from the environment), then stops the
 * source and judges the page the way the engine would: each record through the stream's schema
 * and key, and every field the stream names looked for in every record. Writes nothing anywhere.
 */
export async function probeStream(args: ProbeStreamArgs): Promise<ProbeResult> {
  const { stream, log } = args;
  const started = Date.now();
  const done = (page: Partial<ProbeResult>): ProbeResult => ({
    stream: stream.name,
    records: 0,
    tombstones: 0,
    first: null,
    fields: [],
    problems: [],
    configError: false,
    ...page,
    ms: Date.now() - started,
  });
  let page: Page<unknown> | null;
  try {
    page = await firstPage(args, started);
  } catch (error) {
    return done({
      problems: [`the source failed before its first page: ${describeError(error)}`],
      configError: error instanceof ConfigError,
    });
  }
  if (page === null) return done({});
  if (!Array.isArray(page.records)) {
    return done({
      problems: ['the source yielded something else than a page { records: [...], checkpoint }'],
    });
  }
  const preparer = new PagePreparer(stream);
  const judged: Judged[] = [];
  try {
    for (const raw of page.records) {
      const prepared = await preparer.prepare({ records: [raw], checkpoint: null });
      const record = prepared.records[0];
      judged.push({
        raw,
        value: record ? (JSON.parse(record.data) as unknown) : raw,
        prepared: record ?? null,
        failure: prepared.deadLetters[0]?.reason ?? null,
      });
    }
  } catch (error) {
    return done({
      records: page.records.length,
      problems: [`a record could not be judged (the run would stop): ${describeError(error)}`],
    });
  }
  const fields: ProbedField[] = [
    ...keyFields(stream).map((field) => ({ role: 'key' as const, field })),
    ...(stream.cursor ? [{ role: 'cursor' as const, field: stream.cursor }] : []),
    ...(stream.version ? [{ role: 'version' as const, field: stream.version }] : []),
  ].map((f) => ({
    ...f,
    missing: judged.filter(
      (j) => readPath(j.value, f.field) === undefined || readPath(j.value, f.field) === null,
    ).length,
  }));
  const n = judged.length;
  const problems: string[] = [];
  const names = judged[0] && typeof judged[0].value === 'object' ? Object.keys(judged[0].value ?? {}) : [];
  for (const f of fields.filter((f) => f.missing > 0)) {
    const where = f.missing === n ? 'every record' : `${f.missing} of ${n} records`;
    const guess = closestName(f.field, names);
    problems.push(
      `${f.role} field "${f.field}" is missing from ${where} of the first page ` +
        `(its first record has: ${names.slice(0, 12).join(', ') || 'no fields'})` +
        (guess ? `; did you mean "${guess}"?` : ''),
    );
  }
  const failures = new Map<string, number>();
  for (const j of judged) {
    const mentioned =
      j.failure !== null && fields.some((f) => f.missing > 0 && j.failure!.includes(`"${f.field}"`));
    if (j.failure !== null && !mentioned) failures.set(j.failure, (failures.get(j.failure) ?? 0) + 1);
  }
  for (const [reason, count] of failures) {
    problems.push(`${count} of ${n} records would be dead-lettered: ${reason}`);
  }
  const head = judged[0];
  const secrets = stream.sourceInfo?.secrets ?? [];
  const secretValues = secrets.filter((name) => unsetEnv([name]).length === 0).map(readEnvSecret);
  log.debug({ stream: stream.name, records: n }, 'probed the first page');
  return done({
    records: n,
    tombstones: page.tombstones?.length ?? 0,
    first: head
      ? {
          record: recordPreview(head.raw, secretValues),
          key: head.prepared?.key ?? null,
          cursor: head.prepared
            ? head.prepared.cursor
            : stream.cursor
              ? scalarText(readPath(head.value, stream.cursor))
              : null,
          version: head.prepared
            ? head.prepared.version
            : stream.version
              ? scalarText(readPath(head.value, stream.version))
              : null,
        }
      : null,
    fields,
    problems,
  });
}

/**
 * The source's first page, or null when it has none. Like a run: requests go through `attempt`
 * (retries, rate limits), and a source that throws a transient error itself is started again after
 * a backoff. The source is stopped (its signal aborted, its generator returned) once the page is in.
 */
async function firstPage(args: ProbeStreamArgs, started: number): Promise<Page<unknown> | null> {
  const { stream, config, log } = args;
  const abort = new AbortController();
  const deadline = config.sync.maxRunDurationMs === undefined ? null : started + config.sync.maxRunDurationMs;
  const report = () => {};
  // A probe that waits on retries says so, rather than look hung.
  const events = new SyncEventBus();
  events.on('request:retrying', ({ what, attempt, delayMs, reason }) =>
    log.warn({ stream: stream.name, what, attempt, delayMs, reason }, 'retrying'),
  );
  const { attempt, observeLimit, observeRequest, backOff } = sourceServices({
    stream: stream.name,
    policy: new RetryPolicy(config.sync.retry),
    limiters: new RateLimiters(),
    signal: abort.signal,
    deadline,
    report,
    events,
    runId: 'probe',
  });
  let pages: AsyncIterator<Page<unknown>> | null = null;
  try {
    for (let failures = 1; ; failures++) {
      pages = stream
        .source({
          stream: stream.name,
          checkpoint: null,
          signal: abort.signal,
          log,
          report,
          attempt,
          observeLimit,
          observeRequest,
          deadline,
          secret: readEnvSecret,
          request: { mode: 'sync' },
        })
        [Symbol.asyncIterator]();
      try {
        const next = await pages.next();
        return next.done ? null : next.value;
      } catch (error) {
        if (!(error instanceof TransientError)) throw error;
        await backOff(error, failures, 'reading the source');
      }
    }
  } finally {
    abort.abort();
    await pages?.return?.(undefined).catch(() => {});
  }
}
