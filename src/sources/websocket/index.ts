import { webSocketStream } from './websocket-stream.ts';

export type { PollConfig, WebSocketConfig, WebSocketStreamConfig } from './websocket-stream-config.ts';

/** WebSocket sources, gap-filled over REST: `websocket.stream({ name, key, websocket, poll })`. */
export const websocket = { stream: webSocketStream } as const;
