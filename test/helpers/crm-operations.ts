import type { DestinationOperations } from '../../src/core/destination-spec.ts';

/**
 * The simulator CRM's contact operations as an HTTP destination's (paths under `${sim.url}/crm`):
 * create, update by id, find by `external_id` = the record's key, delete by id.
 */
export const CRM_OPERATIONS = {
  create: { path: '/contacts' },
  update: { path: '/contacts/{externalId}' },
  find: { path: '/contacts', query: { external_id: '{key}' }, idPath: 'results.0.id' },
  delete: { path: '/contacts/{externalId}' },
} as const satisfies DestinationOperations;
