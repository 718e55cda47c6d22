import type { ZodError } from 'zod';
import { ConfigError, describeError, NotFoundError } from '../core/errors.ts';

/** What an error answer carries: `{ error: { code, message } }`, one line, no internals. */
export interface ApiErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

/** An answer the API gives on purpose (bad input, no token, too large...): its status and body. */
export class ApiError extends Error {
  readonly status: 400 | 401 | 404 | 413 | 500 | 503 | 504;
  readonly code: string;
  constructor(status: ApiError['status'], code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }

  toBody(): ApiErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

/**
 * A zod failure as one line, naming where it is (`limit: must be a whole number from 1 to 500`);
 * `where` names the whole input (`body`, `query`) for issues about it rather than one field.
 */
export function badInput(error: ZodError, where: string): ApiError {
  const issue = error.issues[0];
  if (!issue) return new ApiError(400, 'bad_request', `${where}: is not valid`);
  const field = issue.path.length > 0 ? issue.path.join('.') : where;
  const message =
    issue.code === 'unrecognized_keys'
      ? `unknown ${issue.keys.length === 1 ? 'field' : 'fields'} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
      : issue.message;
  return new ApiError(400, 'bad_request', `${field}: ${message}`);
}

/**
 * What the API answers for an error a handler threw: Syncline's typed errors by their kind, an
 * `ApiError` as it says, anything else as a 500 that tells nothing of the internals (the caller
 * logs it).
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof NotFoundError) return new ApiError(404, 'not_found', describeError(error));
  if (error instanceof ConfigError) return new ApiError(400, 'bad_request', describeError(error));
  return new ApiError(500, 'internal', 'internal error; the service log has the details');
}
