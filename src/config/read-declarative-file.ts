import { readFileSync } from 'node:fs';
import { parseDocument, type YAMLError } from 'yaml';
import { ConfigError, describeError } from '../core/errors.ts';

/** A `${NAME}` reference to an environment variable, as written in a JSON or YAML config. */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * What a reference's braces become while YAML parses: two private-use characters, which YAML reads
 * as ordinary text and no config contains. One character each, so every offset, line and column
 * YAML reports is the file's own.
 */
const OPEN = '\uE000';
const CLOSE = '\uE001';
const STAND_IN = /\$\uE000([A-Za-z_][A-Za-z0-9_]*)\uE001/g;
/** A reference in a parsed string: a stand-in, or `${NAME}` spelled with YAML escapes. */
const PARSED_REFERENCE = /\$(?:\{|\uE000)([A-Za-z_][A-Za-z0-9_]*)(?:\}|\uE001)/g;

/**
 * Reads a JSON or YAML config file into plain data, with `${NAME}` in string values replaced by the
 * environment variable NAME (`vars` first; missing ones are an error naming them all). Keys are
 * left as written.
 *
 * A reference may be written bare or quoted, anywhere a string goes: `baseUrl: ${API_URL}`,
 * `request: { baseUrl: ${API_URL}, path: /v1/${TENANT}/items }` and `baseUrl: "${API_URL}"` all
 * read the same. Inside a YAML flow map `{ ... }` braces would otherwise open a nested map, so the
 * reference's braces are swapped for stand-ins before parsing, and values are substituted only
 * after it: a value is never parsed as YAML, and one holding `: `, `#` or a newline stays one string.
 *
 * Errors name the file, and where the file is not valid JSON or YAML, the line and column, with
 * the offending line and a caret under the column. An empty file, or one whose top level is not a
 * mapping, is refused here, before the schema would say something vaguer.
 */
export function readDeclarativeFile(
  path: string,
  shown: string,
  vars: Readonly<Record<string, string>> = {},
): unknown {
  const text = readFileSync(path, 'utf8');
  const data = /\.json$/i.test(path) ? parseJson(text, shown) : parseYaml(text, shown);
  if (data === null || data === undefined)
    throw new ConfigError(`${shown}: empty config: expected \`streams:\``);
  if (typeof data !== 'object' || Array.isArray(data)) {
    const found = Array.isArray(data) ? 'a list' : `a ${typeof data}`;
    throw new ConfigError(`${shown}: the top level is ${found}; expected a mapping with \`streams:\``);
  }
  const missing = new Set<string>();
  const resolved = resolveReferences(data, vars, missing);
  if (missing.size > 0) {
    // Every one at once: fixing one variable only to be told about the next is slow.
    const names = [...missing];
    const uses = names.map((name) => `\${${name}}`).join(', ');
    throw new ConfigError(
      names.length === 1
        ? `${shown}: uses ${uses}, but environment variable ${names[0]} is not set`
        : `${shown}: uses ${uses}, but environment variables ${names.join(', ')} are not set`,
    );
  }
  return resolved;
}

function parseYaml(text: string, shown: string): unknown {
  const protectedText = text.replace(REFERENCE, `$$${OPEN}$1${CLOSE}`);
  const doc = parseDocument(protectedText, { prettyErrors: false });
  const first = doc.errors[0];
  if (first) throw syntaxError(text, shown, 'YAML', first.pos[0], yamlMessage(text, first));
  return doc.toJS();
}

function parseJson(text: string, shown: string): unknown {
  // JSON.parse calls an empty file a syntax error; it is the same mistake as an empty YAML file.
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch (error) {
    // V8 says "<what> in JSON at position <n>" (Node 22 adds the line and column itself), or
    // "Unexpected end of JSON input".
    const message = describeError(error);
    const at = /^(.*?) in JSON at position (\d+)/.exec(message);
    if (!at) throw syntaxError(text, shown, 'JSON', text.length, message);
    throw syntaxError(text, shown, 'JSON', Number(at[2]), at[1]!);
  }
}

/**
 * The library's message, plus what to do for the commonest mistake: braces glued to a value inside
 * a flow map (`{ path: /v1/customers/{id} }`), which YAML reads as a nested map.
 */
function yamlMessage(text: string, error: YAMLError): string {
  const message = error.message.split('\n')[0]!;
  const at = error.pos[0];
  if (text[at] !== '{' || at === 0 || !/[^\s,[\]{}:]/.test(text[at - 1]!)) return message;
  return `${message} (inside { } or [ ], quote a value that holds braces: ${JSON.stringify(valueAround(text, at))})`;
}

/** The plain value a glued brace at `at` belongs to: back to its start, on over balanced braces. */
function valueAround(text: string, at: number): string {
  let start = at;
  while (start > 0 && !/[\s,[{]/.test(text[start - 1]!)) start--;
  let end = at;
  for (let depth = 0; end < text.length; end++) {
    const c = text[end]!;
    if (c === '{') depth++;
    else if (c === '}' && depth > 0) depth--;
    else if (depth === 0 && /[\s,\]}]/.test(c)) break;
  }
  return text.slice(start, end);
}

/**
 * `<file>:<line>:<column>: not valid <format>: <message>`, then the offending line and a caret
 * under the column, like a compiler's. An offset past the last character (a quote never closed)
 * points just after it.
 */
function syntaxError(text: string, shown: string, format: string, offset: number, message: string) {
  const at = Math.min(offset, text.trimEnd().length);
  const start = text.lastIndexOf('\n', at - 1) + 1;
  const end = text.indexOf('\n', at);
  const source = text.slice(start, end === -1 ? text.length : end).replace(/\r$/, '');
  const line = text.slice(0, start).split('\n').length;
  const column = at - start + 1;
  const gutter = ' '.repeat(String(line).length);
  // Tabs stay tabs, so the caret lines up however the terminal renders them.
  const pad = source.slice(0, column - 1).replace(/[^\t]/g, ' ');
  return new ConfigError(
    `${shown}:${line}:${column}: not valid ${format}: ${message}\n` +
      `  ${line} | ${source}\n` +
      `  ${gutter} | ${pad}^`,
  );
}

/** `value` with references replaced; the names found neither in `vars` nor set go to `missing`. */
function resolveReferences(
  value: unknown,
  vars: Readonly<Record<string, string>>,
  missing: Set<string>,
): unknown {
  if (typeof value === 'string') {
    return value.replace(PARSED_REFERENCE, (whole, name: string) => {
      const found = vars[name] ?? process.env[name];
      if (found !== undefined) return found;
      missing.add(name);
      return whole;
    });
  }
  if (Array.isArray(value)) return value.map((item) => resolveReferences(item, vars, missing));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k.replace(STAND_IN, '$${$1}'),
        resolveReferences(v, vars, missing),
      ]),
    );
  }
  return value;
}
