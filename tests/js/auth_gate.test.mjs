// Access control of /rest/v1 before any rule exists: collections are closed
// to the anon key (default deny); service_role can do everything.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, clients, createCollection, request, assertPgError, mintToken, signJwt, projectSecret, tokenClient } from './lib/server.mjs';

let server;
let anon;
let service;

const SEED = [
  { id: 's1', title: 'secret one', owner_id: 'u1' },
  { id: 's2', title: 'secret two', owner_id: 'u2' },
];

before(async () => {
  server = await startServer();
  ({ anon, service } = clients(server));
  await createCollection(server, 'todos', [['owner_id']]);
  const { error } = await service.from('todos').insert(SEED);
  assert.equal(error, null, JSON.stringify(error));
});

after(async () => {
  await server?.stop({ expectExit0: true });
});

/** The documents as service_role sees them, ordered by id. */
async function snapshot() {
  const { data, error } = await service.from('todos').select('id,title,owner_id').order('id');
  assert.equal(error, null, JSON.stringify(error));
  return data;
}

/** Assert a supabase-js result is a refusal: 401/403 with a PostgREST error. */
function assertRefused(res, what) {
  assert.ok([401, 403].includes(res.status), `${what}: status ${res.status} ${JSON.stringify(res.error)} data=${JSON.stringify(res.data)}`);
  assert.equal(res.data, null, `${what}: no data`);
  assert.ok(res.error && typeof res.error.message === 'string', `${what}: error object`);
  assert.equal(typeof res.error.code, 'string', `${what}: error code`);
  for (const k of ['code', 'message', 'details', 'hint']) assert.ok(k in res.error, `${what}: error has ${k}`);
}

describe('anon key (closed by default)', () => {
  test('select is refused', async () => {
    assertRefused(await anon.from('todos').select('*'), 'select *');
    assertRefused(await anon.from('todos').select('id').eq('id', 's1'), 'select by id');
  });

  test('count / head is refused (no count leaks)', async () => {
    const res = await anon.from('todos').select('*', { count: 'exact', head: true });
    assert.ok([401, 403].includes(res.status), `head: ${res.status}`);
    assert.ok(res.count === null || Number.isNaN(res.count), `count must not leak: ${res.count}`);
    const r = await request(server, 'GET', '/rest/v1/todos?select=id', { key: 'anon', headers: { Prefer: 'count=exact' } });
    assertPgError(r, [401, 403], undefined, 'raw GET as anon');
    assert.ok(!/\/\d+$/.test(r.headers.get('content-range') || ''), `no total in Content-Range: ${r.headers.get('content-range')}`);
  });

  test('single() is refused', async () => {
    assertRefused(await anon.from('todos').select('*').eq('id', 's1').single(), 'single');
  });

  test('insert is refused and writes nothing', async () => {
    assertRefused(await anon.from('todos').insert({ id: 'anon1', title: 'from anon' }), 'insert');
    assertRefused(await anon.from('todos').insert([{ title: 'x' }, { title: 'y' }]).select(), 'bulk insert with select');
    assert.deepEqual(await snapshot(), SEED);
  });

  test('update is refused and changes nothing', async () => {
    assertRefused(await anon.from('todos').update({ title: 'hacked' }).eq('id', 's1'), 'update');
    assertRefused(await anon.from('todos').update({ title: 'hacked' }).eq('id', 's1').select(), 'update with select');
    assert.deepEqual(await snapshot(), SEED);
  });

  test('delete is refused and removes nothing', async () => {
    assertRefused(await anon.from('todos').delete().eq('id', 's2'), 'delete');
    assertRefused(await anon.from('todos').delete().eq('id', 's2').select(), 'delete with select');
    assert.deepEqual(await snapshot(), SEED);
  });

  test('upsert is refused and changes nothing', async () => {
    assertRefused(await anon.from('todos').upsert({ id: 's1', title: 'hacked' }), 'upsert');
    assert.deepEqual(await snapshot(), SEED);
  });

  test('raw requests with the anon key get a PostgREST error body', async () => {
    const cases = [
      ['GET', '/rest/v1/todos?select=*', undefined],
      ['POST', '/rest/v1/todos', { title: 'x' }],
      ['PATCH', '/rest/v1/todos?id=eq.s1', { title: 'x' }],
      ['DELETE', '/rest/v1/todos?id=eq.s1', undefined],
    ];
    for (const [method, p, json] of cases) {
      const r = await request(server, method, p, {
        key: 'anon', json, headers: json === undefined && method !== 'GET' ? { 'Content-Type': 'application/json' } : {},
      });
      assertPgError(r, [401, 403], undefined, `${method} ${p} as anon`);
    }
    assert.deepEqual(await snapshot(), SEED);
  });
});

describe('service_role', () => {
  test('can select, insert, update, upsert and delete', async () => {
    const ins = await service.from('todos').insert({ id: 'svc', title: 'by service' }).select('id,title');
    assert.equal(ins.error, null, JSON.stringify(ins.error));
    assert.deepEqual(ins.data, [{ id: 'svc', title: 'by service' }]);

    const upd = await service.from('todos').update({ title: 'updated' }).eq('id', 'svc').select('id,title');
    assert.equal(upd.error, null, JSON.stringify(upd.error));
    assert.deepEqual(upd.data, [{ id: 'svc', title: 'updated' }]);

    const ups = await service.from('todos').upsert({ id: 'svc', title: 'upserted' }).select('id,title');
    assert.equal(ups.error, null, JSON.stringify(ups.error));
    assert.deepEqual(ups.data, [{ id: 'svc', title: 'upserted' }]);

    const sel = await service.from('todos').select('id,title').eq('id', 'svc').single();
    assert.equal(sel.error, null, JSON.stringify(sel.error));
    assert.deepEqual(sel.data, { id: 'svc', title: 'upserted' });

    const del = await service.from('todos').delete().eq('id', 'svc').select('id');
    assert.equal(del.error, null, JSON.stringify(del.error));
    assert.deepEqual(del.data, [{ id: 'svc' }]);

    assert.deepEqual(await snapshot(), SEED);
  });

  test('sees every document regardless of owner', async () => {
    const { data, error, count } = await service.from('todos').select('id', { count: 'exact' }).order('id');
    assert.equal(error, null, JSON.stringify(error));
    assert.equal(count, 2);
    assert.deepEqual(data, [{ id: 's1' }, { id: 's2' }]);
  });
});

describe('tokens signed with the project secret', () => {
  test('a freshly minted service_role token works like the service key', async () => {
    const token = mintToken(server, { role: 'service_role' });
    const r = await request(server, 'GET', '/rest/v1/todos?select=id&order=id', { key: null, headers: { apikey: server.anonKey, Authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, [{ id: 's1' }, { id: 's2' }]);
  });

  test('an authenticated user is refused with 403 on a closed collection', async () => {
    const token = mintToken(server, { sub: '00000000-0000-4000-8000-000000000001', role: 'authenticated', aud: 'authenticated', session_id: 'x' });
    const user = tokenClient(server, token);
    const checks = [
      ['select', await user.from('todos').select('*')],
      ['insert', await user.from('todos').insert({ title: 'user' })],
      ['update', await user.from('todos').update({ title: 'user' }).eq('id', 's1')],
      ['delete', await user.from('todos').delete().eq('id', 's1')],
    ];
    for (const [what, res] of checks) {
      assert.equal(res.status, 403, `${what} as authenticated (spec: 42501 → 403 when authenticated): ${res.status} ${JSON.stringify(res.error)}`);
      assert.equal(typeof res.error?.code, 'string');
    }
    assert.deepEqual(await snapshot(), SEED);
  });

  test('an authenticated user is refused on every /admin/v1 route', async () => {
    const token = mintToken(server, { sub: '00000000-0000-4000-8000-000000000001', role: 'authenticated' });
    for (const [method, p, json] of [
      ['GET', '/admin/v1/collections', undefined],
      ['POST', '/admin/v1/collections', { name: 'by_user', indexes: [] }],
      ['GET', '/admin/v1/collections/todos', undefined],
      ['PATCH', '/admin/v1/collections/todos', { indexes: [] }],
      ['DELETE', '/admin/v1/collections/todos', undefined],
      ['GET', '/admin/v1/config', undefined],
    ]) {
      const r = await request(server, method, p, { key: null, json, headers: { apikey: server.anonKey, Authorization: `Bearer ${token}` } });
      assert.ok([401, 403].includes(r.status), `${method} ${p} as authenticated: ${r.status} ${r.text}`);
    }
    const g = await request(server, 'GET', '/admin/v1/collections/todos');
    assert.equal(g.status, 200, 'todos still exists');
    const l = await request(server, 'GET', '/admin/v1/collections');
    assert.ok(!JSON.stringify(l.body).includes('by_user'));
  });

  const now = () => Math.floor(Date.now() / 1000);
  const bad = [
    ['expired', () => signJwt({ role: 'service_role', iat: now() - 7200, exp: now() - 3600 }, projectSecret(server)), 'PGRST303'],
    ['without exp', () => signJwt({ role: 'service_role', iat: now() }, projectSecret(server)), undefined],
    ['with a string exp', () => signJwt({ role: 'service_role', exp: String(now() + 3600) }, projectSecret(server)), undefined],
    ['without role', () => signJwt({ sub: 'x', iat: now(), exp: now() + 3600 }, projectSecret(server)), undefined],
    ['not yet valid (nbf)', () => signJwt({ role: 'service_role', nbf: now() + 3600, exp: now() + 7200 }, projectSecret(server)), undefined],
    ['HS512 with the right secret', () => signJwt({ role: 'service_role', exp: now() + 3600 }, projectSecret(server), { alg: 'HS512', typ: 'JWT' }), undefined],
    ['alg none', () => signJwt({ role: 'service_role', exp: now() + 3600 }, null, { alg: 'none', typ: 'JWT' }), undefined],
    ['RS256 header with an HMAC signature', () => signJwt({ role: 'service_role', exp: now() + 3600 }, projectSecret(server), { alg: 'RS256', typ: 'JWT' }), undefined],
  ];
  for (const [name, make, code] of bad) {
    test(`a service_role token ${name} → 401`, async () => {
      const token = make();
      const r = await request(server, 'GET', '/rest/v1/todos?select=id', { key: null, headers: { apikey: server.anonKey, Authorization: `Bearer ${token}` } });
      assertPgError(r, 401, code, `token ${name}`);
      assert.ok(r.headers.get('www-authenticate'), `WWW-Authenticate on a 401 for a bad token (${name})`);
      const d = await request(server, 'DELETE', '/rest/v1/todos?id=eq.s1', { key: null, headers: { apikey: server.anonKey, Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } });
      assertPgError(d, 401, code, `DELETE with token ${name}`);
    });
  }

  test('nothing was changed by the refused tokens', async () => {
    assert.deepEqual(await snapshot(), SEED);
  });
});
