// Function plugins through a running server: HTTP (functions.invoke), RPC
// (supabase-js rpc), document triggers, async invoke, retries and the
// dead-letter queue, throttling (429), timeouts (504), the admin API.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, clients, request, admin, assertPgError, createCollection } from './lib/server.mjs';
import { functionsDir, eventually, rows } from './lib/fnplugins.mjs';

let server, fdir, anon, service;

before(async () => {
  fdir = functionsDir(['hello', 'add', 'audit', 'flaky']);
  server = await startServer({ args: ['--functions-dir', fdir, '--function-workers', '4'],
    env: { BASALT_FN_BACKOFF_MS: '100' } });
  ({ anon, service } = clients(server));
});

after(async () => {
  await server?.stop({ expectExit0: true });
  fs.rmSync(fdir, { recursive: true, force: true });
});

describe('HTTP trigger /functions/v1', () => {
  test('functions.invoke decodes the JSON reply', async () => {
    const { data, error } = await anon.functions.invoke('hello', { body: { name: 'Ada' } });
    assert.equal(error, null);
    assert.deepEqual(data, { message: 'Hello, Ada!', role: 'anon' });
  });

  test('GET with a query string, Content-Type application/json', async () => {
    const r = await request(server, 'GET', '/functions/v1/hello?name=Bob', { key: 'anon' });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.deepEqual(r.body, { message: 'Hello, Bob!', role: 'anon' });
    assert.ok(r.headers.get('x-request-id'));
  });

  test('unknown function → 404 FunctionsHttpError', async () => {
    const { data, error } = await anon.functions.invoke('nope', { body: {} });
    assert.equal(data, null);
    assert.equal(error.name, 'FunctionsHttpError');
    assert.equal(error.context.status, 404);
    assert.deepEqual(await error.context.json(), { error: 'NotFound', message: 'Requested function was not found' });
  });

  test('method not in the manifest → 405', async () => {
    const r = await request(server, 'DELETE', '/functions/v1/hello', { key: 'anon' });
    assert.equal(r.status, 405);
    assert.equal(r.body.error, 'MethodNotAllowed');
  });

  test('an RPC-only function is not reachable over HTTP', async () => {
    const r = await request(server, 'POST', '/functions/v1/add', { key: 'anon', json: { a: 1, b: 2 } });
    assert.equal(r.status, 404);
  });

  test('no apikey → 401', async () => {
    const r = await request(server, 'POST', '/functions/v1/hello', { key: null, json: {} });
    assert.equal(r.status, 401);
  });
});

describe('RPC trigger /rest/v1/rpc', () => {
  test('rpc POST', async () => {
    const { data, error, status } = await anon.rpc('add', { a: 40, b: 2 });
    assert.equal(error, null);
    assert.equal(status, 200);
    assert.equal(data, 42);
  });

  test('rpc GET with query args', async () => {
    const { data, error } = await anon.rpc('add', { a: 1.5, b: 2 }, { get: true });
    assert.equal(error, null);
    assert.equal(data, 3.5);
  });

  test('typed error → 400 PGRST shape', async () => {
    const r = await request(server, 'POST', '/rest/v1/rpc/add', { key: 'anon', json: { a: 'x' } });
    const body = assertPgError(r, 400, 'P0001');
    assert.equal(body.message, 'add needs numeric arguments a and b');
    assert.equal(body.details, 'InvalidArguments');
  });

  test('unknown function → 404 PGRST202', async () => {
    const { error, status } = await anon.rpc('missing_fn', {});
    assert.equal(status, 404);
    assert.equal(error.code, 'PGRST202');
  });

  test('body that is not an object → 400', async () => {
    const r = await request(server, 'POST', '/rest/v1/rpc/add', { key: 'anon', body: '[1,2]', headers: { 'Content-Type': 'application/json' } });
    assertPgError(r, 400, 'PGRST102');
  });
});

describe('async triggers', () => {
  test('document insert/update/delete → audit documents', async () => {
    await createCollection(server, 'todos');
    const ins = await service.from('todos').insert({ id: 'a1', title: 'x' });
    assert.equal(ins.error, null);
    await service.from('todos').update({ title: 'y' }).eq('id', 'a1');
    await service.from('todos').delete().eq('id', 'a1');
    const audit = await eventually(async () => {
      const r = await rows(server, 'audit', 'order=seq.asc');
      return r.length === 3 ? r : null;
    }, 8000, 'three audit documents');
    assert.deepEqual(audit.map((a) => a.op), ['INSERT', 'UPDATE', 'DELETE']);
    assert.ok(audit.every((a) => a.doc_id === 'a1' && a.collection === 'todos' && a.attempt === 1));
    assert.equal(new Set(audit.map((a) => a.job_id)).size, 3);
  });

  test('per-document order holds for a burst of updates', async () => {
    await service.from('todos').insert({ id: 'burst', n: 0 });
    for (let i = 1; i <= 10; i++) await service.from('todos').update({ n: i }).eq('id', 'burst');
    const audit = await eventually(async () => {
      const r = (await rows(server, 'audit', 'doc_id=eq.burst&order=committed_ms.asc'));
      return r.length === 11 ? r : null;
    }, 8000, 'eleven audit documents');
    const seqs = audit.map((a) => a.seq);
    assert.deepEqual([...seqs].sort((x, y) => x - y), seqs);
  });

  test('async invoke → 202 with a job id, the job runs', async () => {
    const r = await admin(server, 'POST', '/functions/flaky/invoke', { type: 'async', payload: { key: 'async1' } });
    assert.equal(r.status, 202, r.text);
    assert.match(r.body.job_id, /^[0-9a-f-]{36}$/);
    const done = await eventually(async () => (await rows(server, 'flaky_done', 'id=eq.async1'))[0], 5000, 'flaky_done');
    assert.equal(done.job_id, r.body.job_id);
    assert.equal(done.attempts, 1);
  });

  test('retries with backoff then succeed (job id stable)', async () => {
    const r = await admin(server, 'POST', '/functions/flaky/invoke', { type: 'async', payload: { fail: 2, key: 'retry2' } });
    const done = await eventually(async () => (await rows(server, 'flaky_done', 'id=eq.retry2'))[0], 8000, 'retried job');
    assert.equal(done.attempts, 3);
    assert.equal(done.job_id, r.body.job_id);
  });

  test('dead-letter after retries, then re-drive succeeds', async () => {
    const r = await admin(server, 'POST', '/functions/flaky/invoke', { type: 'async', payload: { fail: 9, key: 'dead1' } });
    const id = r.body.job_id;
    const dl = await eventually(async () => {
      const l = await admin(server, 'GET', '/functions/dlq?function=flaky');
      return l.body.find((d) => d.id === id);
    }, 8000, 'dead letter');
    assert.equal(dl.attempts, 3);
    assert.equal(dl.last_error, 'FlakyFailure: failing attempt 3 on purpose');
    assert.deepEqual(dl.event.payload, { fail: 9, key: 'dead1' });
    const fn = await admin(server, 'GET', '/functions/flaky');
    assert.ok(fn.body.metrics.dead_letters >= 1);
    // heal the function through its config, then re-drive
    const p = await admin(server, 'PATCH', '/functions/flaky', { config: { succeed: 'true' } });
    assert.equal(p.status, 200, p.text);
    assert.deepEqual(p.body.config, { succeed: '********' });
    const rd = await admin(server, 'POST', `/functions/dlq/${id}/redrive`);
    assert.equal(rd.status, 202, rd.text);
    const done = await eventually(async () => (await rows(server, 'flaky_done', 'id=eq.dead1'))[0], 5000, 're-driven job');
    assert.equal(done.job_id, id);
    const l2 = await admin(server, 'GET', '/functions/dlq?function=flaky');
    assert.ok(!l2.body.some((d) => d.id === id));
    assert.equal((await admin(server, 'POST', `/functions/dlq/${id}/redrive`)).status, 404);
    await admin(server, 'PATCH', '/functions/flaky', { config: { succeed: null } });
  });

  test('DELETE a dead letter', async () => {
    const r = await admin(server, 'POST', '/functions/flaky/invoke', { type: 'async', payload: { fail: -1 } });
    await eventually(async () => (await admin(server, 'GET', '/functions/dlq')).body.some((d) => d.id === r.body.job_id), 8000, 'dead letter');
    assert.equal((await admin(server, 'DELETE', `/functions/dlq/${r.body.job_id}`)).status, 204);
    assert.equal((await admin(server, 'DELETE', `/functions/dlq/${r.body.job_id}`)).status, 404);
  });
});

describe('limits', () => {
  test('excess concurrency → 429 at once', async () => {
    assert.equal((await admin(server, 'PATCH', '/functions/flaky', { concurrency: 1 })).status, 200);
    let slowDone = false;
    const slow = request(server, 'POST', '/functions/v1/flaky', { key: 'anon', json: { sleep_ms: 800 } })
      .then((r) => { slowDone = true; return r; });
    // wait until the slow call holds the only slot (a loaded machine may
    // take a while to start it), then the next call must be refused
    for (let i = 0; i < 100; i++) {
      const fn = await admin(server, 'GET', '/functions/flaky');
      if (fn.body.metrics.active === 1) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const second = await request(server, 'POST', '/functions/v1/flaky', { key: 'anon', json: {} });
    assert.equal(second.status, 429, second.text);
    assert.equal(slowDone, false, 'the 429 came at once, not after the slot freed');
    assert.equal(second.body.error, 'TooManyRequests');
    assert.equal((await slow).status, 200);
    const fn = await admin(server, 'GET', '/functions/flaky');
    assert.ok(fn.body.metrics.throttles >= 1);
    await admin(server, 'PATCH', '/functions/flaky', { concurrency: null });
  });

  test('deadline passed → 504 and a recorded timeout', async () => {
    assert.equal((await admin(server, 'PATCH', '/functions/flaky', { timeout_ms: 200 })).status, 200);
    const r = await request(server, 'POST', '/functions/v1/flaky', { key: 'anon', json: { sleep_ms: 400 } });
    assert.equal(r.status, 504, r.text);
    assert.equal(r.body.error, 'Timeout');
    const fn = await admin(server, 'GET', '/functions/flaky');
    assert.ok(fn.body.metrics.timeouts >= 1);
    assert.equal(fn.body.settings.timeout_ms, 200);
    await admin(server, 'PATCH', '/functions/flaky', { timeout_ms: null });
  });

  test('disabled function → 404, enabled again → 200', async () => {
    await admin(server, 'PATCH', '/functions/hello', { enabled: false });
    assert.equal((await request(server, 'GET', '/functions/v1/hello', { key: 'anon' })).status, 404);
    await admin(server, 'PATCH', '/functions/hello', { enabled: true });
    assert.equal((await request(server, 'GET', '/functions/v1/hello', { key: 'anon' })).status, 200);
  });
});

describe('admin API', () => {
  test('list shows triggers, versions, metrics', async () => {
    const r = await admin(server, 'GET', '/functions');
    assert.equal(r.status, 200);
    const names = r.body.map((f) => f.name).sort();
    assert.deepEqual(names, ['add', 'audit', 'flaky', 'hello']);
    const hello = r.body.find((f) => f.name === 'hello');
    assert.deepEqual(hello.triggers, [{ kind: 'http', methods: ['GET', 'POST'] }]);
    assert.equal(hello.loaded, true);
    assert.equal(hello.metrics.cold_starts, 1);
    assert.ok(hello.metrics.invocations >= 2);
    const audit = r.body.find((f) => f.name === 'audit');
    assert.deepEqual(audit.triggers, [{ kind: 'document', collection: 'todos', ops: ['INSERT', 'UPDATE', 'DELETE'] }]);
  });

  test('sync invoke through the admin API', async () => {
    const r = await admin(server, 'POST', '/functions/hello/invoke', { type: 'sync', payload: { name: 'Root' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.message, 'Hello, Root!');
  });

  test('logs keep recent lines tagged with request ids', async () => {
    const r = await admin(server, 'GET', '/functions/flaky/logs');
    assert.equal(r.status, 200);
    assert.ok(r.body.lines.some((l) => /failing attempt \d on purpose/.test(l)), r.text);
  });

  test('bad PATCH → 400, unknown function → 404, anon → 401', async () => {
    assert.equal((await admin(server, 'PATCH', '/functions/hello', { timeout_ms: -5 })).status, 400);
    assert.equal((await admin(server, 'PATCH', '/functions/hello', { bogus: 1 })).status, 400);
    assert.equal((await admin(server, 'PATCH', '/functions/hello', { config: { k: 5 } })).status, 400);
    assert.equal((await admin(server, 'GET', '/functions/nope')).status, 404);
    assert.equal((await request(server, 'GET', '/admin/v1/functions', { key: 'anon' })).status, 401);
    assert.equal((await admin(server, 'POST', '/functions/hello/invoke', { type: 'later' })).status, 400);
  });

  test('settings persist in the database', async () => {
    await admin(server, 'PATCH', '/functions/add', { retries: 5 });
    const r = await admin(server, 'GET', '/functions/add');
    assert.equal(r.body.settings.retries, 5);
    assert.equal(r.body.settings.overrides.retries, 5);
  });
});
