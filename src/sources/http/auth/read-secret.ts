import { ConfigError } from '../../../core/errors.ts';
import type { SecretReader } from '../http-types.ts';

/**
 * Reads a secret through the reader (which throws a ConfigError naming an unset variable) and
 * refuses values that cannot be sent: empty ones, and ones with control characters such as the
 * trailing newline of `TOKEN="$(cat token.txt)"` gone wrong, which would break a header. The
 * message names the variable, never the value.
 */
export function readSecret(secret: SecretReader, name: string): string {
  const value = secret(name);
  if (value.length === 0)
    throw new ConfigError(`environment variable ${name} is empty; set it to the secret`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we look for
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new ConfigError(
      `environment variable ${name} contains a control character (a line break?); remove it`,
    );
  }
  return value;
}
