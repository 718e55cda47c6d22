import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';

const MODULE = resolve(import.meta.dirname, 'stop-signal.ts');

// A real process: the first SIGTERM resolves `first` (the command stops cleanly, slowly here);
// the second exits at once with 143 after `beforeExit`.
it('resolves the first signal, and exits 143 at the second at once', async () => {
  const script = `
    const { writeSync } = await import('node:fs');
    const { stopSignal } = await import(${JSON.stringify(MODULE)});
    const stop = stopSignal();
    const alive = setInterval(() => {}, 1000); // as a command's server or timers keep it alive
    console.log('ready');
    const signal = await stop.first;
    console.log('first ' + signal);
    // Written synchronously: process.exit drops what a pipe has not taken yet.
    stop.onSecond(() => writeSync(1, 'before exit\\n'));
    setTimeout(() => { console.log('clean stop took too long'); process.exit(0); }, 20000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.endsWith('ready\n')) child.kill('SIGTERM');
    else if (out.endsWith('first SIGTERM\n')) child.kill('SIGTERM');
  });
  const [code] = await once(child, 'close');
  expect(out).toBe('ready\nfirst SIGTERM\nbefore exit\n');
  expect(code).toBe(143);
}, 30_000);
