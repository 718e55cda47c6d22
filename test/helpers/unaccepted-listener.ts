import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

/**
 * A loopback port whose connections are never accepted, to test connect timeouts without leaving
 * the machine: a worker thread listens with a backlog of 1 and then blocks, so nothing accepts;
 * the kernel completes the first handshakes into the backlog (`fill()` takes them), after which it
 * drops every SYN and a connect hangs until the client gives up.
 */
export async function unacceptedListener(): Promise<{ url: string; close(): Promise<void> }> {
  const release = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const server = require('node:net').createServer();
     server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
       parentPort.postMessage(server.address().port);
       Atomics.wait(workerData, 0, 0);
       server.close();
     });`,
    { eval: true, workerData: release },
  );
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  // Fill the backlog with connections that complete (the kernel answers for the listener).
  const held: Socket[] = [];
  for (let queued = 0; queued < 8; queued++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    held.push(socket);
    const connected = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      setTimeout(() => resolve(false), 300).unref();
    });
    if (!connected) break; // this one hangs: the backlog is full
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const socket of held) socket.destroy();
      Atomics.store(release, 0, 1);
      Atomics.notify(release, 0);
      await worker.terminate();
    },
  };
}
