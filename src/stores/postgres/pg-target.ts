/**
 * `host:port/database` of a PostgreSQL URL, for messages: libpq's defaults fill what the URL leaves
 * out (host `localhost`, port 5432, database named after the user). Never includes credentials.
 */
export function pgTarget(url: URL): string {
  const host = url.hostname || url.searchParams.get('host') || 'localhost';
  const port = url.port || url.searchParams.get('port') || '5432';
  const database =
    decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username) || 'postgres';
  return `${host}:${port}/${database}`;
}
