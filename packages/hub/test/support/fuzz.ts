import { gzipSync } from 'node:zlib';
import fc from 'fast-check';

/**
 * A generator of malformed requests for a JSON route, driven by the route's own body schema (from
 * the OpenAPI document) and a valid base body: every attempt breaks the body in one way (a wrong
 * value for a field's schema, a missing required field, an unknown or duplicate key, bad text,
 * numbers JSON cannot hold, deep nesting, `__proto__`, the wrong media type or encoding, garbage),
 * so none of them can be valid. bad-input.test.ts (P1) sends them to every POST and PATCH route.
 */

/** Serialises like JSON.stringify, but lets a mutation inject raw text or repeat a key. */
class Raw {
  constructor(readonly text: string) {}
}
class Pairs {
  constructor(readonly pairs: [string, unknown][]) {}
}
function toJson(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof Pairs) return `{${v.pairs.map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export type Path = (string | number)[];
export type Schema = Record<string, any>;

function getAt(root: unknown, path: Path): unknown {
  return path.reduce<unknown>((node, k) => (node as Record<string | number, unknown>)[k], root);
}
function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string | number, ...Path];
  const copy: any = Array.isArray(root) ? [...root] : { ...(root as object) };
  copy[head] = setAt(copy[head], rest, value);
  return copy;
}
function deleteAt(root: unknown, path: Path): unknown {
  const parent = path.slice(0, -1);
  const key = path.at(-1) as string;
  const node = { ...(getAt(root, parent) as object) } as Record<string, unknown>;
  delete node[key];
  return setAt(root, parent, node);
}
/** Replaces the object at `path` with an ordered list of pairs, so keys can repeat or be `__proto__`. */
function withPairs(root: unknown, path: Path, edit: (pairs: [string, unknown][]) => [string, unknown][]): unknown {
  return setAt(root, path, new Pairs(edit(Object.entries(getAt(root, path) as object))));
}

/** Every node of a JSON value: its path, and whether it is an object, array, string or other. */
function nodes(v: unknown, path: Path = []): { path: Path; kind: 'object' | 'array' | 'string' | 'other' }[] {
  if (Array.isArray(v)) return [{ path, kind: 'array' }, ...v.flatMap((x, i) => nodes(x, [...path, i]))];
  if (v !== null && typeof v === 'object') {
    return [{ path, kind: 'object' }, ...Object.entries(v).flatMap(([k, x]) => nodes(x, [...path, k]))];
  }
  return [{ path, kind: typeof v === 'string' ? 'string' : 'other' }];
}

interface Field {
  path: Path;
  schema: Schema;
}

/** The schema'd fields present in a base body, with their schemas, and the strict objects holding them. */
function fieldsOf(schema: Schema, value: unknown, path: Path = []): { fields: Field[]; required: Path[]; strict: Path[] } {
  const out = { fields: [] as Field[], required: [] as Path[], strict: [] as Path[] };
  if (path.length > 0) out.fields.push({ path, schema });
  if (schema.type === 'object' && schema.additionalProperties === false && value && typeof value === 'object') {
    out.strict.push(path);
    for (const [k, sub] of Object.entries(schema.properties ?? {})) {
      if (!(k in (value as object))) continue;
      if ((schema.required ?? []).includes(k)) out.required.push([...path, k]);
      const inner = fieldsOf(sub as Schema, (value as Record<string, unknown>)[k], [...path, k]);
      out.fields.push(...inner.fields);
      out.required.push(...inner.required);
      out.strict.push(...inner.strict);
    }
  }
  if (schema.type === 'array' && Array.isArray(value) && value.length > 0) {
    const inner = fieldsOf(schema.items as Schema, value[0], [...path, 0]);
    out.fields.push(...inner.fields);
    out.required.push(...inner.required);
    out.strict.push(...inner.strict);
  }
  return out;
}

const someJson = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 8 }));
const nonString = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.constant({ k: 1 }),
);
const nonNumber = fc.oneof(
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e309', '50', '0', '', '0x10'),
  fc.string({ maxLength: 6 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.constant({}),
);
const nonObject = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
);
const nonArray = fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant(null), fc.constant({ k: 1 }));
/** Number tokens JSON.parse either rejects or turns into a non-finite value. */
const rawNumber = fc
  .constantFrom('1e309', '-1e309', '1e400', 'NaN', 'Infinity', '-Infinity', '+1', '01', '0x10', '.5', '1.', '1e')
  .map((t) => new Raw(t));
const TRAVERSALS = [
  '',
  ' ',
  '-x',
  '_x',
  '.',
  '..',
  '../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  'a b',
  'a/b',
  'é',
  "a'; DROP TABLE agents;--",
];

/** Values that break `schema`, by construction (wrong type, out of range, too long, pattern, enum, count). */
function invalidFor(schema: Schema): fc.Arbitrary<unknown> {
  if (schema.enum) {
    const allowed = schema.enum as unknown[];
    return fc.oneof(
      nonString,
      fc.string({ maxLength: 12 }).filter((s) => !allowed.includes(s)),
    );
  }
  switch (schema.type) {
    case 'string': {
      const re = schema.pattern ? new RegExp(schema.pattern as string, 'u') : undefined;
      const min = (schema.minLength as number | undefined) ?? 0;
      const max = (schema.maxLength as number | undefined) ?? Infinity;
      const ok = (s: string) => [...s].length >= min && [...s].length <= max && (!re || re.test(s));
      const options: fc.Arbitrary<unknown>[] = [nonString];
      if (Number.isFinite(max)) options.push(fc.integer({ min: max + 1, max: max + 64 }).map((n) => 'x'.repeat(n)));
      if (min > 0) options.push(fc.constant(''));
      if (re) {
        options.push(fc.constantFrom(...TRAVERSALS.filter((s) => !ok(s))));
        options.push(fc.string({ maxLength: 10 }).filter((s) => !ok(s)));
      }
      return fc.oneof(...options);
    }
    case 'number':
    case 'integer': {
      const min = schema.minimum as number | undefined;
      const max = schema.maximum as number | undefined;
      const options: fc.Arbitrary<unknown>[] = [nonNumber, rawNumber];
      if (min !== undefined) {
        const below = Math.ceil(min) - 1;
        options.push(below > -(2 ** 31) ? fc.integer({ min: -(2 ** 31), max: below }) : fc.constant(below));
        options.push(fc.double({ min: -1e300, max: min - Math.max(1e-9, Math.abs(min) * 1e-9), noNaN: true }));
      }
      if (max !== undefined) options.push(fc.double({ min: max + Math.max(1, Math.abs(max) * 1e-9), max: 1e300, noNaN: true }));
      if (schema.type === 'integer') {
        const lo = min ?? 0;
        options.push(fc.double({ min: lo, max: Math.min(max ?? lo + 1e6, lo + 1e6), noNaN: true }).filter((x) => !Number.isInteger(x)));
      }
      return fc.oneof(...options);
    }
    case 'object': {
      if (schema.additionalProperties === false) return nonObject;
      // Free-form metadata: wrong type, or more keys than allowed.
      const options: fc.Arbitrary<unknown>[] = [nonObject];
      if (schema.maxProperties !== undefined) {
        const n = (schema.maxProperties as number) + 1;
        options.push(fc.constant(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))));
      }
      return fc.oneof(...options);
    }
    case 'array': {
      const options: fc.Arbitrary<unknown>[] = [
        nonArray,
        invalidFor(schema.items as Schema).map((x) => [x]),
        fc.constant(new Array<number>(10_000).fill(0)),
      ];
      if (schema.maxItems !== undefined) {
        const n = (schema.maxItems as number) + 1;
        options.push(fc.constant(Array.from({ length: n }, (_, i) => (schema.items?.type === 'string' ? `item-${i}` : i))));
      }
      if (schema.uniqueItems) options.push(fc.constant(['same', 'same']));
      return fc.oneof(...options);
    }
    case 'boolean':
      // The body validator never coerces, so "true" and 1 are as wrong as null.
      return fc.oneof(fc.constantFrom('true', 'false', 1, 0, null), fc.constant({ k: 1 }), fc.constant([true]));
    default:
      throw new Error(`no invalid values for schema ${JSON.stringify(schema)}`);
  }
}

export interface BodyRoute {
  method: 'POST' | 'PATCH';
  path: string;
  schema: Schema | undefined;
  base: Record<string, unknown>;
  /** Fields a handler requires although the schema does not (POST /api/v1/keys needs one of two). */
  alsoRequired?: Path[];
}

export interface Attempt {
  label: string;
  body: string | Buffer | undefined;
  headers: Record<string, string>;
}

export const JSON_HEADERS = { 'content-type': 'application/json' };

/** Every way this test breaks a request to `route`; none of them can be valid. */
export function attempts(route: BodyRoute): fc.Arbitrary<Attempt> {
  const base = route.base;
  const all = nodes(base);
  const objects = all.filter((n) => n.kind === 'object').map((n) => n.path);
  const strings = all.filter((n) => n.kind === 'string').map((n) => n.path);
  const anyNode = fc.constantFrom(...all.map((n) => n.path));
  const json = (label: string, body: unknown): Attempt => ({ label, body: toJson(body), headers: JSON_HEADERS });
  const arbs: fc.Arbitrary<Attempt>[] = [];

  if (route.schema) {
    const { fields, required, strict } = fieldsOf(route.schema, base);
    const removable = [...required, ...(route.alsoRequired ?? [])];
    arbs.push(
      fc
        .constantFrom(...fields)
        .chain((f) => invalidFor(f.schema).map((bad) => json(`wrong value at ${f.path.join('.')}`, setAt(base, f.path, bad)))),
    );
    if (removable.length > 0) {
      arbs.push(fc.constantFrom(...removable).map((p) => json(`missing ${p.join('.')}`, deleteAt(base, p))));
    }
    arbs.push(
      fc
        .tuple(
          fc.constantFrom(...strict),
          fc.string({ minLength: 1, maxLength: 10 }).filter((k) => !(k in (route.schema?.properties ?? {}))),
          someJson,
        )
        .map(([p, k, v]) =>
          json(
            `unknown field ${k} at ${p.join('.')}`,
            withPairs(base, p, (pairs) => [...pairs, [`x_${k}`, v]]),
          ),
        ),
    );
    // A duplicate key whose last (winning) value is invalid.
    const dupable = fields.filter((f) => typeof f.path.at(-1) === 'string');
    arbs.push(
      fc.constantFrom(...dupable).chain((f) =>
        invalidFor(f.schema).map((bad) =>
          json(
            `duplicate ${f.path.join('.')}`,
            withPairs(base, f.path.slice(0, -1), (pairs) => [...pairs, [f.path.at(-1) as string, bad]]),
          ),
        ),
      ),
    );
    arbs.push(
      fc.constantFrom(...fields).map((f) => json(`2 MB string at ${f.path.join('.')}`, setAt(base, f.path, 'x'.repeat(2 * 1024 * 1024)))),
    );
  }

  // Valid JSON that is not an object: a schema'd route refuses it (400), a resolve route finds no error (404).
  arbs.push(nonObject.map((v) => json('top level not an object', v)));
  // What the JSON guard refuses wherever it appears, even inside free-form metadata.
  const text = toJson(base);
  arbs.push(
    fc
      .integer({ min: 0, max: text.length - 1 })
      .map((n) => ({ label: `truncated at ${n}`, body: text.slice(0, n), headers: JSON_HEADERS })),
  );
  if (strings.length > 0) {
    arbs.push(
      fc
        .tuple(
          fc.constantFrom(...strings),
          fc.constantFrom('\u0000', '\ud800', '\udfff', '\udc00\ud800', '\ud83d'),
          fc.string({ maxLength: 4 }),
        )
        .map(([p, bad, s]) => json(`bad text at ${p.join('.')}`, setAt(base, p, `${s}${bad}${s}`))),
    );
  }
  arbs.push(
    fc.tuple(fc.constantFrom(...objects), fc.constantFrom('\u0000', '\ud800', 'a\u0000b')).map(([p, k]) =>
      json(
        `bad key at ${p.join('.')}`,
        withPairs(base, p, (pairs) => [...pairs, [k, 1]]),
      ),
    ),
  );
  arbs.push(
    fc
      .tuple(anyNode, fc.constantFrom('1e309', '-1e309', '1e400', '-1e400'))
      .map(([p, n]) => json(`${n} at ${p.join('.')}`, setAt(base, p, new Raw(n)))),
  );
  arbs.push(
    fc.tuple(anyNode, fc.integer({ min: 33, max: 5000 }), fc.boolean()).map(([p, depth, arrays]) => {
      const deep = arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      return json(`nested ${depth} deep at ${p.join('.')}`, setAt(base, p, new Raw(deep)));
    }),
  );
  arbs.push(
    fc
      .tuple(
        fc.constantFrom(...objects),
        fc.constantFrom<[string, unknown]>(
          ['__proto__', { polluted: true }],
          ['constructor', { prototype: { polluted: true } }],
          ['__proto__', 'x'],
        ),
      )
      .map(([p, pair]) =>
        json(
          `${pair[0]} at ${p.join('.')}`,
          withPairs(base, p, (pairs) => [...pairs, pair]),
        ),
      ),
  );
  // Framing: the right body under the wrong media type or a content encoding.
  arbs.push(
    fc
      .constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        'text/json',
        'application/jsonx',
        'application/vnd.api+json',
        'application/octet-stream',
      )
      .map((ct) => ({ label: `content-type ${ct}`, body: text, headers: { 'content-type': ct } })),
  );
  arbs.push(fc.constant({ label: 'no content-type', body: text, headers: {} }));
  arbs.push(
    fc.constantFrom('gzip', 'deflate', 'br', 'x-unknown').chain((enc) =>
      fc.boolean().map((compressed) => ({
        label: `content-encoding ${enc}${compressed ? ' (gzipped)' : ''}`,
        body: compressed ? gzipSync(text) : text,
        headers: { ...JSON_HEADERS, 'content-encoding': enc },
      })),
    ),
  );
  arbs.push(
    fc
      .constantFrom('', ' ', 'nul', '{', '[', '"', '{"a":}', '{,}', "{'a':1}", '\u0000')
      .map((t) => ({ label: `garbage ${JSON.stringify(t)}`, body: t, headers: JSON_HEADERS })),
  );
  return fc.oneof(...arbs);
}
