/** One link of a `Link` header: its target as written and its parameters (names lower-cased). */
export interface LinkValue {
  readonly target: string;
  readonly params: Readonly<Record<string, string>>;
  /** The relation types of `rel`, lower-cased (`rel="next last"` gives two). */
  readonly rels: readonly string[];
}

/**
 * Parses a `Link` header (RFC 8288): several comma-separated links (also several headers joined
 * with commas), parameters as tokens or quoted strings with backslash escapes, commas and
 * semicolons inside quotes or inside `<...>`, `rel` as a space-separated list. Only the first
 * occurrence of a parameter counts, as the RFC says for `rel`. Malformed parts are skipped, never
 * thrown on: a broken header only means "no next link".
 */
export function parseLinkHeader(header: string): LinkValue[] {
  const links: LinkValue[] = [];
  let at = 0;
  while (at < header.length) {
    const open = header.indexOf('<', at);
    if (open < 0) break;
    const close = header.indexOf('>', open + 1);
    if (close < 0) break;
    const target = header.slice(open + 1, close).trim();
    const params: Record<string, string> = {};
    at = close + 1;
    // Parameters until the comma that ends this link (commas inside quotes do not count).
    while (at < header.length) {
      at = skipSpace(header, at);
      const c = header[at];
      if (c === ',') {
        at++;
        break;
      }
      if (c !== ';') {
        at = skipTo(header, at, ',;');
        continue;
      }
      at = skipSpace(header, at + 1);
      const nameEnd = scanToken(header, at);
      const name = header.slice(at, nameEnd).toLowerCase();
      at = skipSpace(header, nameEnd);
      let value = '';
      if (header[at] === '=') {
        at = skipSpace(header, at + 1);
        if (header[at] === '"') [value, at] = readQuoted(header, at + 1);
        else {
          const end = scanToken(header, at);
          value = header.slice(at, end);
          at = end;
        }
      }
      if (name !== '' && !(name in params)) params[name] = value;
    }
    const rels = (params.rel ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    links.push({ target, params, rels });
  }
  return links;
}

/** The target of the first link whose relations include `rel`, resolved against `base`; null if none. */
export function findLink(header: string | undefined, rel: string, base: string): string | null {
  if (header === undefined || header === '') return null;
  const wanted = rel.toLowerCase();
  for (const link of parseLinkHeader(header)) {
    if (!link.rels.includes(wanted)) continue;
    try {
      return new URL(link.target, base).href;
    } catch {
      return null;
    }
  }
  return null;
}

function skipSpace(text: string, at: number): number {
  while (at < text.length && (text[at] === ' ' || text[at] === '\t')) at++;
  return at;
}

/** Skips to the next of `stops` outside quotes. */
function skipTo(text: string, at: number, stops: string): number {
  while (at < text.length && !stops.includes(text[at]!)) {
    if (text[at] === '"') [, at] = readQuoted(text, at + 1);
    else at++;
  }
  return at;
}

/** The end of a token (or of a bare parameter value): stops at separators and spaces. */
function scanToken(text: string, at: number): number {
  while (at < text.length && !' \t,;="'.includes(text[at]!)) at++;
  return at;
}

/** Reads a quoted string whose opening quote is just before `at`; returns the value and the index after it. */
function readQuoted(text: string, at: number): [string, number] {
  let value = '';
  while (at < text.length) {
    const c = text[at]!;
    if (c === '\\' && at + 1 < text.length) {
      value += text[at + 1];
      at += 2;
    } else if (c === '"') {
      return [value, at + 1];
    } else {
      value += c;
      at++;
    }
  }
  return [value, at];
}
