// The PostgREST-compatible data API (/rest/v1) driven by the unmodified
// supabase-js client with the service_role key, plus raw fetch where the
// client hides status codes or headers.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, clients, createCollection, request, assertPgError, sleep, ids, UUID_V7, ISO_UTC,
} from './lib/server.mjs';

let server;
let db; // service_role client

// The fixed data set of the `items` collection used by the query tests.
const ITEMS = [
  { id: 'a1', title: 'Alpha', age: 30, score: 1.5, done: false, tags: ['red', 'blue'],
    meta: { kind: 'x', tags: ['t1'], deep: { level: 1 } }, note: 'first' },
  { id: 'a2', title: 'alpine', age: 25, score: null, done: true, tags: ['blue'],
    meta: { kind: 'y', tags: ['t2', 't3'], deep: { level: 2 } }, note: 'second' },
  { id: 'a3', title: 'Gamma', age: 40, score: 3, done: false, tags: [],
    meta: { kind: 'x', tags: [], deep: { level: 3 } }, note: 'third' },
  { id: 'a4', title: 'delta', age: 25, score: 2, done: false, tags: ['green', 'red'],
    meta: { kind: 'z', tags: ['t1', 't2'], deep: { level: 4 } }, note: 'fourth' },
  { id: 'a5', title: 'Epsilon, Jr.', age: 50, score: null, done: null, tags: ['red'],
    meta: { kind: 'y', tags: ['t3'], deep: { level: 5 } }, note: 'fifth' },
];

before(async () => {
  server = await startServer();
  ({ service: db } = clients(server));
  for (const c of ['todos', 'items', 'writes', 'upserts', 'bulk']) await createCollection(server, c);
  const { error, status } = await db.from('items').insert(ITEMS);
  assert.equal(error, null, JSON.stringify(error));
  assert.equal(status, 201);
});

after(async () => {
  await server?.stop({ expectExit0: true });
});

/** Run a supabase-js query, assert success, return data. */
async function ok(q, what = '') {
  const res = await q;
  assert.equal(res.error, null, `${what}: ${JSON.stringify(res.error)}`);
  return res.data;
}

/** Ids of the items matched by a filtered query (select=id), sorted. */
async function matchIds(build, what) {
  const data = await ok(build(db.from('items').select('id')), what);
  assert.ok(Array.isArray(data), `${what}: array expected, got ${JSON.stringify(data)}`);
  return ids(data);
}

describe('insert', () => {
  test('insert one object without select: 201, empty body, data null', async () => {
    const res = await db.from('todos').insert({ title: 'plain insert', done: false });
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.status, 201);
    assert.equal(res.data, null);
    const rows = await ok(db.from('todos').select('title,done').eq('title', 'plain insert'));
    assert.deepEqual(rows, [{ title: 'plain insert', done: false }]);
  });

  test('raw POST without Prefer answers 201 with an empty body', async () => {
    const r = await request(server, 'POST', '/rest/v1/todos', { json: { title: 'raw minimal' } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.text, '');
  });

  test('insert with select(): representation with server-made id and timestamps', async () => {
    const before = Date.now();
    const res = await db.from('todos').insert({ title: 'with repr', done: true, n: 7, nested: { a: [1, 2] } }).select();
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.status, 201);
    assert.ok(Array.isArray(res.data), 'representation is an array');
    assert.equal(res.data.length, 1);
    const row = res.data[0];
    assert.match(row.id, UUID_V7);
    assert.equal(row.title, 'with repr');
    assert.equal(row.done, true);
    assert.equal(row.n, 7);
    assert.deepEqual(row.nested, { a: [1, 2] });
    assert.match(row.created_at, ISO_UTC);
    assert.match(row.updated_at, ISO_UTC);
    const created = Date.parse(row.created_at);
    assert.ok(Math.abs(created - before) < 60000, `created_at ${row.created_at} is near now`);
    // The stored document reads back identically.
    const back = await ok(db.from('todos').select('*').eq('id', row.id));
    assert.deepEqual(back, [row]);
  });

  test('two inserts get distinct UUIDv7 ids', async () => {
    const a = await ok(db.from('todos').insert({ title: 'u1' }).select('id'));
    const b = await ok(db.from('todos').insert({ title: 'u2' }).select('id'));
    assert.match(a[0].id, UUID_V7);
    assert.match(b[0].id, UUID_V7);
    assert.notEqual(a[0].id, b[0].id);
  });

  test('insert().select().single() returns one bare object', async () => {
    const res = await db.from('todos').insert({ title: 'single repr' }).select('id,title').single();
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.status, 201);
    assert.ok(!Array.isArray(res.data));
    assert.equal(res.data.title, 'single repr');
    assert.match(res.data.id, UUID_V7);
    assert.deepEqual(Object.keys(res.data).sort(), ['id', 'title']);
  });

  test('insert an array (client sends columns=): all rows written, in order', async () => {
    const res = await db.from('todos')
      .insert([{ title: 'arr1', batch: 'B' }, { title: 'arr2', batch: 'B', extra: 1 }, { title: 'arr3', batch: 'B' }])
      .select('title,batch,extra');
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.status, 201);
    assert.deepEqual(res.data.map((r) => r.title), ['arr1', 'arr2', 'arr3']);
    assert.equal(res.data[1].extra, 1);
    const rows = await ok(db.from('todos').select('title').eq('batch', 'B').order('title'));
    assert.deepEqual(rows, [{ title: 'arr1' }, { title: 'arr2' }, { title: 'arr3' }]);
  });

  test('columns= restricts which keys of the body are stored', async () => {
    const r = await request(server, 'POST', '/rest/v1/todos?columns=%22title%22%2C%22batch%22&select=title,batch,secret', {
      json: [{ title: 'cols1', batch: 'C', secret: 's' }],
      headers: { Prefer: 'return=representation' },
    });
    assert.equal(r.status, 201, r.text);
    const rows = await ok(db.from('todos').select('*').eq('title', 'cols1'));
    assert.equal(rows.length, 1);
    assert.equal(rows[0].batch, 'C');
    assert.ok(!('secret' in rows[0]) || rows[0].secret === null, `secret must not be stored: ${JSON.stringify(rows[0])}`);
  });

  test('an explicit id is kept', async () => {
    const row = await ok(db.from('todos').insert({ id: 'my-own-id', title: 'explicit' }).select().single());
    assert.equal(row.id, 'my-own-id');
    const back = await ok(db.from('todos').select('id,title').eq('id', 'my-own-id'));
    assert.deepEqual(back, [{ id: 'my-own-id', title: 'explicit' }]);
  });

  test('inserting an existing id fails with 409 23505', async () => {
    const res = await db.from('todos').insert({ id: 'my-own-id', title: 'again' });
    assert.equal(res.status, 409);
    assert.equal(res.error?.code, '23505');
    const back = await ok(db.from('todos').select('title').eq('id', 'my-own-id'));
    assert.deepEqual(back, [{ title: 'explicit' }]);
  });

  test('unicode and special characters round-trip', async () => {
    const title = 'héllo "wörld" \' \\ 日本語 😀 a,b(c)';
    const row = await ok(db.from('todos').insert({ title }).select('id,title').single());
    assert.equal(row.title, title);
    const back = await ok(db.from('todos').select('title').eq('id', row.id).single());
    assert.equal(back.title, title);
    const viaEq = await ok(db.from('todos').select('id').eq('title', title));
    assert.deepEqual(viaEq, [{ id: row.id }]);
  });
});

describe('select', () => {
  test("select('*') returns whole documents with id and timestamps", async () => {
    const rows = await ok(db.from('items').select('*').eq('id', 'a1'));
    assert.equal(rows.length, 1);
    const { created_at, updated_at, ...rest } = rows[0];
    assert.match(created_at, ISO_UTC);
    assert.match(updated_at, ISO_UTC);
    const { version, ...doc } = rest; // tolerate (but do not require) a version field
    assert.deepEqual(doc, ITEMS[0]);
  });

  test('select with no arguments means *', async () => {
    const rows = await ok(db.from('items').select().eq('id', 'a3'));
    assert.equal(rows[0].title, 'Gamma');
    assert.deepEqual(rows[0].meta, ITEMS[2].meta);
  });

  test("column list 'id,title' returns exactly those keys", async () => {
    const rows = await ok(db.from('items').select('id, title').order('id'));
    assert.deepEqual(rows, ITEMS.map(({ id, title }) => ({ id, title })));
  });

  test("alias 'name:title'", async () => {
    const rows = await ok(db.from('items').select('id,name:title').eq('id', 'a2'));
    assert.deepEqual(rows, [{ id: 'a2', name: 'alpine' }]);
  });

  test("JSON path 'meta->tags' keeps JSON, named after the last key", async () => {
    const rows = await ok(db.from('items').select('id,meta->tags').eq('id', 'a2'));
    assert.deepEqual(rows, [{ id: 'a2', tags: ['t2', 't3'] }]);
  });

  test("JSON path 'meta->>kind' gives text", async () => {
    const rows = await ok(db.from('items').select('meta->>kind').eq('id', 'a4'));
    assert.deepEqual(rows, [{ kind: 'z' }]);
  });

  test('nested paths and aliases on paths', async () => {
    const rows = await ok(db.from('items').select('id,meta->deep->level,lvl:meta->deep,k:meta->>kind').eq('id', 'a3'));
    assert.deepEqual(rows, [{ id: 'a3', level: 3, lvl: { level: 3 }, k: 'x' }]);
  });

  test('->> on a number gives its text, as PostgREST does', async () => {
    const rows = await ok(db.from('items').select('meta->deep->>level').eq('id', 'a3'));
    assert.deepEqual(rows, [{ level: '3' }]);
  });

  test('array index in a path', async () => {
    const rows = await ok(db.from('items').select('first:tags->0,t:meta->tags->>1').eq('id', 'a4'));
    assert.deepEqual(rows, [{ first: 'green', t: 't2' }]);
  });

  test('a missing field selects as null', async () => {
    const rows = await ok(db.from('items').select('id,nosuchfield').eq('id', 'a1'));
    assert.deepEqual(rows, [{ id: 'a1', nosuchfield: null }]);
  });
});

describe('filters', () => {
  const cases = [
    ['eq number', (q) => q.eq('age', 25), ['a2', 'a4']],
    ['eq string', (q) => q.eq('title', 'Gamma'), ['a3']],
    ['eq boolean', (q) => q.eq('done', false), ['a1', 'a3', 'a4']],
    ['eq id', (q) => q.eq('id', 'a5'), ['a5']],
    ['neq', (q) => q.neq('age', 25), ['a1', 'a3', 'a5']],
    ['gt', (q) => q.gt('age', 30), ['a3', 'a5']],
    ['gte', (q) => q.gte('age', 30), ['a1', 'a3', 'a5']],
    ['lt', (q) => q.lt('age', 30), ['a2', 'a4']],
    ['lte', (q) => q.lte('age', 25), ['a2', 'a4']],
    ['gt on a real', (q) => q.gt('score', 1.5), ['a3', 'a4']],
    ['gt on strings', (q) => q.gt('note', 'second'), ['a3']],
    ['like is case-sensitive', (q) => q.like('title', 'Al%'), ['a1']],
    ['like with * wildcard', (q) => q.like('title', '*ph*'), ['a1']],
    ['like %a', (q) => q.like('title', '%a'), ['a1', 'a3', 'a4']],
    ['ilike', (q) => q.ilike('title', 'al%'), ['a1', 'a2']],
    ['ilike with *', (q) => q.ilike('title', '*EPS*'), ['a5']],
    ['is null', (q) => q.is('done', null), ['a5']],
    ['is true', (q) => q.is('done', true), ['a2']],
    ['is false', (q) => q.is('done', false), ['a1', 'a3', 'a4']],
    ['in numbers', (q) => q.in('age', [25, 50]), ['a2', 'a4', 'a5']],
    ['in quoted value with comma', (q) => q.in('title', ['Alpha', 'Epsilon, Jr.']), ['a1', 'a5']],
    ['in ids', (q) => q.in('id', ['a3', 'nope', 'a4']), ['a3', 'a4']],
    ['contains array', (q) => q.contains('tags', ['red']), ['a1', 'a4', 'a5']],
    ['contains array, two elements', (q) => q.contains('tags', ['red', 'blue']), ['a1']],
    ['contains object', (q) => q.contains('meta', { kind: 'x' }), ['a1', 'a3']],
    ['containedBy array', (q) => q.containedBy('tags', ['red', 'blue']), ['a1', 'a2', 'a3', 'a5']],
    ['overlaps array', (q) => q.overlaps('tags', ['green', 'blue']), ['a1', 'a2', 'a4']],
    ['not eq', (q) => q.not('age', 'eq', 25), ['a1', 'a3', 'a5']],
    ['not is null', (q) => q.not('done', 'is', null), ['a1', 'a2', 'a3', 'a4']],
    ['not in', (q) => q.not('age', 'in', '(25,30)'), ['a3', 'a5']],
    ['or', (q) => q.or('age.eq.25,age.gt.45'), ['a2', 'a4', 'a5']],
    ['or with nested and', (q) => q.or('title.eq.Gamma,and(age.eq.25,score.eq.2)'), ['a3', 'a4']],
    ['or combined with a top-level filter', (q) => q.or('age.eq.25,age.eq.40').eq('done', false), ['a3', 'a4']],
    ['or with not inside', (q) => q.or('age.not.eq.25,title.eq.alpine'), ['a1', 'a2', 'a3', 'a5']],
    ['match', (q) => q.match({ age: 25, done: false }), ['a4']],
    ['neq leaves out nulls (SQL semantics)', (q) => q.neq('score', 2), ['a1', 'a3']],
    ['not eq leaves out nulls', (q) => q.not('score', 'eq', 2), ['a1', 'a3']],
    ['or with is.null', (q) => q.or('score.is.null,age.gt.45'), ['a2', 'a5']],
    ['like with _', (q) => q.like('title', 'G_mma'), ['a3']],
    ['in with parentheses in a quoted value', (q) => q.in('note', ['x(y)', 'third']), ['a3']],
    ['several filters are ANDed', (q) => q.gte('age', 25).lt('age', 45).eq('done', false), ['a1', 'a3', 'a4']],
    ['JSON path ->> eq', (q) => q.eq('meta->>kind', 'x'), ['a1', 'a3']],
    ['nested JSON path ->> eq', (q) => q.eq('meta->deep->>level', '2'), ['a2']],
    ['filter() verbatim', (q) => q.filter('age', 'in', '(40,50)'), ['a3', 'a5']],
    ['no match', (q) => q.eq('title', 'nothing like this'), []],
  ];
  for (const [name, build, expected] of cases) {
    test(name, async () => {
      assert.deepEqual(await matchIds(build, name), expected);
    });
  }

  test('form-encoded value with + and spaces', async () => {
    const r = await request(server, 'GET', '/rest/v1/items?select=id&title=eq.Epsilon%2C+Jr.');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, [{ id: 'a5' }]);
  });

  test('and= parameter', async () => {
    const r = await request(server, 'GET', '/rest/v1/items?select=id&and=(age.gte.30,age.lte.40)&order=id');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, [{ id: 'a1' }, { id: 'a3' }]);
  });
});

describe('order, limit, range, count', () => {
  test('order by several columns, descending first', async () => {
    const rows = await ok(db.from('items').select('id').order('age', { ascending: false }).order('title'));
    assert.deepEqual(rows.map((r) => r.id), ['a5', 'a3', 'a1', 'a2', 'a4']);
  });

  test('ascending puts nulls last by default', async () => {
    const rows = await ok(db.from('items').select('id').order('score').order('id'));
    assert.deepEqual(rows.map((r) => r.id), ['a1', 'a4', 'a3', 'a2', 'a5']);
  });

  test('ascending with nullsFirst', async () => {
    const rows = await ok(db.from('items').select('id').order('score', { ascending: true, nullsFirst: true }).order('id'));
    assert.deepEqual(rows.map((r) => r.id), ['a2', 'a5', 'a1', 'a4', 'a3']);
  });

  test('descending puts nulls first by default', async () => {
    const rows = await ok(db.from('items').select('id').order('score', { ascending: false }).order('id'));
    assert.deepEqual(rows.map((r) => r.id), ['a2', 'a5', 'a3', 'a4', 'a1']);
  });

  test('descending with nullsFirst:false', async () => {
    const rows = await ok(db.from('items').select('id').order('score', { ascending: false, nullsFirst: false }).order('id', { ascending: false }));
    assert.deepEqual(rows.map((r) => r.id), ['a3', 'a4', 'a1', 'a5', 'a2']);
  });

  test('order by a JSON path', async () => {
    const rows = await ok(db.from('items').select('id').order('meta->deep->level', { ascending: false }));
    assert.deepEqual(rows.map((r) => r.id), ['a5', 'a4', 'a3', 'a2', 'a1']);
  });

  test('order by id descending', async () => {
    const rows = await ok(db.from('items').select('id').order('id', { ascending: false }));
    assert.deepEqual(rows.map((r) => r.id), ['a5', 'a4', 'a3', 'a2', 'a1']);
  });

  test('limit', async () => {
    const rows = await ok(db.from('items').select('id').order('id').limit(2));
    assert.deepEqual(rows.map((r) => r.id), ['a1', 'a2']);
  });

  test('range (offset + limit)', async () => {
    const rows = await ok(db.from('items').select('id').order('id').range(1, 3));
    assert.deepEqual(rows.map((r) => r.id), ['a2', 'a3', 'a4']);
  });

  test('range past the end gives an empty array', async () => {
    const rows = await ok(db.from('items').select('id').order('id').range(10, 12));
    assert.deepEqual(rows, []);
  });

  test("count 'exact' with a partial page: count is the total, status 206", async () => {
    const res = await db.from('items').select('id', { count: 'exact' }).order('id').range(0, 1);
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.count, 5);
    assert.equal(res.status, 206);
    assert.deepEqual(res.data.map((r) => r.id), ['a1', 'a2']);
  });

  test("count 'exact' with every row: status 200", async () => {
    const res = await db.from('items').select('id', { count: 'exact' }).eq('age', 25);
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.count, 2);
    assert.equal(res.status, 200);
    assert.equal(res.data.length, 2);
  });

  test('raw: Prefer count=exact with limit=2 → 206 and Content-Range 0-1/5', async () => {
    const r = await request(server, 'GET', '/rest/v1/items?select=id&order=id&limit=2', {
      headers: { Prefer: 'count=exact', 'Accept-Profile': 'public' },
    });
    assert.equal(r.status, 206, r.text);
    assert.equal(r.headers.get('content-range'), '0-1/5');
    assert.deepEqual(r.body, [{ id: 'a1' }, { id: 'a2' }]);
  });

  test('raw: offset page → Content-Range 2-3/5', async () => {
    const r = await request(server, 'GET', '/rest/v1/items?select=id&order=id&offset=2&limit=2', {
      headers: { Prefer: 'count=exact' },
    });
    assert.equal(r.status, 206, r.text);
    assert.equal(r.headers.get('content-range'), '2-3/5');
  });

  test('raw: every row with count → 200 and Content-Range 0-4/5', async () => {
    const r = await request(server, 'GET', '/rest/v1/items?select=id', { headers: { Prefer: 'count=exact' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-range'), '0-4/5');
  });

  test('raw: no rows with count → Content-Range */0', async () => {
    const r = await request(server, 'GET', '/rest/v1/items?select=id&age=eq.99', { headers: { Prefer: 'count=exact' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, []);
    assert.equal(r.headers.get('content-range'), '*/0');
  });

  test('head: true gives the count and no data', async () => {
    const res = await db.from('items').select('*', { count: 'exact', head: true });
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.count, 5);
    assert.equal(res.data, null);
    assert.equal(res.status, 200);
  });

  test('head: true with a filter', async () => {
    const res = await db.from('items').select('*', { count: 'exact', head: true }).eq('done', false);
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.count, 3);
  });

  test('raw HEAD has an empty body and a Content-Range', async () => {
    const r = await request(server, 'HEAD', '/rest/v1/items?select=id', { headers: { Prefer: 'count=exact' } });
    assert.equal(r.status, 200);
    assert.equal(r.text, '');
    assert.equal(r.headers.get('content-range'), '0-4/5');
  });
});

describe('single, maybeSingle, csv', () => {
  test('single() with one row returns the bare object', async () => {
    const res = await db.from('items').select('id,title').eq('id', 'a1').single();
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.status, 200);
    assert.deepEqual(res.data, { id: 'a1', title: 'Alpha' });
  });

  test('single() with 0 rows → 406 PGRST116', async () => {
    const res = await db.from('items').select('id').eq('id', 'none').single();
    assert.equal(res.status, 406);
    assert.equal(res.data, null);
    assert.equal(res.error?.code, 'PGRST116');
  });

  test('single() with 2 rows → 406 PGRST116', async () => {
    const res = await db.from('items').select('id').eq('age', 25).single();
    assert.equal(res.status, 406);
    assert.equal(res.error?.code, 'PGRST116');
  });

  test('raw object+json Accept: 406 body has the PostgREST shape', async () => {
    const r = await request(server, 'GET', '/rest/v1/items?select=id&id=eq.none', {
      headers: { Accept: 'application/vnd.pgrst.object+json' },
    });
    assertPgError(r, 406, 'PGRST116', 'single with 0 rows');
  });

  test('maybeSingle() with 0 rows → data null, no error', async () => {
    const res = await db.from('items').select('id').eq('id', 'none').maybeSingle();
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.data, null);
  });

  test('maybeSingle() with 1 row → that object', async () => {
    const res = await db.from('items').select('id,age').eq('id', 'a3').maybeSingle();
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.deepEqual(res.data, { id: 'a3', age: 40 });
  });

  test('maybeSingle() with 2 rows → PGRST116', async () => {
    const res = await db.from('items').select('id').eq('age', 25).maybeSingle();
    assert.equal(res.error?.code, 'PGRST116');
  });

  test('csv() gives text/csv with a header line', async () => {
    const res = await db.from('items').select('id,title,age').order('id').csv();
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(typeof res.data, 'string');
    const lines = res.data.replace(/\r?\n$/, '').split(/\r?\n/);
    assert.deepEqual(lines, [
      'id,title,age',
      'a1,Alpha,30',
      'a2,alpine,25',
      'a3,Gamma,40',
      'a4,delta,25',
      'a5,"Epsilon, Jr.",50',
    ]);
    const r = await request(server, 'GET', '/rest/v1/items?select=id&order=id&limit=1', { headers: { Accept: 'text/csv' } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') || '', /^text\/csv/);
    assert.deepEqual(r.text.replace(/\r?\n$/, '').split(/\r?\n/), ['id', 'a1']);
  });
});

describe('writes with single() and count', () => {
  test('bulk insert with select().single() → 406 and nothing written', async () => {
    const res = await db.from('todos').insert([{ title: 'single-bulk' }, { title: 'single-bulk' }]).select().single();
    assert.equal(res.status, 406);
    assert.equal(res.error?.code, 'PGRST116');
    const { count } = await db.from('todos').select('*', { count: 'exact', head: true }).eq('title', 'single-bulk');
    assert.equal(count, 0, 'the insert was rolled back');
  });

  test('update of 2 rows with select().single() → 406 and nothing changed', async () => {
    await ok(db.from('todos').insert([{ title: 'su', k: 1 }, { title: 'su', k: 2 }]));
    const res = await db.from('todos').update({ k: 99 }).eq('title', 'su').select().single();
    assert.equal(res.status, 406);
    assert.equal(res.error?.code, 'PGRST116');
    const rows = await ok(db.from('todos').select('k').eq('title', 'su').order('k'));
    assert.deepEqual(rows, [{ k: 1 }, { k: 2 }], 'the update was rolled back');
  });

  test("insert with count 'exact' reports the number of rows written", async () => {
    const res = await db.from('todos').insert([{ title: 'cnt' }, { title: 'cnt' }, { title: 'cnt' }], { count: 'exact' });
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.count, 3);
  });

  test("update and delete with count 'exact' report the rows affected", async () => {
    const u = await db.from('todos').update({ counted: true }, { count: 'exact' }).eq('title', 'cnt');
    assert.equal(u.error, null, JSON.stringify(u.error));
    assert.equal(u.count, 3);
    const d = await db.from('todos').delete({ count: 'exact' }).eq('title', 'cnt');
    assert.equal(d.error, null, JSON.stringify(d.error));
    assert.equal(d.count, 3);
  });
});

describe('timestamps in filters and order', () => {
  test('created_at compares as a timestamp column', async () => {
    const a = await ok(db.from('todos').insert({ title: 'ts-a' }).select('id,created_at').single());
    await sleep(20);
    const b = await ok(db.from('todos').insert({ title: 'ts-b' }).select('id,created_at').single());
    assert.ok(b.created_at > a.created_at, `${b.created_at} > ${a.created_at}`);
    const after = await ok(db.from('todos').select('title').gt('created_at', a.created_at).in('title', ['ts-a', 'ts-b']));
    assert.deepEqual(after, [{ title: 'ts-b' }]);
    const from = await ok(db.from('todos').select('title').gte('created_at', a.created_at).in('title', ['ts-a', 'ts-b']).order('created_at', { ascending: false }));
    assert.deepEqual(from, [{ title: 'ts-b' }, { title: 'ts-a' }]);
  });
});

describe('update', () => {
  before(async () => {
    await ok(db.from('writes').insert([
      { id: 'w1', title: 'one', done: false, group: 'g' },
      { id: 'w2', title: 'two', done: false, group: 'g' },
      { id: 'w3', title: 'three', done: false, group: 'h' },
    ]));
  });

  test('update with a filter and select() returns the updated rows', async () => {
    const [orig] = await ok(db.from('writes').select('*').eq('id', 'w1'));
    await sleep(1100); // make sure the clock moved even at 1-second resolution
    const res = await db.from('writes').update({ done: true, extra: { k: 1 } }).eq('id', 'w1').select();
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.status, 200);
    assert.equal(res.data.length, 1);
    const row = res.data[0];
    assert.equal(row.id, 'w1');
    assert.equal(row.done, true);
    assert.deepEqual(row.extra, { k: 1 });
    assert.equal(row.title, 'one', 'fields not in the PATCH body are kept');
    assert.equal(row.group, 'g');
    assert.equal(row.created_at, orig.created_at, 'created_at unchanged');
    assert.match(row.updated_at, ISO_UTC);
    assert.ok(Date.parse(row.updated_at) > Date.parse(orig.updated_at), `updated_at moved: ${orig.updated_at} → ${row.updated_at}`);
    // Others untouched.
    const others = await ok(db.from('writes').select('id,done').neq('id', 'w1').order('id'));
    assert.deepEqual(others, [{ id: 'w2', done: false }, { id: 'w3', done: false }]);
  });

  test('update without select: 204, data null, change visible', async () => {
    const res = await db.from('writes').update({ title: 'TWO' }).eq('id', 'w2');
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.status, 204);
    assert.equal(res.data, null);
    const rows = await ok(db.from('writes').select('title').eq('id', 'w2'));
    assert.deepEqual(rows, [{ title: 'TWO' }]);
  });

  test('update of several rows by a filter', async () => {
    const rows = await ok(db.from('writes').update({ flag: 'G' }).eq('group', 'g').select('id,flag').order('id'));
    assert.deepEqual(rows, [{ id: 'w1', flag: 'G' }, { id: 'w2', flag: 'G' }]);
    const w3 = await ok(db.from('writes').select('id,flag').eq('id', 'w3'));
    assert.deepEqual(w3, [{ id: 'w3', flag: null }]);
  });

  test('update matching nothing returns []', async () => {
    const rows = await ok(db.from('writes').update({ flag: 'x' }).eq('id', 'nope').select());
    assert.deepEqual(rows, []);
  });

  test('update().select().single() returns the object', async () => {
    const res = await db.from('writes').update({ title: 'three!' }).eq('id', 'w3').select('id,title').single();
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.deepEqual(res.data, { id: 'w3', title: 'three!' });
  });
});

describe('delete', () => {
  before(async () => {
    await ok(db.from('writes').insert([
      { id: 'd1', title: 'del1', kind: 'del' },
      { id: 'd2', title: 'del2', kind: 'del' },
      { id: 'd3', title: 'del3', kind: 'del' },
    ]));
  });

  test('delete with filter and select() returns the deleted rows', async () => {
    const res = await db.from('writes').delete().eq('id', 'd1').select('id,title');
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.status, 200);
    assert.deepEqual(res.data, [{ id: 'd1', title: 'del1' }]);
    const left = await ok(db.from('writes').select('id').eq('kind', 'del').order('id'));
    assert.deepEqual(left, [{ id: 'd2' }, { id: 'd3' }]);
  });

  test('delete without select: 204', async () => {
    const res = await db.from('writes').delete().in('id', ['d2', 'd3']);
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.status, 204);
    assert.equal(res.data, null);
    const left = await ok(db.from('writes').select('id').eq('kind', 'del'));
    assert.deepEqual(left, []);
  });

  test('delete matching nothing', async () => {
    const rows = await ok(db.from('writes').delete().eq('id', 'nope').select());
    assert.deepEqual(rows, []);
  });
});

describe('upsert', () => {
  test("upsert with onConflict 'id' inserts, then merges duplicates", async () => {
    const first = await ok(db.from('upserts').upsert({ id: 'u1', title: 'old', keep: 'k' }, { onConflict: 'id' }).select());
    assert.equal(first.length, 1);
    assert.equal(first[0].title, 'old');
    const created = first[0].created_at;
    const res = await db.from('upserts').upsert({ id: 'u1', title: 'new', extra: 1 }, { onConflict: 'id' }).select();
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.data.length, 1);
    assert.equal(res.data[0].id, 'u1');
    assert.equal(res.data[0].title, 'new');
    assert.equal(res.data[0].extra, 1);
    assert.equal(res.data[0].keep, 'k', 'columns absent from the upsert body are kept (ON CONFLICT DO UPDATE SET only the given columns)');
    assert.equal(res.data[0].created_at, created);
    const all = await ok(db.from('upserts').select('id,title').eq('id', 'u1'));
    assert.deepEqual(all, [{ id: 'u1', title: 'new' }]);
  });

  test('ignoreDuplicates leaves the old row', async () => {
    const res = await db.from('upserts').upsert({ id: 'u1', title: 'ignored' }, { onConflict: 'id', ignoreDuplicates: true }).select();
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.deepEqual(res.data, [], 'no row was inserted or updated');
    const rows = await ok(db.from('upserts').select('id,title').eq('id', 'u1'));
    assert.deepEqual(rows, [{ id: 'u1', title: 'new' }]);
  });

  test('ignoreDuplicates still inserts new rows', async () => {
    const res = await db.from('upserts').upsert(
      [{ id: 'u1', title: 'ignored' }, { id: 'u3', title: 'fresh' }],
      { onConflict: 'id', ignoreDuplicates: true },
    ).select('id,title');
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.deepEqual(res.data, [{ id: 'u3', title: 'fresh' }]);
    const rows = await ok(db.from('upserts').select('id,title').in('id', ['u1', 'u3']).order('id'));
    assert.deepEqual(rows, [{ id: 'u1', title: 'new' }, { id: 'u3', title: 'fresh' }]);
  });

  test('upsert without on_conflict uses id', async () => {
    let res = await db.from('upserts').upsert({ id: 'u2', title: 'a' });
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.status, 201);
    res = await db.from('upserts').upsert({ id: 'u2', title: 'b' });
    assert.equal(res.error, null, JSON.stringify(res.error));
    const rows = await ok(db.from('upserts').select('id,title').eq('id', 'u2'));
    assert.deepEqual(rows, [{ id: 'u2', title: 'b' }]);
  });

  test('upsert an array mixing new and existing rows', async () => {
    const res = await db.from('upserts').upsert([{ id: 'u2', title: 'c' }, { id: 'u4', title: 'd' }]).select('id,title');
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.deepEqual([...res.data].sort((a, b) => a.id.localeCompare(b.id)), [{ id: 'u2', title: 'c' }, { id: 'u4', title: 'd' }]);
    const { count } = await db.from('upserts').select('*', { count: 'exact', head: true });
    assert.equal(count, 4); // u1 u2 u3 u4
  });
});

describe('unfiltered PATCH and DELETE', () => {
  before(async () => {
    await ok(db.from('bulk').insert([{ id: 'b1', n: 1 }, { id: 'b2', n: 2 }, { id: 'b3', n: 3 }]));
  });

  test('anon key cannot PATCH or DELETE without a filter', async () => {
    const patch = await request(server, 'PATCH', '/rest/v1/bulk', { key: 'anon', json: { n: 0 } });
    assert.ok([401, 403].includes(patch.status), `PATCH as anon: ${patch.status} ${patch.text}`);
    const del = await request(server, 'DELETE', '/rest/v1/bulk', { key: 'anon', headers: { 'Content-Type': 'application/json' } });
    assert.ok([401, 403].includes(del.status), `DELETE as anon: ${del.status} ${del.text}`);
    const rows = await ok(db.from('bulk').select('id,n').order('id'));
    assert.deepEqual(rows, [{ id: 'b1', n: 1 }, { id: 'b2', n: 2 }, { id: 'b3', n: 3 }]);
  });

  test('service_role may PATCH every row', async () => {
    const res = await request(server, 'PATCH', '/rest/v1/bulk', { json: { flag: true } });
    assert.equal(res.status, 204, res.text);
    const rows = await ok(db.from('bulk').select('id,flag').order('id'));
    assert.deepEqual(rows, [{ id: 'b1', flag: true }, { id: 'b2', flag: true }, { id: 'b3', flag: true }]);
  });

  test('service_role may DELETE every row', async () => {
    const res = await request(server, 'DELETE', '/rest/v1/bulk', { headers: { 'Content-Type': 'application/json' } });
    assert.equal(res.status, 204, res.text);
    const { count } = await db.from('bulk').select('*', { count: 'exact', head: true });
    assert.equal(count, 0);
  });
});

describe('profiles', () => {
  test("Accept-Profile / Content-Profile 'public' are accepted", async () => {
    const g = await request(server, 'GET', '/rest/v1/items?select=id&id=eq.a1', { headers: { 'Accept-Profile': 'public' } });
    assert.equal(g.status, 200, g.text);
    assert.deepEqual(g.body, [{ id: 'a1' }]);
    const p = await request(server, 'POST', '/rest/v1/todos', {
      json: { title: 'profile public' }, headers: { 'Content-Profile': 'public' },
    });
    assert.equal(p.status, 201, p.text);
  });

  test("schema('other') → 406", async () => {
    const res = await db.schema('other').from('items').select('id');
    assert.equal(res.status, 406);
    assert.equal(res.data, null);
    assert.match(String(res.error?.code), /^PGRST/);
    const w = await db.schema('other').from('todos').insert({ title: 'nope' });
    assert.equal(w.status, 406);
    const { count } = await db.from('todos').select('*', { count: 'exact', head: true }).eq('title', 'nope');
    assert.equal(count, 0);
  });

  test('raw: unknown Accept-Profile → 406 with the PostgREST body', async () => {
    const r = await request(server, 'GET', '/rest/v1/items?select=id', { headers: { 'Accept-Profile': 'other' } });
    assertPgError(r, 406, /^PGRST/, 'Accept-Profile: other');
  });
});
