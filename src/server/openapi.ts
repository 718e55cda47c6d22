import { z } from 'zod';
import { API_ROUTES, type RouteSpec } from './api-routes.ts';
import { ErrorResponse } from './api-schemas.ts';

type JsonSchema = Record<string, unknown>;

/** A schema as OpenAPI 3.1 embeds it: JSON Schema 2020-12 without its own `$schema`. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** `/v1/streams/:name/runs` -> `/v1/streams/{name}/runs`. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:(\w+)/g, '{$1}');
}

const ERROR_CONTENT = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };

function errorResponse(description: string) {
  return { description, content: ERROR_CONTENT };
}

/** The parameters of one location (`path`, `query`) from an object schema's properties. */
function parameters(schema: z.ZodObject | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const doc = jsonSchema(schema, 'input');
  const properties = (doc['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set((doc['required'] as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: propertySchema,
    };
  });
}

function operation(route: RouteSpec): JsonSchema {
  const success =
    'text' in route.response
      ? { description: 'OK', content: { [route.response.text]: { schema: { type: 'string' } } } }
      : {
          description: route.status === 202 ? 'Accepted' : 'OK',
          content: { 'application/json': { schema: jsonSchema(route.response as z.ZodType, 'output') } },
        };
  const responses: Record<string, unknown> = { [String(route.status)]: success };
  if (route.unavailable) {
    responses['503'] = { description: 'Not ready', content: success.content };
  }
  if (route.params || route.query || route.body) responses['400'] = errorResponse('Bad input');
  if (route.auth) responses['401'] = errorResponse('Missing or wrong bearer token');
  if (route.params) responses['404'] = errorResponse('Unknown stream');
  for (const [status, description] of Object.entries(route.errors ?? {})) {
    responses[status] = errorResponse(description);
  }
  if (route.body) responses['413'] = errorResponse('Body too large');
  responses['500'] = errorResponse('Internal error (details are in the service log)');
  responses['504'] = errorResponse('The request took too long');
  return {
    summary: route.summary,
    operationId: Object.entries(API_ROUTES).find(([, r]) => r === route)?.[0],
    ...(route.auth ? {} : { security: [] }),
    parameters: [
      ...parameters(route.params, 'path'),
      ...parameters(route.query, 'query'),
      ...Object.entries(route.headers ?? {}).map(([name, description]) => ({
        name,
        in: 'header',
        required: false,
        description,
        schema: { type: 'string' },
      })),
    ],
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
          },
        }
      : {}),
    responses,
  };
}

/**
 * The OpenAPI 3.1 document of the API, generated from the route table and its zod schemas. Every
 * route but the health checks requires the bearer token when the service has one (`security` at
 * the top; the health checks override it with none).
 */
export function buildOpenApiDocument(options: { version: string }): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of Object.values(API_ROUTES) as RouteSpec[]) {
    const path = openApiPath(route.path);
    paths[path] = { ...paths[path], [route.method]: operation(route) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Syncline service API',
      version: options.version,
      description:
        'The HTTP API of `syncline run`: stream status, runs, dead letters, and the operator actions of the CLI.',
    },
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: { Error: jsonSchema(ErrorResponse, 'output') },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'The service token (`Authorization: Bearer <token>`), when the service has one',
        },
      },
    },
  };
}
