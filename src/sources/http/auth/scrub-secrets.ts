import { scrubSecret } from '../../../core/redact-url.ts';

/**
 * `text` with every secret replaced by `***`, in each form it may take on the way out: as is,
 * URL-encoded (a key in a query string), form-encoded (a token request body) and base64 (inside
 * a Basic header when a caller encoded it alone). Longer secrets go first, so a secret that
 * contains another is not left half-masked.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    forms.add(new URLSearchParams({ s: secret }).toString().slice(2));
    forms.add(Buffer.from(secret, 'utf8').toString('base64'));
  }
  let out = text;
  // core's scrubSecret also removes the URL-decoded form of each one.
  for (const form of [...forms].sort((a, b) => b.length - a.length)) out = scrubSecret(out, form);
  return out;
}
