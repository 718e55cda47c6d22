import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
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
 * environment variable NAME (`vars` first; a missing one is an error naming it). Keys are left as
 * written.
 *
 * A reference may be written bare or quoted, anywhere a string goes: `baseUrl: ${API_URL}`,
 * `request: { baseUrl: ${API_URL}, path: /v1/${TENANT}/items }` and `baseUrl: "${API_URL}"` all
 * read the same. Inside a YAML flow map `{ ... }` braces would otherwise open a nested map, so the
 * reference's braces are swapped for stand-ins before parsing, and values are substituted only
 * after it: a value is never parsed as YAML, and one holding `: `, `#` or a newline stays one string.
 */
export function readDeclarativeFile(
  path: string,
  shown: string,
  vars: Readonly<Record<string, string>> = {},
): unknown {
  return resolveReferences(parseDeclarative(path, shown), shown, vars);
}

function parseDeclarative(path: string, shown: string): unknown {
  const text = readFileSync(path, 'utf8');
  if (/\.json$/i.test(path)) {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`${shown}: not valid JSON: ${describeError(error)}`);
    }
  }
  const doc = parseDocument(text.replace(REFERENCE, `$$${OPEN}$1${CLOSE}`), { prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const at = first.linePos?.[0];
    throw new ConfigError(
      `${shown}${at ? `:${at.line}:${at.col}` : ''}: not valid YAML: ${first.message.split('\n')[0]}`,
    );
  }
  return doc.toJS();
}

function resolveReferences(value: unknown, shown: string, vars: Readonly<Record<string, string>>): unknown {
  if (typeof value === 'string') {
    return value.replace(PARSED_REFERENCE, (_, name: string) => {
      const found = vars[name] ?? process.env[name];
      if (found === undefined)
        throw new ConfigError(`${shown}: uses \${${name}}, but environment variable ${name} is not set`);
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((item) => resolveReferences(item, shown, vars));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k.replace(STAND_IN, '$${$1}'),
        resolveReferences(v, shown, vars),
      ]),
    );
  }
  return value;
}
