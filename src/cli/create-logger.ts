import { pino } from 'pino';
import type { Logger } from '../core/types.ts';

/** Field names whose values never reach a log line. */
const SECRET_FIELDS = ['password', 'token', 'secret', 'authorization', 'apiKey', 'api_key', 'url'];

/**
 * JSON lines (pino) on stderr, or short human lines for a terminal. stdout is kept for command
 * output (`--json`).
 */
export function createLogger(format: 'json' | 'pretty', level = 'info'): Logger {
  if (format === 'json') {
    return pino(
      {
        level,
        base: { app: 'syncline' },
        redact: { paths: SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]), censor: '[redacted]' },
      },
      pino.destination({ fd: 2, sync: true }),
    );
  }
  const order = ['debug', 'info', 'warn', 'error'];
  const min = Math.max(0, order.indexOf(level));
  const line = (lvl: string) => (obj: object | string, msg?: string) => {
    if (order.indexOf(lvl) < min) return;
    const [fields, text] = typeof obj === 'string' ? [{}, obj] : [obj, msg ?? ''];
    const extra = Object.entries(fields)
      .filter(([k]) => !SECRET_FIELDS.includes(k))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    const tag = lvl === 'info' ? '' : `${lvl.toUpperCase()} `;
    process.stderr.write(`${tag}${text}${extra ? `  ${extra}` : ''}\n`);
  };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}
