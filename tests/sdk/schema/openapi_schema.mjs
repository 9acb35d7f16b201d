// Validates response bodies against Stripe's OpenAPI subset (Node twin of
// openapi_schema.py; keep the two in step).
//
// The subset is kept in the repository, at
// tests/schema/stripe-openapi-subset.json (see tests/schema/README.md for its
// source). Set TOPUPS_MOCK_OPENAPI to use another copy.
//
// OpenAPI 3.0 is not quite JSON Schema, so component schemas are converted
// once on load: `nullable: true` becomes `anyOf: [<schema>, {type: "null"}]`,
// `#/components/schemas/X` refs become `#/$defs/X`, and `x-*` extensions and
// descriptions are dropped.
//
// A 2xx body is checked against the 200 response schema of the matching
// operation in the spec; any other status must be an `error`. Mock-only
// endpoints (/v1/test_helpers/...) are checked by the `object` they answer
// with; a mock-only `list` (such as GET /v1/test_helpers/webhook_deliveries)
// checks each item by its own `object`.
//
// This file has no dependencies of its own: the caller passes the JSON
// Schema 2020-12 validator class (Ajv2020 from `ajv/dist/2020.js`).

import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
// Relative to the repository root, as the project documents it.
export const SPEC_RELATIVE_PATH = 'tests/schema/stripe-openapi-subset.json';

// Schemas of the mock's own objects, which Stripe's spec does not have.
export const MOCK_SCHEMAS = {
  'test_helpers.mock_clock': {
    type: 'object',
    required: ['object', 'mode', 'now', 'now_ms'],
    properties: {
      object: { const: 'test_helpers.mock_clock' },
      mode: { enum: ['manual', 'real'] },
      now: { type: 'integer' },
      now_ms: { type: 'integer' },
      fired: { type: 'integer', minimum: 0 },
    },
  },
  // One attempt to deliver an event to a webhook endpoint, as listed by
  // GET /v1/test_helpers/webhook_deliveries.
  'test_helpers.webhook_delivery': {
    type: 'object',
    additionalProperties: false,
    required: [
      'object', 'event', 'endpoint', 'url', 'attempt', 'status', 'error', 'response',
      'succeeded', 'duration_ms', 'created', 'next_attempt',
    ],
    properties: {
      object: { const: 'test_helpers.webhook_delivery' },
      event: { type: 'string', pattern: '^evt_' },
      endpoint: { type: 'string' },
      url: { type: 'string' },
      attempt: { type: 'integer', minimum: 1 },
      status: { type: ['integer', 'null'] },
      error: { type: ['string', 'null'] },
      response: { type: ['string', 'null'] },
      succeeded: { type: 'boolean' },
      duration_ms: { type: 'integer', minimum: 0 },
      created: { type: 'integer' },
      next_attempt: { type: ['integer', 'null'] },
    },
  },
};

// The envelope of a mock-only list; its items are checked one by one, each by
// the schema named by its own `object`.
export const MOCK_LIST_SCHEMA = {
  type: 'object',
  required: ['object', 'data', 'has_more', 'url'],
  properties: {
    object: { const: 'list' },
    data: { type: 'array', items: { type: 'object' } },
    has_more: { type: 'boolean' },
    url: { type: 'string' },
  },
};

const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions']);
const SCHEMA_LISTS = new Set(['anyOf', 'oneOf', 'allOf']);
const SCHEMA_SINGLE = new Set(['items', 'additionalProperties', 'not']);
const DROP = new Set(['description', 'title', 'nullable', 'format']);

export class SchemaViolation extends Error {
  constructor(message) {
    super(message);
    this.name = 'SchemaViolation';
  }
}

export function specPath() {
  return process.env.TOPUPS_MOCK_OPENAPI || resolve(REPO_ROOT, SPEC_RELATIVE_PATH);
}

/** One OpenAPI 3.0 schema object as a JSON Schema (2020-12) one. */
export function convert(node) {
  if (Array.isArray(node)) return node.map(convert);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-') || DROP.has(key)) continue;
    if (key === '$ref') {
      out[key] = value.replace('#/components/schemas/', '#/$defs/');
    } else if (SCHEMA_MAPS.has(key)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convert(v)]));
    } else if (SCHEMA_LISTS.has(key)) {
      out[key] = value.map(convert);
    } else if (SCHEMA_SINGLE.has(key) && value && typeof value === 'object') {
      out[key] = convert(value);
    } else {
      out[key] = value;
    }
  }
  if (node.nullable === true) return { anyOf: [out, { type: 'null' }] };
  return out;
}

function escapeRegex(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class OpenApiValidator {
  /** @param {new (opts: object) => any} AjvClass Ajv2020 or compatible. */
  constructor(AjvClass, path = specPath()) {
    if (!existsSync(path)) {
      throw new Error(
        `OpenAPI subset not found at ${path} (expected at <repo root>/${SPEC_RELATIVE_PATH}; ` +
          'set TOPUPS_MOCK_OPENAPI to override)',
      );
    }
    this.path = path;
    const spec = JSON.parse(readFileSync(path, 'utf8'));
    this.defs = {};
    for (const [name, schema] of Object.entries(spec.components.schemas)) {
      this.defs[name] = convert(schema);
    }
    Object.assign(this.defs, MOCK_SCHEMAS);
    this.ajv = new AjvClass({ strict: false, allErrors: true, validateFormats: false });
    this.ajv.addSchema({ $id: 'stripe-defs', $defs: this.defs });
    this.operations = [];
    for (const [template, ops] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const schema = convert(op.responses['200'].content['application/json'].schema);
        const pattern = escapeRegex(template).replace(/\\\{[^}]+\\\}/g, '[^/]+');
        this.operations.push({
          method: method.toUpperCase(),
          template,
          regex: new RegExp(`^${pattern}$`),
          schema,
        });
      }
    }
    // Literal paths before templated ones.
    this.operations.sort((a, b) => a.template.split('{').length - b.template.split('{').length);
    this.compiled = new Map();
  }

  _compile(key, schema) {
    let fn = this.compiled.get(key);
    if (!fn) {
      // Point local refs at the shared definitions document.
      const rebased = JSON.parse(
        JSON.stringify(schema).replaceAll('"#/$defs/', '"stripe-defs#/$defs/'),
      );
      fn = this.ajv.compile(rebased);
      this.compiled.set(key, fn);
    }
    return fn;
  }

  _check(key, schema, body, where) {
    const fn = this._compile(key, schema);
    if (!fn(body)) {
      const lines = fn.errors
        .slice(0, 10)
        .map((e) => `  at ${e.instancePath || '/'}: ${e.message} ${JSON.stringify(e.params)}`);
      throw new SchemaViolation(
        `${where}: body violates schema ${key}:\n${lines.join('\n')}\nbody: ${JSON.stringify(body).slice(0, 2000)}`,
      );
    }
  }

  /** Validates `body` against one component schema, e.g. `topup`. */
  validateNamed(name, body, where = '') {
    if (!(name in this.defs)) throw new SchemaViolation(`${where}: no schema named ${name}`);
    this._check(`#/$defs/${name}`, { $ref: `#/$defs/${name}` }, body, where);
  }

  schemaFor(method, path) {
    for (const op of this.operations) {
      if (op.method === method && op.regex.test(path)) {
        return [`${op.method} ${op.template}`, op.schema];
      }
    }
    return null;
  }

  /** Checks one decoded response body; returns the schema name used. */
  validateResponse(method, urlPath, status, body) {
    method = method.toUpperCase();
    const path = urlPath.split('?')[0].replace(/\/+/g, '/');
    const where = `${method} ${path} -> ${status}`;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new SchemaViolation(`${where}: body is not a JSON object: ${JSON.stringify(body)}`);
    }
    if (status < 200 || status >= 300) {
      this.validateNamed('error', body, where);
      return 'error';
    }
    const found = this.schemaFor(method, path);
    if (!found) {
      const obj = body.object;
      if (path.startsWith('/v1/test_helpers/') && obj === 'list') {
        this._check('mock list', MOCK_LIST_SCHEMA, body, where);
        body.data.forEach((item, i) => {
          const name = item.object;
          if (typeof name !== 'string' || !(name in this.defs)) {
            throw new SchemaViolation(
              `${where}: no schema for list item ${i} (object ${JSON.stringify(name)})`,
            );
          }
          this.validateNamed(name, item, `${where} (data[${i}])`);
        });
        return 'list';
      }
      if (path.startsWith('/v1/test_helpers/') && typeof obj === 'string') {
        if (obj in this.defs) {
          this.validateNamed(obj, body, where);
          return obj;
        }
        if (obj.startsWith('test_helpers.')) return obj;
      }
      throw new SchemaViolation(`${where}: no schema for this endpoint (object ${JSON.stringify(obj)})`);
    }
    this._check(found[0], found[1], body, where);
    return found[0];
  }
}
