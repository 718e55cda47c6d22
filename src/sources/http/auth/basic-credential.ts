/** The base64 `user:password` credential of an HTTP Basic header (RFC 7617, UTF-8). */
export function basicCredential(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}
