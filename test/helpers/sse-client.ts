import { setTimeout as sleep } from 'node:timers/promises';

/** One server-sent event as a client sees it (`comment` for `: ...` lines). */
export interface SseMessage {
  readonly id?: string;
  readonly event?: string;
  readonly data?: string;
  readonly comment?: string;
}

/**
 * A minimal SSE client over fetch (Node 20 has no EventSource): parses the stream as it arrives
 * into `messages`; `until` waits for a condition on them.
 */
export interface SseConnection {
  readonly response: Response;
  readonly messages: SseMessage[];
  /** Change events (`event: change`) with their data parsed. */
  changes(): { id: string; data: Record<string, unknown> }[];
  /** Resolves once `check` holds on the messages, or rejects after `timeoutMs`. */
  until(check: (messages: SseMessage[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Resolves when the server ended the stream (true) or it was cut (false). */
  readonly ended: Promise<boolean>;
  close(): void;
}

export async function connectSse(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  const abort = new AbortController();
  const response = await fetch(url, { headers, signal: abort.signal });
  const messages: SseMessage[] = [];
  const ended = (async () => {
    if (!response.body || !response.headers.get('content-type')?.startsWith('text/event-stream')) return true;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          messages.push(parse(buffer.slice(0, end)));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
        }
      }
      return true;
    } catch {
      return false;
    }
  })();
  return {
    response,
    messages,
    changes: () =>
      messages
        .filter((m) => m.event === 'change')
        .map((m) => ({ id: m.id!, data: JSON.parse(m.data!) as Record<string, unknown> })),
    async until(check, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      while (!check(messages)) {
        if (Date.now() > end) {
          throw new Error(`timed out; messages so far: ${JSON.stringify(messages.slice(-5))}`);
        }
        await sleep(10);
      }
    },
    ended,
    close: () => abort.abort(),
  };
}

function parse(block: string): SseMessage {
  const message: { id?: string; event?: string; data?: string; comment?: string } = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) message.comment = line.slice(1).trim();
    else {
      const colon = line.indexOf(':');
      const field = line.slice(0, colon);
      const value = line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') message.data = message.data === undefined ? value : `${message.data}\n${value}`;
      else if (field === 'id' || field === 'event') message[field] = value;
    }
  }
  return message;
}
