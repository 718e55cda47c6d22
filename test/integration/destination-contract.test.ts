import type { Destination } from '../../src/core/destination.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import { describeDestinationContract } from '../../src/sinks/destinations/destination.contract.ts';
import { createHttpDestination } from '../../src/sinks/destinations/http-destination.ts';
import { CRM_OPERATIONS } from '../helpers/crm-operations.ts';
import { CrmClient, crmDestination } from '../helpers/crm-sdk-destination.ts';

const TOKEN = 'contract-crm-token';

/**
 * Every way of writing to an API passes the one destination contract, against the simulator's CRM
 * over loopback: its reject set refuses a record, its faults lose answers after the write or fail
 * everything (5xx) before it.
 */
async function crmTarget(make: (crmUrl: string) => Promise<Destination>, idempotency = true) {
  const sim = await startSimulator({ datasets: {}, crm: { token: TOKEN, idempotency } });
  const destination = await make(`${sim.url}/crm`);
  return {
    destination,
    objects: async () => new Map(sim.crm.contacts().map((c) => [c.id, c])),
    refuse: async (email: string) => void sim.crm.configure({ reject: { emails: [email] } }),
    loseAnswers: async (on: boolean) => void sim.crm.configure({ faults: { lostResponse: on ? 1 : 0 } }),
    outage: async (on: boolean) => void sim.crm.configure({ faults: { serverError: on ? 1 : 0 } }),
    close: async () => {
      await destination.close?.();
      await sim.close();
    },
  };
}

const http = (crmUrl: string, batch = false) =>
  createHttpDestination({
    name: 'contract',
    baseUrl: crmUrl,
    headers: { authorization: `Bearer ${TOKEN}` },
    operations: {
      ...CRM_OPERATIONS,
      ...(batch ? { batch: { path: '/contacts/batch', maxSize: 2 } } : {}),
    },
    timeoutMs: 5000,
    allowPrivateTargets: true,
    concurrency: 3,
  });

describeDestinationContract('http, one object per request', () => crmTarget((url) => http(url)));
describeDestinationContract('http, with the API’s idempotency support off (find alone)', () =>
  crmTarget((url) => http(url), false),
);
describeDestinationContract('http, through a bulk upsert endpoint (2 per request)', () =>
  crmTarget((url) => http(url, true)),
);
describeDestinationContract('custom, over a client library', () =>
  crmTarget(async (url) => crmDestination(new CrmClient(url, TOKEN))),
);
