import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorAnswer, writeAnswer } from './response-writer.ts';
import { SimulatorRequestError } from './simulator-errors.ts';
import type { SimulatorServer } from './simulator-server.ts';

/** The largest admin request body accepted. */
const MAX_BODY = 64 * 1024;
/** Ground-truth lines written per chunk before yielding to backpressure. */
const LINES_PER_CHUNK = 1000;

async function readJson(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > MAX_BODY) throw new SimulatorRequestError('admin body is larger than 64 KiB', 413);
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new SimulatorRequestError('admin body is not JSON');
  }
}

function json(req: IncomingMessage, res: ServerResponse, value: unknown): void {
  writeAnswer(req, res, { status: 200, headers: {}, body: JSON.stringify(value) }, { kind: null });
}

/**
 * `/_admin/*`: lets a harness in another process drive the simulator. Never subject to auth, limits
 * or faults. Errors are answered 400 by the caller.
 */
export async function handleAdmin(
  sim: SimulatorServer,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const route = `${req.method} ${url.pathname}`;
  if (route === 'GET /_admin/health')
    return json(req, res, { ok: true, seed: sim.seed, datasets: sim.datasetNames });
  if (route === 'GET /_admin/stats') return json(req, res, sim.stats());
  if (route === 'GET /_admin/faults') return json(req, res, sim.faults);
  if (route === 'POST /_admin/faults') return json(req, res, sim.setFaults((await readJson(req)) as object));
  if (route === 'GET /_admin/crm/contacts') return json(req, res, { contacts: sim.crm.contacts() });
  if (route === 'GET /_admin/crm/stats') return json(req, res, sim.crm.stats());
  if (route === 'GET /_admin/crm/requests') return json(req, res, { requests: sim.crm.requests() });
  if (route === 'DELETE /_admin/crm/requests') {
    sim.crm.clearRequests();
    return json(req, res, { ok: true });
  }
  if (route === 'POST /_admin/crm/fail-next') {
    sim.crm.failNext((await readJson(req)) as { status: number });
    return json(req, res, { ok: true });
  }
  if (route === 'GET /_admin/crm') return json(req, res, sim.crm.settings);
  if (route === 'POST /_admin/crm') return json(req, res, sim.crm.configure((await readJson(req)) as object));
  if (route === 'POST /_admin/crm/reset') {
    sim.crm.reset();
    return json(req, res, { ok: true });
  }
  if (route === 'GET /_admin/ws') return json(req, res, sim.wsStatus());
  if (route === 'POST /_admin/ws') {
    sim.setWs((await readJson(req)) as object);
    return json(req, res, sim.wsStatus());
  }
  if (route === 'GET /_admin/mutations') return json(req, res, sim.mutations);
  if (route === 'POST /_admin/mutations')
    return json(req, res, sim.setMutations((await readJson(req)) as object));
  if (route === 'POST /_admin/mutate') {
    const body = (await readJson(req)) as { n?: unknown };
    const n = body.n ?? Number(url.searchParams.get('n') ?? 1);
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      throw new SimulatorRequestError('mutate needs n, a non-negative integer (body {"n": 10} or ?n=10)');
    }
    return json(req, res, sim.mutate(n));
  }
  if (route === 'GET /_admin/datasets') {
    return json(
      req,
      res,
      sim.datasetNames.map((name) => {
        const d = sim.dataset(name);
        return {
          name,
          keyFields: d.kind.keyFields,
          served: d.servedCount,
          created: d.totalCreated,
          revision: d.revision,
          lastModified: new Date(d.lastModifiedMs).toISOString(),
        };
      }),
    );
  }
  const truth = /^GET \/_admin\/ground-truth\/([a-z]+)$/.exec(route);
  if (truth !== null) {
    const entries = sim.groundTruthEntries(truth[1]!);
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson; charset=utf-8' });
    let chunk = '';
    let lines = 0;
    for (const entry of entries) {
      chunk += JSON.stringify(entry) + '\n';
      if (++lines % LINES_PER_CHUNK !== 0) continue;
      if (res.destroyed) return;
      if (!res.write(chunk)) await once(res, 'drain');
      chunk = '';
    }
    res.end(chunk);
    return;
  }
  writeAnswer(req, res, errorAnswer(404, 'not_found', `no admin route ${route}`), { kind: null });
}
