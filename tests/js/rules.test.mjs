// Access rules through /rest/v1 with the real supabase-js client and user
// JWTs minted here (HS256 with the project's secret):
//  - an owner-only todo app: user B can never read, count, single(), change
//    or delete user A's rows, whatever the filter (or=, not., id=eq., upsert
//    onto A's id, PATCH matching everything);
//  - a public-read / authenticated-write collection;
//  - operations without a rule are closed (42501, 401 anon / 403 user);
//  - rules set, changed and removed through /admin/v1 (bad rules → 400 with
//    the position), and through an app migration (basalt_set_rules).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { startServer, clients, request, admin, assertPgError, ids } from './lib/server.mjs';

let server;
let migDir;
let service;
let anon;
const A = crypto.randomUUID();
const B = crypto.randomUUID();
let tokA, tokB, userA, userB;

function mint(claims) {
  const secret = fs.readFileSync(path.join(server.dataDir, 'jwt_secret'), 'utf8').trim();
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = enc({ aud: 'authenticated', role: 'authenticated', iat: now, exp: now + 3600, session_id: crypto.randomUUID(), ...claims });
  const head = enc({ alg: 'HS256', typ: 'JWT' });
  const sig = crypto.createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

function userClient(token) {
  return createClient(server.url, server.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { headers: { Authorization: `Bearer ${token}` } },
    realtime: { transport: WebSocket },
  });
}

/** Raw request as a user: the anon apikey plus the user's Bearer. */
function as(token, method, p, opts = {}) {
  return request(server, method, p, {
    ...opts, key: null, headers: { apikey: server.anonKey, Authorization: `Bearer ${token}`, ...(opts.headers || {}) },
  });
}

const OWNER = 'auth.uid == doc.owner_id';

before(async () => {
  migDir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-rules-mig-'));
  fs.writeFileSync(path.join(migDir, '0001_notes.sql'), `
    SELECT basalt_create_collection('notes', '{"indexes":[{"fields":["owner_id"]}]}');
    SELECT basalt_set_rules('notes', '{"select":"auth.uid == doc.owner_id","insert":"auth.uid == new.owner_id"}');
  `);
  server = await startServer({ args: ['--migrations-dir', migDir] });
  ({ service, anon } = clients(server));
  tokA = mint({ sub: A, email: 'a@example.com' });
  tokB = mint({ sub: B, email: 'b@example.com' });
  userA = userClient(tokA);
  userB = userClient(tokB);
  const mk = async (name, rules, indexes = []) => {
    const r = await admin(server, 'POST', '/collections', { name, indexes, rules });
    assert.equal(r.status, 201, `create ${name}: ${r.text}`);
    return r;
  };
  const r = await mk('todos', { select: OWNER, update: OWNER, delete: OWNER, insert: 'auth.uid == new.owner_id' },
    [{ fields: ['owner_id'], unique: false }]);
  assert.deepEqual(r.body.rules, { select: OWNER, update: OWNER, delete: OWNER, insert: 'auth.uid == new.owner_id' });
  await mk('posts', { select: 'true', insert: 'auth.role == "authenticated"', update: 'auth.role == "authenticated"', delete: 'auth.role == "authenticated"' });
  await mk('secrets', undefined);
  await mk('inbox', { insert: 'true' });
});

after(async () => {
  await server?.stop({ expectExit0: true });
  if (migDir) fs.rmSync(migDir, { recursive: true, force: true });
});

async function ok(q, what) {
  const res = await q;
  assert.equal(res.error, null, `${what}: ${JSON.stringify(res.error)}`);
  return res;
}

function assertDenied(res, status, what) {
  assert.equal(res.status, status, `${what}: status ${res.status} ${JSON.stringify(res.error)}`);
  assert.equal(res.error?.code, '42501', `${what}: ${JSON.stringify(res.error)}`);
}

async function storedTodo(id) {
  const { data } = await ok(service.from('todos').select('*').eq('id', id), `service read ${id}`);
  return data[0];
}

describe('owner-only todos', () => {
  before(async () => {
    await ok(userA.from('todos').insert([
      { id: 'a1', owner_id: A, title: 'A one' }, { id: 'a2', owner_id: A, title: 'A two' }, { id: 'a3', owner_id: A, title: 'A three' },
    ]), 'A inserts');
    await ok(userB.from('todos').insert([{ id: 'b1', owner_id: B, title: 'B one' }, { id: 'b2', owner_id: B, title: 'B two' }]), 'B inserts');
  });

  test('each user reads exactly their own rows, with exact counts', async () => {
    const a = await ok(userA.from('todos').select('id', { count: 'exact' }), 'A select');
    assert.deepEqual(ids(a.data), ['a1', 'a2', 'a3']);
    assert.equal(a.count, 3);
    const b = await ok(userB.from('todos').select('id', { count: 'exact' }), 'B select');
    assert.deepEqual(ids(b.data), ['b1', 'b2']);
    assert.equal(b.count, 2);
    const head = await ok(userB.from('todos').select('*', { count: 'exact', head: true }), 'B head');
    assert.equal(head.count, 2);
    const svc = await ok(service.from('todos').select('id', { count: 'exact' }), 'service select');
    assert.equal(svc.count, 5, 'service_role bypasses rules');
  });

  test("no filter lets B see or count A's rows", async () => {
    const attempts = [
      ['id=eq.a1', (q) => q.eq('id', 'a1')],
      ['owner_id=eq.A', (q) => q.eq('owner_id', A)],
      ['or=(owner_id.eq.A,id.eq.a1)', (q) => q.or(`owner_id.eq.${A},id.eq.a1`)],
      ['or=(id.eq.a1,id.neq.zzz)', (q) => q.or('id.eq.a1,id.neq.zzz')],
      ['not.owner_id.eq.B', (q) => q.not('owner_id', 'eq', B)],
      ['in ids', (q) => q.in('id', ['a1', 'a2', 'b1'])],
      ['title like', (q) => q.like('title', 'A*')],
      ['owner_id is not null', (q) => q.not('owner_id', 'is', null)],
    ];
    for (const [what, f] of attempts) {
      const res = await ok(f(userB.from('todos').select('id, owner_id', { count: 'exact' })), what);
      assert.ok(res.data.every((r) => r.owner_id === B), `${what}: leaked ${JSON.stringify(res.data)}`);
      assert.ok(res.count <= 2, `${what}: count ${res.count}`);
    }
    const orAll = await ok(userB.from('todos').select('id', { count: 'exact' }).or('id.eq.a1,id.eq.b1'), 'or');
    assert.deepEqual(ids(orAll.data), ['b1']);
    assert.equal(orAll.count, 1);
  });

  test("single() on A's row is 406 for B, and raw Content-Range says */0", async () => {
    const s = await userB.from('todos').select('*').eq('id', 'a1').single();
    assert.equal(s.status, 406);
    assert.equal(s.error?.code, 'PGRST116');
    const own = await ok(userA.from('todos').select('*').eq('id', 'a1').single(), 'A single');
    assert.equal(own.data.title, 'A one');
    const raw = await as(tokB, 'GET', '/rest/v1/todos?id=eq.a1', { headers: { Prefer: 'count=exact' } });
    assert.equal(raw.status, 200);
    assert.deepEqual(raw.body, []);
    assert.equal(raw.headers.get('content-range'), '*/0');
    const rawHead = await as(tokB, 'HEAD', '/rest/v1/todos?select=*', { headers: { Prefer: 'count=exact' } });
    assert.equal(rawHead.headers.get('content-range'), '0-1/2');
  });

  test('anon sees nothing (200 []) and cannot write', async () => {
    const r = await ok(anon.from('todos').select('*', { count: 'exact' }), 'anon select');
    assert.deepEqual(r.data, []);
    assert.equal(r.count, 0);
    assertDenied(await anon.from('todos').insert({ id: 'x1', owner_id: A }), 401, 'anon insert');
    assert.equal(await storedTodo('x1'), undefined);
  });

  test("B cannot update A's rows by any filter; a PATCH matching everything changes only B's", async () => {
    const byId = await userB.from('todos').update({ title: 'pwned' }).eq('id', 'a1').select();
    assert.equal(byId.error, null);
    assert.deepEqual(byId.data, []);
    const noRepr = await userB.from('todos').update({ title: 'pwned' }).eq('id', 'a1');
    assert.equal(noRepr.status, 204);
    const raw = await as(tokB, 'PATCH', '/rest/v1/todos?id=not.is.null', { json: { done: true }, headers: { Prefer: 'count=exact' } });
    assert.equal(raw.status, 204, raw.text);
    assert.equal(raw.headers.get('content-range'), '*/2');
    const orWiden = await as(tokB, 'PATCH', '/rest/v1/todos?or=(id.eq.a2,owner_id.eq.' + A + ')', { json: { title: 'pwned' } });
    assert.equal(orWiden.status, 204);
    for (const id of ['a1', 'a2', 'a3']) {
      const t = await storedTodo(id);
      assert.notEqual(t.title, 'pwned', id);
      assert.equal(t.done, undefined, `${id} untouched`);
    }
    assert.equal((await storedTodo('b1')).done, true);
    assert.equal((await storedTodo('b2')).done, true);
  });

  test('an update that would hand a row to someone else is 403 and writes nothing', async () => {
    const res = await userB.from('todos').update({ owner_id: A, title: 'gift' }).in('id', ['b1', 'b2']);
    assertDenied(res, 403, 'give away');
    assert.match(res.error.message, /row-level security policy for table "todos"/);
    for (const id of ['b1', 'b2']) {
      const t = await storedTodo(id);
      assert.equal(t.owner_id, B, `${id} still B's`);
      assert.notEqual(t.title, 'gift');
    }
    const own = await ok(userB.from('todos').update({ title: 'B one, edited' }).eq('id', 'b1').select(), 'own update');
    assert.equal(own.data[0].title, 'B one, edited');
  });

  test('inserts must carry the caller as owner; one bad row fails the whole bulk insert', async () => {
    const forged = await userB.from('todos').insert({ id: 'f1', owner_id: A, title: 'forged' });
    assertDenied(forged, 403, 'insert for A');
    assert.equal(forged.error.message, 'new row violates row-level security policy for table "todos"');
    const bulk = await userB.from('todos').insert([{ id: 'f2', owner_id: B }, { id: 'f3', owner_id: A }]);
    assertDenied(bulk, 403, 'bulk');
    const noOwner = await userB.from('todos').insert({ id: 'f4', title: 'no owner' });
    assertDenied(noOwner, 403, 'missing owner_id');
    for (const id of ['f1', 'f2', 'f3', 'f4']) assert.equal(await storedTodo(id), undefined, `${id} not written`);
    const good = await ok(userB.from('todos').insert({ id: 'b3', owner_id: B, title: 'B three' }).select().single(), 'good insert');
    assert.equal(good.data.owner_id, B);
  });

  test("upsert onto A's id is refused; ignore-duplicates leaves it alone", async () => {
    const up = await userB.from('todos').upsert({ id: 'a1', owner_id: B, title: 'stolen' });
    assertDenied(up, 403, 'upsert onto a1');
    const ign = await userB.from('todos').upsert({ id: 'a2', owner_id: B, title: 'stolen' }, { ignoreDuplicates: true });
    assert.equal(ign.error, null);
    const a1 = await storedTodo('a1');
    const a2 = await storedTodo('a2');
    assert.equal(a1.owner_id, A);
    assert.equal(a1.title, 'A one');
    assert.equal(a2.title, 'A two');
    const mine = await ok(userB.from('todos').upsert({ id: 'b2', owner_id: B, title: 'B two, upserted' }).select(), 'own upsert');
    assert.equal(mine.data[0].title, 'B two, upserted');
  });

  test("B cannot delete A's rows; a DELETE matching everything removes only B's", async () => {
    const byId = await userB.from('todos').delete().eq('id', 'a1').select();
    assert.equal(byId.error, null);
    assert.deepEqual(byId.data, []);
    const raw = await as(tokB, 'DELETE', '/rest/v1/todos?id=not.is.null', {
      headers: { Prefer: 'count=exact', 'Content-Type': 'application/json' },
    });
    assert.equal(raw.status, 204, raw.text);
    assert.equal(raw.headers.get('content-range'), '*/3');
    const left = await ok(service.from('todos').select('id'), 'after delete');
    assert.deepEqual(ids(left.data), ['a1', 'a2', 'a3']);
  });
});

describe('public read, authenticated write', () => {
  before(async () => {
    await ok(service.from('posts').insert([{ id: 'p1', title: 'hello', published: true }, { id: 'p2', title: 'draft', published: false }]), 'seed');
  });

  test('anon reads and counts everything', async () => {
    const r = await ok(anon.from('posts').select('id', { count: 'exact' }), 'anon read');
    assert.deepEqual(ids(r.data), ['p1', 'p2']);
    assert.equal(r.count, 2);
  });

  test('anon writes: insert 401 42501, update/delete affect nothing', async () => {
    assertDenied(await anon.from('posts').insert({ id: 'p3' }), 401, 'anon insert');
    const u = await anon.from('posts').update({ title: 'x' }).eq('id', 'p1');
    assert.equal(u.status, 204);
    const d = await anon.from('posts').delete().eq('id', 'p1');
    assert.equal(d.status, 204);
    const p1 = await ok(service.from('posts').select('*').eq('id', 'p1').single(), 'p1');
    assert.equal(p1.data.title, 'hello');
  });

  test('a signed-in user writes', async () => {
    await ok(userA.from('posts').insert({ id: 'p3', title: 'by A', published: true }), 'insert');
    await ok(userB.from('posts').update({ title: 'edited by B' }).eq('id', 'p3'), 'update');
    const r = await ok(anon.from('posts').select('title').eq('id', 'p3').single(), 'read');
    assert.equal(r.data.title, 'edited by B');
    await ok(userB.from('posts').delete().eq('id', 'p3'), 'delete');
  });

  test('changing a rule takes effect on the next request', async () => {
    const p = await admin(server, 'PATCH', '/collections/posts', { rules: { select: 'doc.published == true || auth.role == "authenticated"' } });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.rules.select, 'doc.published == true || auth.role == "authenticated"');
    assert.equal(p.body.rules.insert, 'auth.role == "authenticated"', 'other ops kept');
    const r = await ok(anon.from('posts').select('id', { count: 'exact' }), 'anon after');
    assert.deepEqual(ids(r.data), ['p1']);
    assert.equal(r.count, 1);
    const u = await ok(userA.from('posts').select('id'), 'user after');
    assert.deepEqual(ids(u.data), ['p1', 'p2']);
  });
});

describe('operations without a rule are closed', () => {
  test('no rules at all: 401 for anon, 403 for a user, on every operation', async () => {
    const s = await userA.from('secrets').select('*');
    assertDenied(s, 403, 'user select');
    assert.equal(s.error.message, 'permission denied for table secrets');
    assertDenied(await anon.from('secrets').select('*'), 401, 'anon select');
    const head = await anon.from('secrets').select('*', { count: 'exact', head: true });
    assert.equal(head.status, 401, 'anon head (no body on HEAD)');
    assert.equal(head.count, null, 'no count leaks');
    assertDenied(await userA.from('secrets').insert({ id: 's1' }), 403, 'insert');
    assertDenied(await userA.from('secrets').update({ x: 1 }).eq('id', 's1'), 403, 'update');
    assertDenied(await userA.from('secrets').delete().eq('id', 's1'), 403, 'delete');
    assertDenied(await anon.from('secrets').upsert({ id: 's1' }), 401, 'upsert');
  });

  test('insert-only: writes go in, nothing comes back out', async () => {
    await ok(userA.from('inbox').insert({ id: 'm1', text: 'hi' }), 'insert');
    assertDenied(await userA.from('inbox').insert({ id: 'm2' }).select(), 403, 'insert with representation needs select');
    assertDenied(await userA.from('inbox').select('*'), 403, 'select');
    assertDenied(await userA.from('inbox').update({ text: 'x' }).eq('id', 'm1'), 403, 'update');
    assertDenied(await userA.from('inbox').upsert({ id: 'm1', text: 'x' }), 403, 'upsert onto an existing row needs update');
    const all = await ok(service.from('inbox').select('*'), 'service');
    assert.deepEqual(all.data.map((m) => [m.id, m.text]), [['m1', 'hi']]);
  });

  test('removing a rule (null) closes the operation again', async () => {
    const r = await admin(server, 'PATCH', '/collections/inbox', { rules: { insert: null } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.rules, {});
    assertDenied(await userA.from('inbox').insert({ id: 'm3' }), 403, 'insert after removal');
  });
});

describe('setting rules through /admin/v1', () => {
  test('a bad rule is refused with its position, in the PostgREST error shape', async () => {
    const r = await admin(server, 'POST', '/collections', { name: 'badrules', rules: { select: 'doc.x == 1; DROP TABLE t' } });
    const e = assertPgError(r, 400, 'PGRST100', 'bad rule');
    assert.equal(e.message, 'rule for select: unexpected character \';\' at position 11');
    assert.equal(e.details, 'doc.x == 1; DROP TABLE t\n          ^');
    assert.equal((await admin(server, 'GET', '/collections/badrules')).status, 404, 'not created');
  });

  test('more bad rules: positions and reasons', async () => {
    const cases = [
      [{ select: 'new.owner_id == auth.uid' }, 'rule for select: new.* is not available in select rules (use doc.*) at position 1'],
      [{ delete: 'auth.uid == new.owner_id' }, 'rule for delete: new.* is not available in delete rules (use doc.*) at position 13'],
      [{ update: 'doc.owner_id = auth.uid' }, 'rule for update: use == to compare at position 14'],
      [{ insert: 'auth.uid == new.owner_id &&' }, 'rule for insert: unexpected end of rule at position 28'],
      [{ select: "doc.a == 'x" }, 'rule for select: unterminated string at position 10'],
      [{ select: 'object.size > 1' }, 'rule for select: object.* is only for storage rules (use doc.* or new.*) at position 1'],
      [{ read: 'true' }, 'unknown operation "read" in rules (use select, insert, update or delete)'],
      [{ select: true }, 'rule for select must be a string (or null to remove it)'],
      ['true', '"rules" must be an object like {"select": "auth.uid == doc.owner_id"}'],
    ];
    for (const [rules, msg] of cases) {
      const r = await admin(server, 'PATCH', '/collections/todos', { rules });
      const e = assertPgError(r, 400, 'PGRST100', JSON.stringify(rules));
      assert.equal(e.message, msg);
    }
    const g = await admin(server, 'GET', '/collections/todos');
    assert.equal(g.body.rules.select, OWNER, 'rules unchanged by refused PATCHes');
  });

  test('GET shows the rules; PATCH on an unknown collection is 404', async () => {
    const g = await admin(server, 'GET', '/collections/todos');
    assert.equal(g.status, 200);
    assert.deepEqual(g.body.rules, { select: OWNER, update: OWNER, delete: OWNER, insert: 'auth.uid == new.owner_id' });
    const p = await admin(server, 'PATCH', '/collections/nope', { rules: { select: 'true' } });
    assertPgError(p, 404, 'PGRST205', 'unknown');
  });
});

describe('rules from an app migration', () => {
  test('basalt_set_rules in a migration sets the rules', async () => {
    const g = await admin(server, 'GET', '/collections/notes');
    assert.equal(g.status, 200, g.text);
    assert.deepEqual(g.body.rules, { select: 'auth.uid == doc.owner_id', insert: 'auth.uid == new.owner_id' });
    await ok(userA.from('notes').insert({ id: 'n1', owner_id: A, text: 'mine' }), 'A note');
    assertDenied(await userB.from('notes').insert({ id: 'n2', owner_id: A }), 403, 'B forging');
    const b = await ok(userB.from('notes').select('*'), 'B reads');
    assert.deepEqual(b.data, []);
    const a = await ok(userA.from('notes').select('id'), 'A reads');
    assert.deepEqual(ids(a.data), ['n1']);
    assertDenied(await userA.from('notes').delete().eq('id', 'n1'), 403, 'no delete rule');
  });

  test('a migration with a bad rule stops the start with the position', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-rules-bad-'));
    fs.writeFileSync(path.join(dir, '0001_bad.sql'), `
      SELECT basalt_create_collection('things');
      SELECT basalt_set_rules('things', '{"select":"doc.x == 1 OR 1=1"}');
    `);
    try {
      await assert.rejects(startServer({ args: ['--migrations-dir', dir], timeoutMs: 5000 }), (e) => {
        assert.match(e.message, /basalt_set_rules: rule for select: unexpected 'OR' at position 12/);
        return true;
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
