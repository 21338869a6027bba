// Attack (issue 12 item 11): wrongly typed JSON was coerced to the declared type, so
// `{"name":123}` or `{"name":true}` created collections and a string became a one-element
// array. Every route that takes a JSON body is taken from the server's own OpenAPI document and
// sent bodies of the wrong type at the top level and in each declared field: each must be a 400
// with a catalogue code, never a 2xx or a 500, and nothing may be created. Numbers in query
// strings are parsed explicitly: digits pass, anything else is a coded 400.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { CATALOGUE } from '../../lib/errors/index.js';
import { parsePolicy } from '../../lib/policy/index.js';
import { bearer, testApp, tokenFor } from '../helpers/trust-server.js';

const NAME = 'reg.example.com/team/app';

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  enum?: unknown[];
}

/** Values of every JSON type but the one the schema declares. */
function wrongValues(s: JsonSchema): unknown[] {
  const all: Record<string, unknown[]> = {
    string: ['reg.example.com/team/app', 'admin'],
    number: [123, 1.5],
    boolean: [true, false],
    array: [[NAME], ['admin'], []],
    object: [{ name: NAME }],
    null: [null],
  };
  const declared = new Set([s.type ?? 'object'].flat());
  if (declared.has('integer')) declared.add('number');
  return Object.entries(all)
    .filter(([t]) => !declared.has(t))
    .flatMap(([, v]) => v);
}

/** Wrong-typed bodies for a body schema: the whole body, then each field in an otherwise plausible body. */
function wrongBodies(schema: JsonSchema): { what: string; body: unknown }[] {
  const out = wrongValues(schema).map((body) => ({ what: `body ${JSON.stringify(body)}`, body }));
  for (const [field, fs] of Object.entries(schema.properties ?? {})) {
    for (const v of wrongValues(fs)) out.push({ what: `${field}: ${JSON.stringify(v)}`, body: { ...plausible(schema), [field]: v } });
  }
  return out;
}

/** A body with each required string field filled in (so only the field under test is wrong). */
function plausible(schema: JsonSchema): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(schema.properties ?? {})) {
    if (s.enum) o[k] = s.enum[0];
    else if (s.type === 'string') o[k] = k === 'name' ? 'reg.example.com/team/plausible' : 'x';
    else if (s.type === 'array') o[k] = [NAME];
  }
  return o;
}

function assertCoded(res: { statusCode: number; body: string }, what: string): void {
  assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${what}: expected a 4xx, got ${res.statusCode} ${res.body.slice(0, 300)}`);
  const body = JSON.parse(res.body) as { code?: string; errors?: { code: string }[] };
  const code = body.code ?? body.errors?.[0]?.code;
  assert.ok(typeof code === 'string' && (code in CATALOGUE || body.errors), `${what}: no catalogue code in ${res.body.slice(0, 300)}`);
}

describe('attack: wrongly typed JSON is coerced', () => {
  let app: FastifyInstance;
  let close: () => Promise<void>;
  let admin: string;

  before(async () => {
    const t = await testApp({ registry: true, admission: { policy: parsePolicy('{"version": 1, "rules": []}') } });
    app = t.app;
    close = t.close;
    admin = await tokenFor(app, 'admin', ['**'], 'admin');
  });
  after(async () => close());

  it('every JSON body route of the OpenAPI document refuses wrong types with a coded 400', async () => {
    const doc = (await app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema: JsonSchema }> } }>> };
    let routes = 0;
    let sent = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const schema = op.requestBody?.content?.['application/json']?.schema;
        if (!schema) continue;
        routes++;
        const url = path.replace('{name}', NAME).replace('{id}', 'tok_0123456789abcdef');
        for (const { what, body } of wrongBodies(schema)) {
          const res = await app.inject({ method: method.toUpperCase() as 'POST', url, headers: { ...bearer(admin), 'content-type': 'application/json' }, payload: JSON.stringify(body) });
          sent++;
          // A webhook may also answer a review it cannot interpret with a denial (never an allow).
          if (path.startsWith('/admission/') && res.statusCode === 200) {
            assert.equal(res.json().response?.allowed, false, `${path} ${what}: ${res.body.slice(0, 300)}`);
            continue;
          }
          assertCoded(res, `${method.toUpperCase()} ${path} ${what}`);
          assert.equal(res.statusCode, 400, `${method.toUpperCase()} ${path} ${what}: ${res.body.slice(0, 200)}`);
        }
      }
    }
    assert.ok(routes >= 5, `expected the collection, publish, token and admission routes, found ${routes}`);
    assert.ok(sent > 30);
  });

  it('creates no collection from a number, a boolean or an array', async () => {
    for (const name of [123, true, ['a/b'], 'a/b'.split('')]) {
      const res = await app.inject({ method: 'POST', url: '/v1/collections', headers: bearer(admin), payload: { name } });
      assert.equal(res.statusCode, 400, `name ${JSON.stringify(name)}: ${res.body}`);
      assert.equal(res.json().code, 'REQUEST_INVALID');
      assert.match(res.json().message, /^body\/name: expected string, got (integer|boolean|array)$/);
    }
    for (const name of ['123', 'true', 'a/b']) {
      const res = await app.inject({ url: `/v1/collections/${name}/keys`, headers: bearer(admin) });
      assert.equal(res.statusCode, 404, `collection ${name} exists: ${res.body}`);
    }
  });

  it('does not turn a string into an array (token patterns)', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/tokens', headers: bearer(admin), payload: { role: 'reader', patterns: 'reg.example.com/**' } });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().code, 'REQUEST_INVALID');
    const ok = await app.inject({ method: 'POST', url: '/v1/tokens', headers: bearer(admin), payload: { role: 'reader', patterns: ['reg.example.com/**'] } });
    assert.equal(ok.statusCode, 201, ok.body);
  });

  it('parses numbers in query strings explicitly: digits pass, garbage is a coded 400', async () => {
    const good = await app.inject({ url: '/v1/audit?limit=2', headers: bearer(admin) });
    assert.equal(good.statusCode, 200, good.body);
    assert.ok(good.json().entries.length <= 2);
    for (const q of ['limit=abc', 'limit=1.5', 'limit=-1', 'limit=0', 'limit=1e2', 'limit=%201', 'limit=', 'limit=1&limit=2', 'limit=true', 'limit=1001']) {
      const res = await app.inject({ url: `/v1/audit?${q}`, headers: bearer(admin) });
      assert.equal(res.statusCode, 400, `${q}: ${res.body}`);
      assertCoded(res, q);
    }
    assert.equal((await app.inject({ url: '/v2/_catalog?n=2' })).statusCode, 200);
    for (const q of ['n=abc', 'n=-1', 'n=1.5', 'n=1&n=2']) {
      const res = await app.inject({ url: `/v2/_catalog?${q}` });
      assert.equal(res.statusCode, 400, `${q}: ${res.body}`);
      assert.ok(res.json().errors[0].code, res.body);
    }
  });
});
