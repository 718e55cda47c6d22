import { brokerStream } from './broker-stream.ts';

export type {
  BrokerConfig,
  BrokerStart,
  BrokerStreamConfig,
  NatsBrokerConfig,
  RedisBrokerConfig,
} from './broker-stream-config.ts';

/** Change events from a broker: `broker.stream({ name, key, format, broker: { nats } | { redis } })`. */
export const broker = { stream: brokerStream } as const;
