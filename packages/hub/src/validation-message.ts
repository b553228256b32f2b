import type { ErrorObject } from 'ajv';

// Shared by the API's 400 answers and the `--alert-rules` file's ConfigError, so both name a bad field alike.

/** One sentence naming the field and what is wrong with it, e.g. `body.resources.cpu_percent must be <= 100`. */
export function describeValidation(errors: readonly Partial<ErrorObject>[], context: string | undefined): string {
  const e = errors[0];
  if (!e) return 'Invalid request';
  const where = `${context ?? 'request'}${(e.instancePath ?? '').replace(/\//g, '.')}`;
  const params = (e.params ?? {}) as Record<string, unknown>;
  // A field name refused by `propertyNames` (open-ended dicts such as resources).
  const name = (e as { propertyName?: unknown }).propertyName;
  if (typeof name === 'string') return `${where} has field name ${JSON.stringify(name)}, which ${e.message ?? 'is invalid'}`;
  switch (e.keyword) {
    case 'additionalProperties':
      return `${where} has unknown field ${JSON.stringify(params['additionalProperty'])}`;
    case 'required':
      return `${where} is missing required field ${JSON.stringify(params['missingProperty'])}`;
    case 'enum':
      return `${where} must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${where} ${e.message ?? 'is invalid'}`;
  }
}
