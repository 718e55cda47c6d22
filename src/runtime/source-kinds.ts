import type { z } from 'zod';
import { streamBehaviourFields } from '../config/config-schema.ts';
import type { AnyStreamDefinition } from '../core/stream-definition.ts';
import { brokerStream } from '../sources/broker/broker-stream.ts';
import type { BrokerStreamConfig } from '../sources/broker/broker-stream-config.ts';
import { brokerStreamSchema } from '../sources/broker/broker-stream-schema.ts';
import { cdcStream } from '../sources/cdc/cdc-stream.ts';
import type { CdcStreamConfig } from '../sources/cdc/cdc-stream-config.ts';
import { cdcStreamSchema } from '../sources/cdc/cdc-stream-schema.ts';
import { fileStream } from '../sources/file/file-stream.ts';
import type { FileStreamConfig } from '../sources/file/file-stream-config.ts';
import { fileStreamSchema } from '../sources/file/file-stream-schema.ts';
import { httpStream } from '../sources/http/http-stream.ts';
import type { HttpStreamConfig } from '../sources/http/http-stream-config.ts';
import { httpStreamSchema } from '../sources/http/http-stream-schema.ts';
import { webhookStream } from '../sources/webhook/webhook-stream.ts';
import type { WebhookStreamConfig } from '../sources/webhook/webhook-stream-config.ts';
import { webhookStreamSchema } from '../sources/webhook/webhook-stream-schema.ts';
import { webSocketStream } from '../sources/websocket/websocket-stream.ts';
import type { WebSocketStreamConfig } from '../sources/websocket/websocket-stream-config.ts';
import { webSocketStreamSchema } from '../sources/websocket/websocket-stream-schema.ts';
import { type Kind, KindRegistry } from './kind-registry.ts';

/**
 * A kind of source a declarative (YAML/JSON) config can name with a stream's `type:`: the schema of
 * one such stream (strict, with the fields every stream may have) and how to build its definition.
 * Code configs build definitions themselves (`http.stream({...})`, `defineStream`).
 */
export interface SourceKind extends Kind {
  readonly schema: z.ZodType;
  /** The stream a config that passed `schema` describes (its `type:` removed). */
  create(config: unknown): AnyStreamDefinition;
}

/**
 * The source kinds of declarative configs; `http` is the default `type:`. A new kind (webhook, cdc,
 * websocket, file) registers here with its schema, from its folder under `sources/`.
 */
export const SOURCE_KINDS = new KindRegistry<SourceKind>('source kind')
  .register({
    kind: 'http',
    schema: httpStreamSchema.extend(streamBehaviourFields),
    create: (config) => httpStream(config as HttpStreamConfig),
  })
  .register({
    kind: 'webhook',
    schema: webhookStreamSchema.extend(streamBehaviourFields),
    create: (config) => webhookStream(config as WebhookStreamConfig),
  })
  .register({
    kind: 'websocket',
    schema: webSocketStreamSchema.extend(streamBehaviourFields),
    create: (config) => webSocketStream(config as WebSocketStreamConfig),
  })
  .register({
    kind: 'cdc',
    schema: cdcStreamSchema.extend(streamBehaviourFields),
    create: (config) => cdcStream(config as CdcStreamConfig),
  })
  .register({
    kind: 'broker',
    schema: brokerStreamSchema.extend(streamBehaviourFields),
    create: (config) => brokerStream(config as BrokerStreamConfig),
  })
  .register({
    kind: 'file',
    schema: fileStreamSchema.extend(streamBehaviourFields),
    create: (config) => fileStream(config as FileStreamConfig),
  });

/** The `type:` a declarative stream without one has. */
export const DEFAULT_SOURCE_KIND = 'http';
