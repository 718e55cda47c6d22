import type { Command } from 'commander';
import { type ResolvedConfig, unsetEnv } from '../../config/load-config.ts';
import { ConfigError } from '../../core/errors.ts';
import { redactUrl } from '../../core/redact-url.ts';
import { type AnyStreamDefinition, keyFields } from '../../core/stream-definition.ts';
import { type ProbeResult, probeStream } from '../../runtime/probe-stream.ts';
import { selectStreams } from '../../runtime/run-streams.ts';
import { CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';
import { formatCount, formatDuration, formatTable } from '../format-table.ts';

/** Longest first record printed, in characters of JSON (`--json` has it whole, already cut). */
const MAX_RECORD_TEXT = 400;

export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description(
      'validate the config without touching the store: every stream, its environment variables, and a summary ' +
        'of each (source, key, cursor, version, pagination, incremental); --probe also reads one page of each ' +
        'and shows what the key, cursor and version fields find in it',
    )
    .argument('[streams...]', 'only these streams (default: all)')
    .option('--probe', 'fetch the first page of each stream through its source (nothing is stored)')
    .option('--json', 'print the summary (and probes) as JSON on stdout')
    .action(async (only: string[], options: { probe?: boolean; json?: boolean }, command: Command) => {
      const ctx = CliContext.of(command);
      // The store is never opened: checking a config must not create or change one.
      const config = await ctx.config();
      const streams = selectStreams(config, only);
      const summaries = streams.map(summarize);
      const missing = unsetSecrets(streams);
      const probes = options.probe && missing.length === 0 ? await probeAll(ctx, config, streams) : null;
      const problems = (probes ?? []).flatMap((p) => p.problems.map((line) => `${p.stream}: ${line}`));
      if (options.json) {
        ctx.printJson({
          file: config.file,
          store: redactUrl(config.store),
          streams: summaries.map((s, i) => ({ ...s, ...(probes ? { probe: probes[i] } : {}) })),
          missingEnv: missing,
          problems,
        });
      } else {
        ctx.print(
          `${config.file}: ${streams.length} stream${streams.length === 1 ? '' : 's'}; ` +
            `store ${redactUrl(config.store)} (not opened by check)\n\n`,
        );
        ctx.print(table(summaries));
        for (const probe of probes ?? []) ctx.print(`\n${describeProbe(probe, streams)}`);
      }
      const misconfigured = probes?.find((p) => p.configError);
      if (misconfigured) {
        throw new ConfigError(`stream "${misconfigured.stream}": ${misconfigured.problems[0]}`);
      }
      if (missing.length > 0) {
        throw new ConfigError(
          `environment variable${missing.length === 1 ? '' : 's'} not set: ${missing.join(', ')}; ` +
            'set them (see .env.example) and check again',
        );
      }
      if (!options.json) {
        ctx.print(
          problems.length > 0
            ? `\n${problems.length} problem${problems.length === 1 ? '' : 's'} found by the probe`
            : `\nconfig OK${probes ? '; every probed page has the key, cursor and version fields' : ''}`,
        );
      }
      process.exitCode = problems.length > 0 ? EXIT.failed : EXIT.ok;
    });
}

/** The secret environment variables the streams read that are not set: `NAME (streams "a", "b")`. */
function unsetSecrets(streams: readonly AnyStreamDefinition[]): string[] {
  const readers = new Map<string, string[]>();
  for (const stream of streams) {
    for (const name of unsetEnv(stream.sourceInfo?.secrets ?? [])) {
      readers.set(name, [...(readers.get(name) ?? []), `"${stream.name}"`]);
    }
  }
  return [...readers].map(([name, by]) => `${name} (stream${by.length === 1 ? '' : 's'} ${by.join(', ')})`);
}

interface StreamSummary {
  readonly name: string;
  readonly source: string;
  readonly reads: string | null;
  readonly key: readonly string[];
  readonly cursor: string | null;
  readonly version: string | null;
  /** How pages follow each other; null for a custom source (its own code decides). */
  readonly pagination: string | null;
  /** How a run starts after the last one; null when every run reads everything, or the source is custom. */
  readonly incremental: string | null;
}

function summarize(stream: AnyStreamDefinition): StreamSummary {
  const info = stream.sourceInfo;
  return {
    name: stream.name,
    source: info?.kind ?? 'custom',
    reads: info?.reads ?? null,
    key: keyFields(stream),
    cursor: stream.cursor ?? null,
    version: stream.version ?? null,
    pagination: info?.pagination ?? null,
    incremental: info?.incremental ?? null,
  };
}

function table(summaries: readonly StreamSummary[]): string {
  return formatTable(
    ['STREAM', 'SOURCE', 'KEY', 'CURSOR', 'VERSION', 'PAGINATION', 'INCREMENTAL'],
    summaries.map((s) => {
      const own = s.source === 'custom' ? "(the source's own)" : null;
      return [
        s.name,
        s.source,
        s.key.join(', '),
        s.cursor ?? '-',
        s.version ?? '-',
        s.pagination ?? own ?? '-',
        s.incremental ?? own ?? 'no: every run reads everything',
      ];
    }),
  );
}

/** Probes the streams one after another (their APIs see one request at a time from a check). */
async function probeAll(
  ctx: CliContext,
  config: ResolvedConfig,
  streams: readonly AnyStreamDefinition[],
): Promise<ProbeResult[]> {
  const probes: ProbeResult[] = [];
  for (const stream of streams) probes.push(await probeStream({ config, stream, log: ctx.log }));
  return probes;
}

function describeProbe(probe: ProbeResult, streams: readonly AnyStreamDefinition[]): string {
  const stream = streams.find((s) => s.name === probe.stream)!;
  const reads = stream.sourceInfo?.reads;
  const lines = [
    `${probe.stream}: ${formatCount(probe.records)} record${probe.records === 1 ? '' : 's'} in the first page` +
      `${probe.tombstones > 0 ? ` and ${formatCount(probe.tombstones)} tombstones` : ''}` +
      ` (${reads ? `${reads}, ` : ''}${formatDuration(probe.ms)})`,
  ];
  if (probe.first) {
    const keys = keyFields(stream);
    const found = [
      `key ${keys.length === 1 ? keys[0] : `[${keys.join(', ')}]`} = ${probe.first.key ?? 'NOT FOUND'}`,
      ...(stream.cursor ? [`cursor ${stream.cursor} = ${probe.first.cursor ?? 'NOT FOUND'}`] : []),
      ...(stream.version ? [`version ${stream.version} = ${probe.first.version ?? 'NOT FOUND'}`] : []),
    ];
    lines.push(`  first record: ${found.join('; ')}`);
    const text = JSON.stringify(probe.first.record) ?? String(probe.first.record);
    lines.push(`    ${text.length > MAX_RECORD_TEXT ? `${text.slice(0, MAX_RECORD_TEXT)}...` : text}`);
  } else if (probe.problems.length === 0) {
    lines.push('  the first page is empty: there is no record to check the fields against');
  }
  for (const problem of probe.problems) lines.push(`  PROBLEM: ${problem}`);
  return lines.join('\n');
}
