import { pino } from 'pino';
import type { Logger } from '../core/types.ts';
import { StderrLines } from './stderr-lines.ts';
import { TerminalStyle } from './terminal-style.ts';

/** The levels `--log-level` takes, finest first: `debug` logs each HTTP request, `trace` adds its rate-limit headers and attempt. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

/** Field names whose values never reach a log line. */
const SECRET_FIELDS = ['password', 'token', 'secret', 'authorization', 'apiKey', 'api_key', 'url'];

/**
 * JSON lines (pino) on stderr, or short human lines for a terminal. stdout is kept for command
 * output (`--json`). `color` colours the human lines (warnings yellow, errors red, fields muted);
 * JSON lines are never coloured. Human lines go through `lines`, which live progress lines divert
 * while they are drawn (default: straight to stderr).
 */
export function createLogger(
  format: 'json' | 'pretty',
  level = 'info',
  color = false,
  lines: StderrLines = new StderrLines(),
): Logger {
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
  const style = new TerminalStyle(color);
  const order: readonly string[] = LOG_LEVELS;
  const min = Math.max(0, order.indexOf(level));
  const line = (lvl: string) => (obj: object | string, msg?: string) => {
    if (order.indexOf(lvl) < min) return;
    const [fields, text] = typeof obj === 'string' ? [{}, obj] : [obj, msg ?? ''];
    const extra = Object.entries(fields)
      .filter(([k]) => !SECRET_FIELDS.includes(k))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    const tag =
      lvl === 'info'
        ? ''
        : `${lvl === 'error' ? style.bad('ERROR') : lvl === 'warn' ? style.warn('WARN') : style.muted(lvl.toUpperCase())} `;
    lines.write(`${tag}${text}${extra ? `  ${style.muted(extra)}` : ''}\n`);
  };
  return {
    level: order[min]!,
    trace: line('trace'),
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
  };
}
