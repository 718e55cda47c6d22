import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Whether an `Authorization` header carries `token` as a bearer token, compared in constant time:
 * both sides are hashed first (SHA-256), so neither the comparison nor the lengths compared depend
 * on how much of the token a caller guessed right.
 */
export function hasBearerToken(header: string | undefined, token: string): boolean {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  const given = match?.[1] ?? '';
  // Hashed even when the header is missing or malformed, so a refusal takes the same time.
  const equal = timingSafeEqual(digest(given), digest(token));
  return match !== null && equal;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
