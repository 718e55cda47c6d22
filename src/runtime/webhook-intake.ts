import type { ResolvedConfig } from '../config/load-config.ts';
import { readEnvSecret } from '../config/load-config.ts';
import { nowIso } from '../core/clock.ts';
import { describeError } from '../core/errors.ts';
import type { PushReceiver, PushRequest } from '../core/push.ts';
import type { InboxStore } from '../core/store.ts';
import type { Logger } from '../core/types.ts';

/** How the receiver answered a pushed request: its status and JSON body. */
export interface WebhookAnswer {
  readonly status: 200 | 400 | 401 | 404 | 409 | 413 | 503;
  readonly body:
    | { readonly received: true; readonly id: number; readonly duplicate: boolean }
    | { readonly error: { readonly code: string; readonly message: string } };
}

/** The webhook side of `syncline run`: one receiver per webhook stream of the config. */
export interface WebhookIntake {
  /** The body limit of stream `name`'s webhooks, or null when it takes none (answer 404). */
  bodyLimit(name: string): number | null;
  /**
   * Checks a request, writes the event into the inbox (durable before this resolves) and asks for
   * a run of the stream, which applies it; a redelivered event is answered as a duplicate.
   */
  receive(name: string, request: PushRequest): Promise<WebhookAnswer>;
}

/**
 * Builds the receivers of the config's webhook streams, reading their secrets now, so a missing
 * one stops the service's start with its one-line error. `apply(stream)` asks for a sync of the
 * stream (the scheduler runs it once free; a sync already waiting is not asked twice).
 */
export function createWebhookIntake(args: {
  readonly config: ResolvedConfig;
  readonly store: Pick<InboxStore, 'addInboxEvent'>;
  readonly apply: (stream: string) => void;
  readonly log: Logger;
  readonly now?: () => string;
}): WebhookIntake {
  const receivers = new Map<string, PushReceiver>();
  for (const stream of args.config.streams) {
    if (stream.receive) receivers.set(stream.name, stream.receive(readEnvSecret));
  }
  const now = args.now ?? nowIso;
  const refuse = (status: WebhookAnswer['status'], code: string, message: string): WebhookAnswer => ({
    status,
    body: { error: { code, message } },
  });
  const unknown = (name: string) =>
    refuse(
      404,
      'not_found',
      receivers.size === 0
        ? `no webhook stream "${name}": the config has none (a stream with type: webhook)`
        : `no webhook stream "${name}"; the config's webhook streams: ${[...receivers.keys()].join(', ')}`,
    );
  return {
    bodyLimit: (name) => receivers.get(name)?.maxBodyBytes ?? null,
    async receive(name, request) {
      const receiver = receivers.get(name);
      if (!receiver) return unknown(name);
      const verdict = receiver.accept(request);
      if (!verdict.ok) {
        args.log.warn({ stream: name, status: verdict.status, reason: verdict.reason }, 'webhook refused');
        const code =
          verdict.status === 401
            ? 'unauthorized'
            : verdict.status === 413
              ? 'payload_too_large'
              : 'invalid_request';
        return refuse(verdict.status, code, verdict.reason);
      }
      let stored: { id: number; duplicate: boolean };
      try {
        stored = await args.store.addInboxEvent({
          stream: name,
          eventId: verdict.eventId,
          receivedAt: now(),
          headers: verdict.headers,
          body: request.body.toString('utf8'),
        });
      } catch (error) {
        // Not written: the provider must send it again (a 5xx makes it retry).
        args.log.error({ stream: name, err: describeError(error) }, 'webhook not stored');
        return refuse(503, 'unavailable', 'the event could not be stored; send it again later');
      }
      args.apply(name); // a duplicate too: the first copy may not be applied yet (a restart since)
      return {
        status: stored.duplicate ? receiver.duplicateStatus : 200,
        body: { received: true, id: stored.id, duplicate: stored.duplicate },
      };
    },
  };
}
