/**
 * Ports fetch refuses to connect to: the WHATWG Fetch standard's "bad ports" (ports of other
 * protocols, such as SMTP's 25 or X11's 6000, which a request could be abused to talk to), as
 * Node's fetch (undici) lists them. A test checks that Node's fetch refuses each.
 */
export const BAD_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104,
  109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515,
  526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
  3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/**
 * Why fetch can never get this URL, as the rest of a sentence naming the field (`request.baseUrl:
 * must be ...`), or null when it can: it must be absolute, http or https, and not on a bad port.
 * Config validation and the requester both ask, so such a URL is refused before any request and,
 * should one still reach the requester, fails at once instead of being retried.
 */
export function urlProblem(url: string | URL): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an absolute URL, starting with http:// or https://';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `must be an http:// or https:// URL; fetch cannot get a "${parsed.protocol}" URL`;
  }
  const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
  if (BAD_PORTS.has(port)) {
    return (
      `port ${port} is one fetch refuses to connect to (a port of another protocol, on the WHATWG fetch ` +
      `standard's "bad ports" list); use the port the API is served on`
    );
  }
  return null;
}
