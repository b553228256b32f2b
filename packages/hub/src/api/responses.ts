import { ErrorBody } from '@vigil/protocol';

/**
 * The refusals every route may answer, `{error: {code, message}}` (docs/errors.md), for the
 * `response` map of a route's schema: `response: {200: Answer, ...REFUSALS}`.
 */
export const REFUSALS = { '4xx': ErrorBody, '5xx': ErrorBody } as const;

/**
 * Answers are written with JSON.stringify, as before the routes declared their schemas: the schemas
 * document the answers (GET /api/v1/openapi.json) and a test holds every answer to them, while
 * fast-json-stringify would silently drop a field a schema forgot and coerce a mistyped one.
 */
export const serializerCompiler = () => (data: unknown) => JSON.stringify(data);
