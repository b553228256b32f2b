import { Type, type Static } from 'typebox';

/**
 * Every error the hub can answer, with its HTTP status and the sentence it means. The hub's
 * `VigilError`, the SDK and the dashboard read codes from here; docs/errors.md is checked against it.
 */
export const ERRORS = {
  VIGIL_VALIDATION: { status: 400, message: 'The request does not match the schema' },
  VIGIL_MALFORMED_JSON: { status: 400, message: 'The body is not valid JSON' },
  VIGIL_BAD_TEXT: { status: 400, message: 'A string holds a NUL character or invalid Unicode' },
  VIGIL_TOO_DEEP: { status: 400, message: 'The body nests objects or arrays too deeply' },
  VIGIL_UNAUTHORIZED: { status: 401, message: 'Missing or invalid credentials' },
  VIGIL_FORBIDDEN: { status: 403, message: 'These credentials may not do this' },
  VIGIL_AGENT_DELETED: { status: 403, message: 'This agent was deleted; its own key cannot register it again' },
  VIGIL_CSRF_REJECTED: { status: 403, message: 'A signed-in change lacks its CSRF token or comes from elsewhere' },
  VIGIL_POOL_CHANGE_FORBIDDEN: { status: 403, message: 'Only the admin token moves an agent to another pool' },
  VIGIL_ROUTE_NOT_FOUND: { status: 404, message: 'No such route' },
  VIGIL_AGENT_NOT_FOUND: { status: 404, message: 'No such agent' },
  VIGIL_ERROR_NOT_FOUND: { status: 404, message: 'No such error log' },
  VIGIL_EVENT_NOT_FOUND: { status: 404, message: 'No such event' },
  VIGIL_TRACE_NOT_FOUND: { status: 404, message: 'No such LLM trace' },
  VIGIL_KEY_NOT_FOUND: { status: 404, message: 'No such key' },
  VIGIL_ALERT_RULE_NOT_FOUND: { status: 404, message: 'No such alert rule' },
  VIGIL_ALERT_NOT_FOUND: { status: 404, message: 'No such alert' },
  VIGIL_SILENCE_NOT_FOUND: { status: 404, message: 'No such silence' },
  VIGIL_WEBHOOK_NOT_FOUND: { status: 404, message: 'No such webhook' },
  VIGIL_CLAIM_NOT_FOUND: { status: 404, message: 'No such capacity claim' },
  VIGIL_CLAIM_ENDED: { status: 409, message: 'The claim was released or its lease expired; claim capacity again' },
  VIGIL_NO_CAPACITY: { status: 409, message: 'No online agent has the capacity asked for, once active claims are counted' },
  VIGIL_ALERT_RULE_EXISTS: { status: 409, message: 'An alert rule with this name exists' },
  VIGIL_WEBHOOK_TARGET_REFUSED: { status: 400, message: 'The webhook URL is not an allowed target' },
  VIGIL_BODY_TOO_LARGE: { status: 413, message: 'The body is larger than the limit' },
  VIGIL_FIELD_TOO_LARGE: { status: 413, message: 'A field is larger than its limit' },
  VIGIL_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send the body as application/json' },
  VIGIL_TIMESTAMP_IN_FUTURE: { status: 422, message: 'The timestamp is more than 5 minutes ahead of the hub clock' },
  VIGIL_RANGE_TOO_WIDE: { status: 400, message: 'The time range is wider than allowed' },
  VIGIL_INGEST_QUEUE_FULL: { status: 429, message: 'The hub is overloaded; retry after the given delay' },
  VIGIL_STORE_UNAVAILABLE: { status: 503, message: 'The database cannot commit right now; retry after the given delay' },
  VIGIL_SHUTTING_DOWN: { status: 503, message: 'The hub is shutting down; retry after the given delay' },
  VIGIL_RATE_LIMITED: { status: 429, message: 'This key sent more than its rate limit; retry after the given delay' },
  VIGIL_AUTH_THROTTLED: { status: 429, message: 'Too many failed credentials from this address; retry after the given delay' },
  VIGIL_STORE_CORRUPT: { status: 500, message: 'The database file is damaged; the operator must restore it (see /readyz)' },
  VIGIL_MALFORMED_REQUEST: { status: 400, message: 'The request is not valid HTTP/1.1' },
  VIGIL_HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are larger than the limit' },
  VIGIL_REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time' },
  VIGIL_INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** The codes, in the table's order. */
export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

/**
 * Every refusal's body: `{error: {code, message}}`, and the request id on a 5xx so an operator can
 * find the log line.
 */
export const ErrorBody = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.Enum(ERROR_CODES),
        message: Type.String(),
        requestId: Type.Optional(Type.String({ description: 'On 5xx answers: the id the hub logged the failure under' })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: 'A refusal: a code from docs/errors.md and one sentence for people' },
);
export type ErrorBody = Static<typeof ErrorBody>;
