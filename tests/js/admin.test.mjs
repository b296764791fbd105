// The admin API (/admin/v1, service role only), /health and /metrics.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, admin, request, assertPgError } from './lib/server.mjs';

let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop({ expectExit0: true });
});

/** The collection names in a GET /admin/v1/collections body (an array, or {collections:[...]}). */
function listedNames(body) {
  const list = Array.isArray(body) ? body : body?.collections;
  assert.ok(Array.isArray(list), `collection list: ${JSON.stringify(body)}`);
  return list.map((c) => (typeof c === 'string' ? c : c.name));
}

const hasIndexOn = (indexes, fields) => indexes.some((i) => JSON.stringify(i.fields) === JSON.stringify(fields));

describe('collections', () => {
  test('create → 201', async () => {
    const r = await admin(server, 'POST', '/collections', { name: 'todos', indexes: [{ fields: ['owner_id'] }] });
    assert.equal(r.status, 201, r.text);
    if (r.body !== undefined) assert.equal(r.body.name, 'todos', r.text);
  });

  test('create the same name again → 409', async () => {
    const r = await admin(server, 'POST', '/collections', { name: 'todos', indexes: [] });
    assert.equal(r.status, 409, r.text);
  });

  test('bad names → 400', async () => {
    for (const name of ['1abc', 'a-b', 'a b', 'sqlite_x', 'SQLITE_x', '_basalt_x', '', 'a'.repeat(64), 'a;b', 'a"b', "a'b", 'ä']) {
      const r = await admin(server, 'POST', '/collections', { name, indexes: [] });
      assert.equal(r.status, 400, `name ${JSON.stringify(name)}: ${r.status} ${r.text}`);
    }
    const ok63 = await admin(server, 'POST', '/collections', { name: 'a'.repeat(63), indexes: [] });
    assert.equal(ok63.status, 201, `63-character name: ${ok63.text}`);
    const del = await admin(server, 'DELETE', `/collections/${'a'.repeat(63)}`);
    assert.equal(del.status, 204, del.text);
  });

  test('bad bodies → 400', async () => {
    for (const body of ['{', '[]', '5', '{}', '{"name":5}', '{"name":"ok_name","indexes":"x"}',
      '{"name":"ok_name","indexes":[{"fields":[]}]}', '{"name":"ok_name","indexes":[{"fields":["a b"]}]}']) {
      const r = await request(server, 'POST', '/admin/v1/collections', { body, headers: { 'Content-Type': 'application/json' } });
      assert.equal(r.status, 400, `body ${body}: ${r.status} ${r.text}`);
    }
    const list = await admin(server, 'GET', '/collections');
    assert.ok(!listedNames(list.body).includes('ok_name'), 'no collection made by a rejected request');
  });

  test('GET list includes it', async () => {
    const r = await admin(server, 'GET', '/collections');
    assert.equal(r.status, 200, r.text);
    assert.ok(listedNames(r.body).includes('todos'), r.text);
  });

  test('GET one → 200 with its indexes', async () => {
    const r = await admin(server, 'GET', '/collections/todos');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.name, 'todos');
    assert.ok(Array.isArray(r.body.indexes), r.text);
    assert.ok(hasIndexOn(r.body.indexes, ['owner_id']), r.text);
  });

  test('GET an unknown collection → 404', async () => {
    const r = await admin(server, 'GET', '/collections/nosuch');
    assert.equal(r.status, 404, r.text);
  });

  test('PATCH adds an index', async () => {
    const r = await admin(server, 'PATCH', '/collections/todos', {
      indexes: [{ fields: ['owner_id'], unique: false }, { fields: ['title'], unique: false }],
    });
    assert.ok([200, 204].includes(r.status), `${r.status} ${r.text}`);
    const g = await admin(server, 'GET', '/collections/todos');
    assert.equal(g.status, 200, g.text);
    assert.ok(hasIndexOn(g.body.indexes, ['title']), g.text);
    assert.ok(hasIndexOn(g.body.indexes, ['owner_id']), g.text);
  });

  test('the collection works through /rest/v1 with its indexes', async () => {
    const w = await request(server, 'POST', '/rest/v1/todos', { json: [{ title: 'a', owner_id: 'u1' }, { title: 'b', owner_id: 'u2' }] });
    assert.equal(w.status, 201, w.text);
    const r = await request(server, 'GET', '/rest/v1/todos?select=title&owner_id=eq.u2');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, [{ title: 'b' }]);
  });

  test('a unique index rejects duplicates with 409 23505', async () => {
    const c = await admin(server, 'POST', '/collections', { name: 'users_u', indexes: [{ fields: ['email'], unique: true }] });
    assert.equal(c.status, 201, c.text);
    const a = await request(server, 'POST', '/rest/v1/users_u', { json: { email: 'a@b.co' } });
    assert.equal(a.status, 201, a.text);
    const b = await request(server, 'POST', '/rest/v1/users_u', { json: { email: 'a@b.co' } });
    assertPgError(b, 409, '23505', 'unique index');
    const n = await request(server, 'GET', '/rest/v1/users_u?select=email');
    assert.deepEqual(n.body, [{ email: 'a@b.co' }]);
  });

  test('DELETE → 204, then 404 on GET and PGRST205 through /rest/v1', async () => {
    const d = await admin(server, 'DELETE', '/collections/todos');
    assert.equal(d.status, 204, d.text);
    assert.equal(d.text, '');
    const g = await admin(server, 'GET', '/collections/todos');
    assert.equal(g.status, 404, g.text);
    const list = await admin(server, 'GET', '/collections');
    assert.ok(!listedNames(list.body).includes('todos'));
    const r = await request(server, 'GET', '/rest/v1/todos?select=*');
    assertPgError(r, 404, 'PGRST205', 'deleted collection');
    const again = await admin(server, 'DELETE', '/collections/todos');
    assert.equal(again.status, 404, again.text);
  });

  test('a re-created collection starts empty', async () => {
    const c = await admin(server, 'POST', '/collections', { name: 'todos', indexes: [] });
    assert.equal(c.status, 201, c.text);
    const r = await request(server, 'GET', '/rest/v1/todos?select=*');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, []);
  });
});

describe('admin routes refuse anon and missing keys', () => {
  const routes = [
    ['GET', '/admin/v1/collections', undefined],
    ['POST', '/admin/v1/collections', { name: 'sneaky', indexes: [] }],
    ['GET', '/admin/v1/collections/todos', undefined],
    ['PATCH', '/admin/v1/collections/todos', { indexes: [] }],
    ['DELETE', '/admin/v1/collections/todos', undefined],
    ['GET', '/admin/v1/config', undefined],
  ];
  for (const [method, p, json] of routes) {
    test(`${method} ${p}`, async () => {
      const anon = await request(server, method, p, { key: 'anon', json });
      assert.ok([401, 403].includes(anon.status), `anon: ${anon.status} ${anon.text}`);
      const none = await request(server, method, p, { key: null, json });
      assert.equal(none.status, 401, `no key: ${none.status} ${none.text}`);
    });
  }

  test('nothing was changed by the refused calls', async () => {
    const list = await admin(server, 'GET', '/collections');
    assert.ok(!listedNames(list.body).includes('sneaky'));
    const g = await admin(server, 'GET', '/collections/todos');
    assert.equal(g.status, 200, 'todos still exists');
  });
});

describe('config', () => {
  test('GET /admin/v1/config shows the configuration without the JWT secret', async () => {
    const r = await admin(server, 'GET', '/config');
    assert.equal(r.status, 200, r.text);
    assert.equal(typeof r.body, 'object');
    assert.equal(r.body.port, server.port, r.text);
    const secretFile = path.join(server.dataDir, 'jwt_secret');
    if (fs.existsSync(secretFile)) {
      const secret = fs.readFileSync(secretFile, 'utf8').trim();
      assert.ok(secret.length >= 32);
      assert.ok(!r.text.includes(secret), 'the secret must not be in /admin/v1/config');
    }
  });
});

describe('health and metrics', () => {
  test('GET /health → 200 {"status":"ok"}', async () => {
    const res = await fetch(`${server.url}/health`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') || '', /application\/json/);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  test('GET /metrics → 200 Prometheus text with basalt_http_requests_total', async () => {
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') || '', /^text\/plain/);
    const text = await res.text();
    assert.match(text, /^basalt_http_requests_total(\{[^}]*\})? \d+/m, text.slice(0, 500));
  });
});
