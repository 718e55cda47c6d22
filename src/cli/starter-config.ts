/**
 * What `syncline init` writes: a starter config, in YAML or TypeScript, for a Stripe-like REST API
 * (a `data` array, `next_cursor` and `has_more` in the body, an `updated_since` filter, a bearer
 * token), commented where a choice is made, and the `.env.example` of the variables it reads.
 * Both load as written (test/cli/init-command.test.ts checks and probes them against the
 * simulator, whose default list style is that API's).
 */
export interface StarterConfig {
  /** The config's file name, in the working directory. */
  readonly file: string;
  readonly text: string;
}

/** The environment variables the starters read, with placeholder values and what they are. */
export const STARTER_ENV_EXAMPLE = `# The environment variables syncline.config.* reads. Copy this file to .env, put in the real
# values, and load it into the environment before running syncline (for instance
# \`set -a; . ./.env; set +a\`, or your process manager's env file). Never commit .env.

# The API's base URL, without a trailing slash.
API_URL=https://api.example.com
# The API token, sent as \`Authorization: Bearer <token>\`.
API_TOKEN=replace-me

# Optional: where the records go, instead of the config's \`store\` (a postgres:// URL's password
# belongs here, not in the config).
# SYNCLINE_STORE=postgres://user:password@localhost:5432/mydb
`;

const YAML = `# Syncline config: what to read, and where to keep it.
#   npx syncline check            validates it (and names unset environment variables)
#   npx syncline check --probe    also reads one page of each stream and shows its key, cursor, version
#   npx syncline sync             runs it
# \${NAME} is read from the environment (see .env.example); keep it quoted, so YAML reads a string.
# Every option: README "Configuration" and docs/http-sources.md.

# Where the records go: a SQLite file (created by the first sync), or a postgres:// URL.
# SYNCLINE_STORE in the environment wins over this line: a database password belongs there.
store: syncline.db

streams:
  # One stream is one list of the API, kept in one table named after the stream.
  - name: customers
    # The field that identifies a record (a list for a composite key: [symbol, interval, open_time]).
    key: id
    # The field that orders records by when they changed: incremental reads start from its newest
    # value, and the lag shown by \`syncline status\` is measured with it.
    cursor: updated_at
    # Optional: a field whose higher value is a newer state of the record, so an old copy never
    # overwrites a newer one. Without it, the content hash decides whether a record changed.
    version: version
    request:
      baseUrl: "\${API_URL}"
      path: /v1/customers
    # Credentials are named by the environment variable that holds them, never written here.
    auth: { type: bearer, tokenEnv: API_TOKEN }
    # Where the records are in the body: the array at \`data\`.
    records: data
    # How one page leads to the next. Here an opaque token: \`next_cursor\` in the body, sent back as
    # \`cursor=\`, until \`has_more\` is false. Others: link (Link headers), keyset, page, offset, window.
    pagination: { type: cursor, tokenPath: next_cursor, hasMorePath: has_more }
    pageSize: 100
    # Incremental reads: each run asks only for records changed since the newest cursor value it has
    # (\`updated_since=\`), minus a lookback that catches late writes (an unchanged record costs no
    # write), and never reads closer to now than the safety lag. Remove it to read everything each run.
    incremental: { param: updated_since, lookback: 1h, safetyLag: 2s }

sync:
  # Streams one \`syncline sync\` runs at once.
  concurrency: 4
`;

const TYPESCRIPT = `// Syncline config: what to read, and where to keep it.
//   npx syncline check            validates it (and names unset environment variables)
//   npx syncline check --probe    also reads one page of each stream and shows its key, cursor, version
//   npx syncline sync             runs it
// No build step: the CLI loads this file itself, and 'syncline' is the CLI's own package (install it
// in the project too, for your editor's types). Every option: README "Configuration".
import { defineConfig, defineStream, FatalError, http, TransientError } from 'syncline';

/** An environment variable this config needs (see .env.example): set, or the config does not load. */
function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(\`environment variable \${name} is not set (see .env.example)\`);
  return value;
}

export default defineConfig({
  // Where the records go: a SQLite file (created by the first sync), or a postgres:// URL.
  // SYNCLINE_STORE in the environment wins over this line: a database password belongs there.
  store: 'syncline.db',
  streams: [
    // A REST API described rather than programmed. One stream is one list of the API, kept in one
    // table named after the stream.
    http.stream({
      name: 'customers',
      // The field that identifies a record (a list for a composite key: ['symbol', 'open_time']).
      key: 'id',
      // The field that orders records by when they changed: incremental reads start from its newest
      // value, and the lag shown by \`syncline status\` is measured with it.
      cursor: 'updated_at',
      // Optional: a field whose higher value is a newer state of the record, so an old copy never
      // overwrites a newer one. Without it, the content hash decides whether a record changed.
      version: 'version',
      request: { baseUrl: env('API_URL'), path: '/v1/customers' },
      // Credentials are named by the environment variable that holds them, never written here.
      auth: { type: 'bearer', tokenEnv: 'API_TOKEN' },
      // Where the records are in the body: the array at \`data\`.
      records: 'data',
      // How one page leads to the next. Here an opaque token: \`next_cursor\` in the body, sent back
      // as \`cursor=\`, until \`has_more\` is false. Others: link, keyset, page, offset, window.
      pagination: { type: 'cursor', tokenPath: 'next_cursor', hasMorePath: 'has_more' },
      pageSize: 100,
      // Incremental reads: each run asks only for records changed since the newest cursor value it
      // has (\`updated_since=\`), minus a lookback that catches late writes (an unchanged record costs
      // no write), and never reads closer to now than the safety lag. Remove it to read everything.
      incremental: { param: 'updated_since', lookback: '1h', safetyLag: '2s' },
    }),

    // Anything else is a custom source: an async generator of pages. Each page carries the
    // checkpoint to resume after it (committed with its records), so a killed run resumes there.
    defineStream({
      name: 'orders',
      key: 'id',
      cursor: 'updated_at',
      async *source({ checkpoint, signal, attempt, secret, report }) {
        let cursor = (checkpoint as { cursor?: string } | null)?.cursor ?? null;
        for (;;) {
          const after = cursor ? \`&cursor=\${encodeURIComponent(cursor)}\` : '';
          const url = \`\${env('API_URL')}/v1/orders?limit=100\${after}\`;
          // attempt() runs one request under sync.retry: a TransientError is retried with backoff.
          const body = await attempt(
            async () => {
              const headers = { authorization: \`Bearer \${secret('API_TOKEN')}\` };
              const res = await fetch(url, { signal, headers });
              if (res.status === 429 || res.status >= 500) throw new TransientError(\`GET \${url}: \${res.status}\`);
              if (!res.ok) throw new FatalError(\`GET \${url}: \${res.status}; check API_URL and API_TOKEN\`);
              return (await res.json()) as {
                data: { id: string; updated_at: string }[];
                has_more: boolean;
                next_cursor: string | null;
              };
            },
            { what: \`GET \${url}\` },
          );
          report({ apiCalls: 1 });
          cursor = body.next_cursor ?? cursor;
          yield { records: body.data, checkpoint: { cursor } };
          if (!body.has_more) return;
        }
      },
    }),
  ],
  sync: {
    // Streams one \`syncline sync\` runs at once.
    concurrency: 4,
  },
});
`;

/** The starter config of a format. */
export function starterConfig(format: 'yaml' | 'ts'): StarterConfig {
  return format === 'yaml'
    ? { file: 'syncline.config.yaml', text: YAML }
    : { file: 'syncline.config.ts', text: TYPESCRIPT };
}
