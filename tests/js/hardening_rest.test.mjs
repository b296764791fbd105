// Hardening of /rest/v1 writes, from the outside with the real supabase-js:
//
//  - Keys with every JSON escape class ("a\"b", "a\\b", "caf\u00e9",
//    control characters, surrogate pairs, dots, brackets, $, *, spaces, the
//    empty key) round-trip through insert, update, upsert (merge), bulk
//    insert (columns=), select= and filters, and no write ever leaves a key
//    twice in the stored text (SQLite 3.40's json_set used to append a second
//    copy of an escaped key on every write: SQL then read the first copy, C
//    rules and realtime the last).
//  - Documents that already hold a duplicate key are reported (a log line at
//    start, GET /admin/v1/collections/NAME/check), never repaired silently.
//  - Upsert is not an oracle across users: on_conflict must name a unique
//    index (400 42P10), and a probe for a value held in another user's row
//    gets the same answer as one for a value nobody holds.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  startServer, clients, createCollection, request, admin, assertPgError, tokenClient, mintToken, sleep,
} from './lib/server.mjs';

/** The top-level keys of a JSON object text, duplicates included, in order. */
function topLevelKeys(text) {
  const keys = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      let k = j + 1;
      while (/\s/.test(text[k])) k++;
      if (depth === 1 && text[k] === ':') keys.push(JSON.parse(text.slice(i, j + 1)));
      i = j;
    } else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') depth--;
  }
  return keys;
}

/** A name quoted for the PostgREST grammar: "...", with \ and " escaped. */
const q = (k) => `"${k.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The stored text of one document (select=* hands back `data` untouched). */
async function storedText(server, coll, id) {
  const r = await request(server, 'GET', `/rest/v1/${coll}?id=eq.${encodeURIComponent(id)}`, {
    headers: { Accept: 'application/vnd.pgrst.object+json' },
  });
  assert.equal(r.status, 200, r.text);
  return r.text;
}

function assertOneCopy(text, key, what) {
  const keys = topLevelKeys(text);
  assert.equal(keys.length, new Set(keys).size, `${what}: no key twice in ${text}`);
  assert.equal(keys.filter((k) => k === key).length, 1, `${what}: ${JSON.stringify(key)} once in ${text}`);
}

async function until(fn, what, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const KEYS = [
  ['a quote', 'a"b'],
  ['a backslash', 'a\\b'],
  ['a slash', 'a/b'],
  ['\\b \\f \\n \\r \\t', '\b\f\n\r\t'],
  ['other control characters', '\u0001\u001f'],
  ['non-ASCII', 'café'],
  ['a surrogate pair', '😀'],
  ['a dot', 'a.b'],
  ['brackets', 'a[0]'],
  ['a dollar', '$'],
  ['a path', '$.x'],
  ['a star', '*'],
  ['a space', 'a b'],
  ['the empty key', ''],
  ['an apostrophe', "it's"],
  ['a quote, a dot and a bracket', 'a"b.c[1]'],
  ['backslash-u as text', '\\u00e9'],
  ['a comma', 'a,b'],
];

describe('keys with every escape class', () => {
  let server, db;
  before(async () => {
    server = await startServer();
    ({ service: db } = clients(server));
    await createCollection(server, 'keys');
  });
  after(async () => {
    await db?.removeAllChannels();
    await server?.stop({ expectExit0: true });
  });

  KEYS.forEach(([label, k], i) => {
    test(`${label}: insert, update, upsert, bulk insert, select and filters`, async () => {
      const id = `k${i}`;
      let r = await db.from('keys').insert({ id, [k]: 1, n: i }).select();
      assert.equal(r.error, null, JSON.stringify(r.error));
      assert.equal(r.data[0][k], 1);
      assertOneCopy(await storedText(server, 'keys', id), k, 'insert');

      for (const v of [2, 3]) { // a second write appended a second copy before
        r = await db.from('keys').update({ [k]: v }).eq('id', id).select();
        assert.equal(r.error, null, JSON.stringify(r.error));
        assert.equal(r.data[0][k], v, 'update');
        assertOneCopy(await storedText(server, 'keys', id), k, `update to ${v}`);
      }

      r = await db.from('keys').upsert({ id, [k]: 4, extra: true }).select();
      assert.equal(r.error, null, JSON.stringify(r.error));
      assert.equal(r.data[0][k], 4, 'upsert merge');
      assert.equal(r.data[0].n, i, 'keys absent from the upsert body are kept');
      assertOneCopy(await storedText(server, 'keys', id), k, 'upsert');

      // select= with the quoted name, and filters on it
      r = await db.from('keys').select(q(k)).eq('id', id).single();
      assert.equal(r.error, null, JSON.stringify(r.error));
      assert.deepEqual(r.data, { [k]: 4 });
      r = await db.from('keys').select('id').eq(q(k), 4);
      assert.equal(r.error, null, JSON.stringify(r.error));
      assert.deepEqual(r.data, [{ id }]);
      r = await db.from('keys').select('id').or(`${q(k)}.eq.4,${q(k)}.eq.5`);
      assert.deepEqual(r.data, [{ id }], JSON.stringify(r.error));
      r = await db.from('keys').select('id').order(q(k), { ascending: false }).eq('id', id);
      assert.deepEqual(r.data, [{ id }], JSON.stringify(r.error));

      // bulk insert: postgrest-js sends columns="id","<k>",... without escaping
      const b1 = `b${i}`, b2 = `c${i}`;
      r = await db.from('keys').insert([{ id: b1, [k]: 5, junk: 'j' }, { id: b2, other: 1 }]).select();
      assert.equal(r.error, null, JSON.stringify(r.error));
      assert.deepEqual(r.data.map((d) => d[k]), [5, null], 'columns=: missing columns are null');
      assertOneCopy(await storedText(server, 'keys', b1), k, 'bulk insert');
      assertOneCopy(await storedText(server, 'keys', b2), k, 'bulk insert, key missing');
      // bulk upsert merges through the same columns=
      r = await db.from('keys').upsert([{ id: b2, [k]: 6 }]).select();
      assert.equal(r.error, null, JSON.stringify(r.error));
      assert.equal(r.data[0][k], 6);
      assert.equal(r.data[0].other, 1);
      assertOneCopy(await storedText(server, 'keys', b2), k, 'bulk upsert');
    });
  });

  test('keys spelled with escapes by hand (curl) are stored in one spelling', async () => {
    // the example: "caf\u00e9" used to store null and append a copy
    const body = '{"id":"raw1","caf\\u00e9":1,"a\\/b":2,"\\u0041":3,"t\\u0061gs":{"caf\\u00e9":[1]}}';
    let r = await request(server, 'POST', '/rest/v1/keys', { body, headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 201, r.text);
    r = await request(server, 'PATCH', '/rest/v1/keys?id=eq.raw1', {
      body: '{"caf\\u00e9":2,"a\\u002fb":3}', headers: { 'Content-Type': 'application/json', Prefer: 'return=representation' },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body[0]['café'], 2);
    assert.equal(r.body[0]['a/b'], 3);
    const text = await storedText(server, 'keys', 'raw1');
    assertOneCopy(text, 'café', 'raw PATCH');
    assert.ok(text.includes('"café":2') && text.includes('"a/b":3') && text.includes('"A":3'), text);
    assert.ok(text.includes('"tags":{"café":[1]}'), `nested keys respelled too: ${text}`);
    // SQL sees what C sees: filters find the key, nested ones too
    r = await db.from('keys').select('id').eq('"café"', 2);
    assert.deepEqual(r.data, [{ id: 'raw1' }]);
    r = await db.from('keys').select('id').eq('tags->"café"->>0', '1');
    assert.deepEqual(r.data, [{ id: 'raw1' }], JSON.stringify(r.error));
  });

  test('realtime hands out the single value that was written', async () => {
    const k = 'a\\b';
    const got = [];
    const ch = db.channel('keys-rt')
      .on('postgres_changes', { event: 'UPDATE', schema: 'public', table: 'keys' }, (p) => got.push(p));
    await new Promise((res, rej) => ch.subscribe((s, err) => (s === 'SUBSCRIBED' ? res() : s !== 'CLOSED' && rej(err || new Error(s)))));
    const r = await db.from('keys').update({ [k]: 'rt' }).eq('id', 'k1');
    assert.equal(r.error, null);
    const p = await until(() => got.find((x) => x.new.id === 'k1'), 'the UPDATE event');
    assert.equal(p.new[k], 'rt');
  });

  test('with *, an added entry whose name needs escaping is refused, not mangled', async () => {
    const r = await request(server, 'GET', `/rest/v1/keys?select=*,${encodeURIComponent(q('x\\y'))}:n`);
    assertPgError(r, 400, 'PGRST100', 'select=*,"x\\\\y":n');
    const ok = await db.from('keys').select(`id,${q('x\\y')}:n`).eq('id', 'k0').single();
    assert.deepEqual(ok.data, { id: 'k0', 'x\\y': 0 });
  });

  test('bad quoting in columns= is a 400, not a silent rename', async () => {
    const r = await request(server, 'POST', '/rest/v1/keys?columns=%22a%22b%22', {
      json: [{ id: 'nope', 'a"c': 1 }],
    });
    assertPgError(r, 400, 'PGRST100', 'columns= that is no list of names');
    assert.match(r.body.message, /failed to parse columns/);
  });

  test('the check finds nothing to report after all of this', async () => {
    const r = await admin(server, 'GET', '/collections/keys/check');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.found, 0, r.text);
    assert.equal(r.body.complete, true);
    assert.ok(r.body.scanned >= KEYS.length * 3);
  });
});

describe('documents that already hold duplicate keys', () => {
  let server, db, migDir;
  const ROWS = [
    ['d1', '{"id":"d1","a":1,"a":2,"b":1,"b":2}'],
    ['d2', '{"id":"d2","caf\\u00e9":1}'],
    ['d3', '{"id":"d3","m":{"x":1,"x":2}}'],
    ['d4', '[1,2]'],
    ['d5', '{"id":"d5","clean":true}'],
  ];
  before(async () => {
    migDir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-dups-mig-'));
    const values = ROWS.map(([id, doc]) => `('${id}', '${doc}', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')`);
    fs.writeFileSync(path.join(migDir, '0001_legacy.sql'), `
      SELECT basalt_create_collection('legacy', '{}');
      INSERT INTO legacy(id, data, created_at, updated_at) VALUES ${values.join(', ')};
    `);
    server = await startServer({ args: ['--migrations-dir', migDir] });
    ({ service: db } = clients(server));
  });
  after(async () => {
    await server?.stop({ expectExit0: true });
    fs.rmSync(migDir, { recursive: true, force: true });
  });

  const logs = () => server.stdout.join('') + server.stderr.join('');

  test('the start-up check logs each one, naming collection and document', async () => {
    await until(() => /db check: \d+ document\(s\) in 1 collection\(s\) need attention/.test(logs()), 'the check summary');
    const l = logs();
    assert.match(l, /db check: collection "legacy" document "d1" holds 2 duplicate key\(s\), first "a"/);
    assert.match(l, /db check: collection "legacy" document "d2" spells 1 key\(s\) with escapes, first "café"/);
    assert.match(l, /db check: collection "legacy" document "d3" holds 1 duplicate key\(s\), first "x"/);
    assert.match(l, /db check: collection "legacy" document "d4" is not a JSON object/);
    assert.doesNotMatch(l, /document "d5"/);
  });

  test('--doc-check off skips the start-up scan (very large databases); the endpoint still answers', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-nocheck-'));
    const quiet = await startServer({ dataDir, args: ['--migrations-dir', migDir, '--doc-check', 'off'] });
    try {
      await sleep(800);
      assert.doesNotMatch(quiet.logs(), /db check/);
      const r = await admin(quiet, 'GET', '/collections/legacy/check');
      assert.equal(r.body.found, 4, r.text);
    } finally {
      await quiet.stop({ expectExit0: true, removeDataDir: true });
    }
  });

  test('GET /admin/v1/collections/NAME/check lists them, page by page', async () => {
    let r = await admin(server, 'GET', '/collections/legacy/check');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, {
      collection: 'legacy', scanned: 5, complete: true, next: null, found: 4,
      documents: [
        { id: 'd1', duplicate_keys: ['a', 'b'], escaped_keys: [] },
        { id: 'd2', duplicate_keys: [], escaped_keys: ['café'] },
        { id: 'd3', duplicate_keys: ['x'], escaped_keys: [] },
        { id: 'd4', not_an_object: true },
      ],
    });
    r = await admin(server, 'GET', '/collections/legacy/check?limit=2');
    assert.equal(r.body.scanned, 2);
    assert.equal(r.body.complete, false);
    assert.equal(r.body.next, 'd2');
    r = await admin(server, 'GET', '/collections/legacy/check?limit=2&after=d2');
    assert.deepEqual(r.body.documents.map((d) => d.id), ['d3', 'd4']);
    r = await admin(server, 'GET', '/collections/legacy/check?after=d4');
    assert.deepEqual([r.body.scanned, r.body.complete, r.body.found], [1, true, 0]);
    assertPgError(await admin(server, 'GET', '/collections/nope/check'), 404, 'PGRST205', 'unknown collection');
    assertPgError(await admin(server, 'GET', '/collections/legacy/check?limit=0'), 400, 'PGRST100', 'limit=0');
    assertPgError(await admin(server, 'GET', '/collections/legacy/check?limit=100001'), 400, 'PGRST100', 'limit too big');
    assertPgError(await admin(server, 'POST', '/collections/legacy/check', {}), 405, 'PGRST117', 'POST');
    assertPgError(await request(server, 'GET', '/admin/v1/collections/legacy/check', { key: 'anon' }), [401, 403], undefined,
      'anon');
  });

  test('nothing is repaired behind anyone\'s back; writing a key leaves one copy of it', async () => {
    assert.deepEqual(topLevelKeys(await storedText(server, 'legacy', 'd1')), ['id', 'a', 'a', 'b', 'b']);
    const r = await db.from('legacy').update({ a: 9 }).eq('id', 'd1').select();
    assert.equal(r.error, null, JSON.stringify(r.error));
    const text = await storedText(server, 'legacy', 'd1');
    assert.deepEqual(topLevelKeys(text), ['id', 'a', 'b', 'b', 'updated_at'], text);
    assert.ok(text.startsWith('{"id":"d1","a":9,'), text);
    await until(() => /document "d1" holds 2 duplicate key\(s\) \(first: "a"\); this write left one copy of 1 of them/
      .test(logs()), 'the write warning');
    // the escaped key is found again once written
    const w = await db.from('legacy').update({ other: 1 }).eq('id', 'd2').select();
    assert.equal(w.error, null);
    const f = await db.from('legacy').select('id').eq('"café"', 1);
    assert.deepEqual(f.data, [{ id: 'd2' }]);
  });
});

describe('upsert is not an oracle across users', () => {
  let server, service, userA;
  const A = crypto.randomUUID();
  const B = crypto.randomUUID();
  const OWNER = 'auth.uid == doc.owner_id';
  before(async () => {
    server = await startServer();
    ({ service } = clients(server));
    const r = await admin(server, 'POST', '/collections', {
      name: 'accounts',
      indexes: [{ fields: ['email'], unique: true }, { fields: ['handle'], unique: false },
        { fields: ['org', 'badge'], unique: true }],
      rules: { select: OWNER, update: OWNER, delete: OWNER, insert: 'auth.uid == new.owner_id' },
    });
    assert.equal(r.status, 201, r.text);
    const seed = await service.from('accounts').insert([
      { id: 'b1', owner_id: B, email: 'b@example.com', handle: 'bob', secret: 's3cret', org: 'o', badge: 7 },
    ]);
    assert.equal(seed.error, null);
    userA = tokenClient(server, mintToken(server, { sub: A, role: 'authenticated', aud: 'authenticated' }));
  });
  after(async () => {
    await server?.stop({ expectExit0: true });
  });

  const answer = (r) => ({ status: r.status, error: r.error, data: r.data });
  const probe = (doc, opts) => userA.from('accounts').upsert(doc, opts).select();

  async function assertUntouched() {
    const r = await service.from('accounts').select('*').order('id');
    assert.equal(r.data.length, 1, `nothing written: ${JSON.stringify(r.data)}`);
    assert.equal(r.data[0].secret, 's3cret');
    assert.equal(r.data[0].owner_id, B);
  }

  for (const ignoreDuplicates of [true, false]) {
    const res = ignoreDuplicates ? 'ignore-duplicates' : 'merge-duplicates';

    test(`${res}: on_conflict on a field without a unique index is 400 42P10, held or not`, async () => {
      for (const [onConflict, held, free] of [
        ['secret', { secret: 's3cret' }, { secret: 'nobody-has-this' }],
        ['handle', { handle: 'bob' }, { handle: 'nobody' }], // indexed, but not unique
        ['org', { org: 'o' }, { org: 'p' }], // part of a unique index only
        ['badge,org,id', { org: 'o', badge: 7 }, { org: 'p', badge: 1 }], // more than the index
      ]) {
        for (const owner of [A, B]) {
          const h = answer(await probe({ owner_id: owner, ...held }, { onConflict, ignoreDuplicates }));
          const f = answer(await probe({ owner_id: owner, ...free }, { onConflict, ignoreDuplicates }));
          assert.deepEqual(h, f, `${onConflict}: held and free answer alike`);
          assert.equal(h.status, 400);
          assert.equal(h.error.code, '42P10');
          assert.equal(h.error.message, 'there is no unique or exclusion constraint matching the ON CONFLICT specification');
        }
      }
      await assertUntouched();
    });

    test(`${res}: a row the caller may not insert is refused alike, whether the value is held or not`, async () => {
      for (const [onConflict, held, free] of [
        ['email', { email: 'b@example.com' }, { email: 'nobody@example.com' }],
        ['badge,org', { org: 'o', badge: 7 }, { org: 'o', badge: 8 }], // the unique index, fields in any order
        [undefined, { id: 'b1' }, { id: 'zz' }], // the primary key
        ['id', { id: 'b1' }, { id: 'zz' }],
      ]) {
        for (const doc of [{ owner_id: B }, {}]) { // B's row, or no owner: the insert rule says no
          const h = answer(await probe({ ...doc, ...held }, { onConflict, ignoreDuplicates }));
          const f = answer(await probe({ ...doc, ...free }, { onConflict, ignoreDuplicates }));
          assert.deepEqual(h, f, `${onConflict}: held and free answer alike`);
          assert.equal(h.status, 403);
          assert.equal(h.error.code, '42501');
          assert.equal(h.error.message, 'new row violates row-level security policy for table "accounts"');
        }
      }
      await assertUntouched();
    });
  }

  test('what a unique index reveals by itself stays as in PostgREST (a plain insert says 409)', async () => {
    const mine = { owner_id: A, email: 'b@example.com' };
    const plain = await userA.from('accounts').insert(mine);
    assert.equal(plain.status, 409);
    assert.equal(plain.error.code, '23505');
    const ign = await userA.from('accounts').upsert(mine, { onConflict: 'email', ignoreDuplicates: true }).select();
    assert.equal(ign.status, 201);
    assert.deepEqual(ign.data, [], 'DO NOTHING: nothing written, nothing returned');
    const merge = await userA.from('accounts').upsert(mine, { onConflict: 'email' }).select();
    assert.equal(merge.status, 403);
    assert.equal(merge.error.code, '42501');
    assert.equal(merge.error.message, 'new row violates row-level security policy (USING expression) for table "accounts"');
    await assertUntouched();
    // and a value nobody holds is simply inserted
    const fresh = await userA.from('accounts').upsert({ id: 'a1', owner_id: A, email: 'a@example.com' },
      { onConflict: 'email' }).select();
    assert.equal(fresh.status, 201, JSON.stringify(fresh.error));
    const again = await userA.from('accounts').upsert({ owner_id: A, email: 'a@example.com', note: 'merged' },
      { onConflict: 'email' }).select();
    assert.equal(again.status, 201, JSON.stringify(again.error));
    assert.equal(again.data[0].id, 'a1');
    assert.equal(again.data[0].note, 'merged');
  });

  test('the service role gets 42P10 too: it is about the target, not the rules', async () => {
    const r = await service.from('accounts').upsert({ secret: 'x' }, { onConflict: 'secret' });
    assert.equal(r.status, 400);
    assert.equal(r.error.code, '42P10');
    const ok = await service.from('accounts').upsert({ id: 'b1', owner_id: B, email: 'b@example.com', secret: 's3cret' },
      { onConflict: 'email' });
    assert.equal(ok.error, null);
  });

  test('an escaped spelling of the owner key is the owner key for SQL and C alike', async () => {
    // "own\u0065r_id" is owner_id: the insert rule (C) and the select rule
    // (SQL) must read the same value from the stored text
    const tok = mintToken(server, { sub: A, role: 'authenticated', aud: 'authenticated' });
    const r = await request(server, 'POST', '/rest/v1/accounts', {
      key: null,
      body: `{"id":"esc1","own\\u0065r_id":"${A}","email":"esc@example.com"}`,
      headers: { apikey: server.anonKey, Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json' },
    });
    assert.equal(r.status, 201, r.text);
    const mine = await userA.from('accounts').select('id,owner_id').eq('id', 'esc1');
    assert.deepEqual(mine.data, [{ id: 'esc1', owner_id: A }]);
  });
});
