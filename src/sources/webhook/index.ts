import { webhookStream } from './webhook-stream.ts';

export type { WebhookScheme } from './webhook-signature.ts';
export type { WebhookReceiveConfig, WebhookStreamConfig } from './webhook-stream-config.ts';

/** Webhook streams: `webhook.stream({ name, key, webhook: { scheme, secretsEnv, ... }, poll })`. */
export const webhook = { stream: webhookStream } as const;
