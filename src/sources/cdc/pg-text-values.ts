/**
 * Column values as PostgreSQL prints them (the text format, which both the snapshot's queries and
 * `pgoutput` send), made into JSON by the column's type, the same way for both so a row read in the
 * snapshot and the same row decoded from the WAL hash alike:
 * booleans and small integers as JSON, `bigint` as a number when it is a safe integer (else text),
 * `numeric` as text (exact), floats as numbers (`NaN`/`Infinity` as text), `json`/`jsonb` as JSON,
 * `bytea` as base64, `timestamptz` as ISO-8601 UTC with its microseconds (`2024-05-01T10:00:00.123456Z`),
 * `timestamp` as ISO-8601 without a zone, arrays as JSON arrays of their elements, everything else
 * (text, uuid, date, time, interval, enums, ranges, ...) as the server's text. Sessions must use
 * `TimeZone=UTC`, `DateStyle=ISO` and `bytea_output=hex` (`SESSION_OPTIONS`).
 */

/** The `options` both connections are opened with, so values print the same way on both. */
export const SESSION_OPTIONS =
  '-c TimeZone=UTC -c DateStyle=ISO -c bytea_output=hex -c extra_float_digits=1 -c IntervalStyle=iso_8601';

const BOOL = 16;
const BYTEA = 17;
const INT8 = 20;
const INT2 = 21;
const INT4 = 23;
const OID = 26;
const JSON_TYPE = 114;
const FLOAT4 = 700;
const FLOAT8 = 701;
const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;
const JSONB = 3802;

/** Array type oid -> element type oid, for the built-in types above. */
const ARRAY_ELEMENTS = new Map<number, number>([
  [1000, BOOL],
  [1001, BYTEA],
  [1016, INT8],
  [1005, INT2],
  [1007, INT4],
  [1028, OID],
  [199, JSON_TYPE],
  [1021, FLOAT4],
  [1022, FLOAT8],
  [1115, TIMESTAMP],
  [1185, TIMESTAMPTZ],
  [3807, JSONB],
  [1231, 1700], // numeric[]
  [1009, 25], // text[]
  [1015, 1043], // varchar[]
  [2951, 2950], // uuid[]
  [1182, 1082], // date[]
]);

/** One column's value from its text (null stays null). */
export function pgTextToJson(typeOid: number, text: string | null): unknown {
  if (text === null) return null;
  const element = ARRAY_ELEMENTS.get(typeOid);
  if (element !== undefined) return parseArray(text, (item) => pgTextToJson(element, item));
  switch (typeOid) {
    case BOOL:
      return text === 't';
    case INT2:
    case INT4:
    case OID:
      return Number(text);
    case INT8: {
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    case FLOAT4:
    case FLOAT8: {
      const n = Number(text);
      return Number.isFinite(n) ? n : text;
    }
    case JSON_TYPE:
    case JSONB:
      return JSON.parse(text);
    case BYTEA:
      return text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex').toString('base64') : text;
    case TIMESTAMPTZ:
      return isoTimestamp(text, true);
    case TIMESTAMP:
      return isoTimestamp(text, false);
    default:
      return text;
  }
}

/** `2024-05-01 10:00:00.123456+00` -> `2024-05-01T10:00:00.123456Z`; infinity and BC stay text. */
function isoTimestamp(text: string, zoned: boolean): string {
  const match = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)(\+00)?$/.exec(text);
  if (!match) return text;
  return `${match[1]}T${match[2]}${zoned ? 'Z' : ''}`;
}

/**
 * A PostgreSQL array literal (`{1,2,NULL}`, `{"a b","c\"d"}`, `{{1,2},{3,4}}`) as nested JS arrays,
 * each element through `item` (NULL as null).
 */
export function parseArray(text: string, item: (text: string | null) => unknown): unknown {
  let i = 0;
  // A leading dimension decoration (`[0:2]={...}`) is skipped.
  if (text[0] === '[') i = text.indexOf('=') + 1;
  const parse = (): unknown[] => {
    if (text[i] !== '{') throw new Error(`not an array literal: ${text}`);
    i++;
    const out: unknown[] = [];
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      if (text[i] === '{') {
        out.push(parse());
      } else if (text[i] === '"') {
        i++;
        let value = '';
        while (text[i] !== '"') {
          if (text[i] === '\\') i++;
          value += text[i];
          i++;
        }
        i++;
        out.push(item(value));
      } else {
        let end = i;
        while (text[end] !== ',' && text[end] !== '}') end++;
        const raw = text.slice(i, end);
        i = end;
        out.push(raw === 'NULL' ? null : item(raw));
      }
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return out;
      }
      throw new Error(`not an array literal: ${text}`);
    }
  };
  return parse();
}
