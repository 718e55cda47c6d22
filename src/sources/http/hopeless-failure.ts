/**
 * TLS errors about the server's certificate (Node's and OpenSSL's codes, found on the `cause` of
 * a failed fetch): the same certificate will be refused again, so retrying only delays the news.
 */
const CERTIFICATE_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_TLS_CERT_ALTNAME_FORMAT',
]);

/**
 * Why a failed fetch can never succeed, however often it is tried, as the rest of a sentence
 * naming the request; null when a later attempt may succeed (refused or reset connections,
 * timeouts, DNS hiccups: an API restarting looks like these). Looks down the `cause` chain, where
 * fetch (undici) puts what happened under its `TypeError: fetch failed`.
 */
export function hopelessFailure(error: unknown): string | null {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && CERTIFICATE_CODES.has(code)) {
      return (
        `the server's TLS certificate is not trusted (${code}${typeof message === 'string' ? `: ${message}` : ''}); ` +
        "retrying cannot help: fix the server's certificate, or trust the CA that signed it with " +
        'NODE_EXTRA_CA_CERTS=<ca.pem>'
      );
    }
    if (code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
      return 'the server does not speak TLS on this port; is the URL https:// where the API serves plain http://?';
    }
    // Refusals by fetch itself, before any connection (undici gives them no code).
    if (message === 'unknown scheme')
      return 'fetch cannot get a URL of this scheme; use an http:// or https:// URL';
    if (message === 'bad port') {
      return 'fetch refuses to connect to this port (one of another protocol); use the port the API is served on';
    }
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}
