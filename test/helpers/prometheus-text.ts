/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests of `/metrics`: what a
 * scraper would read, checked line by line rather than matched with a regex here and there, so a
 * malformed line (a bad escape, a sample of an undeclared family, a duplicate series) fails the test.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name: the family's, or with `_bucket`, `_sum`, `_count` for histograms. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestampMs: number | null;
}

export interface MetricFamily {
  readonly name: string;
  help: string | null;
  type: MetricType;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

export class PrometheusParseError extends Error {}

/** The families of a scrape by name, in order of appearance. Throws `PrometheusParseError` naming the line. */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  /** Series seen (`name{sorted labels}`), to refuse duplicates. */
  const series = new Set<string>();
  const lines = text.split('\n');
  if (text.length > 0 && !text.endsWith('\n'))
    throw new PrometheusParseError('the text must end with a newline');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fail = (why: string): never => {
      throw new PrometheusParseError(`line ${i + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) continue; // a plain comment
      const [, keyword, name, rest = ''] = m;
      if (!METRIC_NAME.test(name!)) fail('bad metric name');
      const family = families.get(name!) ?? {
        name: name!,
        help: null,
        type: 'untyped' as MetricType,
        samples: [],
      };
      if (keyword === 'HELP') {
        if (family.help !== null) fail('a second HELP for the family');
        family.help = unescapeHelp(rest, fail);
      } else {
        const type = rest.trim() as MetricType;
        if (!TYPES.has(type)) fail('unknown type');
        if (family.samples.length > 0) fail('TYPE after samples of the family');
        if (families.has(name!) && families.get(name!)!.type !== 'untyped')
          fail('a second TYPE for the family');
        family.type = type;
      }
      families.set(name!, family);
      continue;
    }
    const sample = parseSample(line, fail);
    const family = familyOf(families, sample.name);
    if (!family) fail('a sample of no declared family');
    if (
      family!.type === 'histogram' &&
      sample.name.endsWith('_bucket') &&
      sample.labels['le'] === undefined
    ) {
      fail('a histogram bucket without le');
    }
    const id = `${sample.name}{${Object.entries(sample.labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
    if (series.has(id)) fail('a duplicate series');
    series.add(id);
    family!.samples.push(sample);
  }
  return families;
}

function familyOf(families: Map<string, MetricFamily>, sampleName: string): MetricFamily | undefined {
  for (const family of families.values()) {
    for (const suffix of SUFFIXES[family.type]) {
      if (sampleName === family.name + suffix) return family;
    }
  }
  return undefined;
}

function unescapeHelp(text: string, fail: (why: string) => never): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    return fail(`bad escape \\${c} in HELP`);
  });
}

function parseSample(line: string, fail: (why: string) => never): Sample {
  let at = 0;
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) return fail('bad metric name');
  const name = nameMatch[0];
  at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at++;
    for (;;) {
      if (line[at] === '}') {
        at++;
        break;
      }
      const labelMatch = /^[^=]*/.exec(line.slice(at))![0];
      const label = labelMatch.trim();
      if (!LABEL_NAME.test(label)) fail(`bad label name ${JSON.stringify(label)}`);
      if (label in labels) fail(`label ${label} given twice`);
      at += labelMatch.length;
      if (line[at] !== '=' || line[at + 1] !== '"') fail('expected ="');
      at += 2;
      let value = '';
      for (;;) {
        const c = line[at];
        if (c === undefined) fail('unterminated label value');
        if (c === '"') break;
        if (c === '\\') {
          const next = line[at + 1];
          if (next === '\\') value += '\\';
          else if (next === '"') value += '"';
          else if (next === 'n') value += '\n';
          else fail(`bad escape \\${next ?? ''} in a label value`);
          at += 2;
        } else {
          value += c;
          at++;
        }
      }
      at++;
      labels[label] = value;
      if (line[at] === ',') at++;
      else if (line[at] !== '}') fail('expected , or } after a label');
    }
  }
  const rest = line.slice(at);
  const m = /^[ \t]+(\S+)(?:[ \t]+(-?\d+))?[ \t]*$/.exec(rest);
  if (!m) return fail('expected a value (and an optional timestamp) after the name and labels');
  const value = parseValue(m[1]!, fail);
  return { name, labels, value, timestampMs: m[2] === undefined ? null : Number(m[2]) };
}

/** As Prometheus reads it (Go's `ParseFloat`): special values in any case (prom-client writes `Nan`). */
function parseValue(text: string, fail: (why: string) => never): number {
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text);
  if (special) {
    if (special[2]!.toLowerCase() === 'nan')
      return special[1] === '' ? Number.NaN : fail(`bad value ${text}`);
    return special[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return fail(`bad value ${text}`);
  return Number(text);
}

/**
 * The value of the one sample of `family` (or of its `sampleName`, e.g. `x_count`) whose labels
 * include `labels`; throws when none or several match.
 */
export function sampleValue(
  families: Map<string, MetricFamily>,
  family: string,
  labels: Record<string, string> = {},
  sampleName = family,
): number {
  const matching = samplesOf(families, family, labels, sampleName);
  if (matching.length !== 1) {
    throw new Error(`${sampleName}${JSON.stringify(labels)}: ${matching.length} samples match, not 1`);
  }
  return matching[0]!.value;
}

/** The sum of the samples of `family` whose labels include `labels` (0 when none). */
export function sumSamples(
  families: Map<string, MetricFamily>,
  family: string,
  labels: Record<string, string> = {},
  sampleName = family,
): number {
  return samplesOf(families, family, labels, sampleName).reduce((sum, s) => sum + s.value, 0);
}

function samplesOf(
  families: Map<string, MetricFamily>,
  family: string,
  labels: Record<string, string>,
  sampleName: string,
): Sample[] {
  const f = families.get(family);
  if (!f) throw new Error(`no metric family ${family}`);
  return f.samples.filter(
    (s) => s.name === sampleName && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}
