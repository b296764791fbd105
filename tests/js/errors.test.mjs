// Error responses of /rest/v1 with raw fetch: status codes, the PostgREST
// error body {code, message, details, hint}, input validation, key checks,
// injection attempts and CORS headers.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { startServer, createCollection, request, assertPgError } from './lib/server.mjs';

let server;

before(async () => {
  server = await startServer();
  await createCollection(server, 'todos');
  const r = await request(server, 'POST', '/rest/v1/todos', {
    json: [{ id: 't1', title: 'one', age: 1 }, { id: 't2', title: 'two', age: 2 }],
  });
  assert.equal(r.status, 201, r.text);
});

after(async () => {
  await server?.stop({ expectExit0: true });
});

/** Number of documents in todos (exact count through the API). */
async function countTodos() {
  const r = await request(server, 'HEAD', '/rest/v1/todos?select=id', { headers: { Prefer: 'count=exact' } });
  assert.equal(r.status, 200);
  const cr = r.headers.get('content-range');
  assert.ok(cr && cr.includes('/'), `Content-Range: ${cr}`);
  return Number(cr.split('/')[1]);
}

/** POST a raw body (string or Buffer) to /rest/v1/todos. */
function postRaw(body, headers = {}) {
  return request(server, 'POST', '/rest/v1/todos', {
    body, headers: { 'Content-Type': 'application/json', ...headers },
  });
}

/** A JWT with the given header and payload, HS256-signed with secret (or unsigned for alg none). */
function jwt(header, payload, secret) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const data = `${b64(header)}.${b64(payload)}`;
  if (!secret) return `${data}.`;
  return `${data}.${crypto.createHmac('sha256', secret).update(data).digest('base64url')}`;
}

/**
 * Send a body with node:http so that a server answering before it has read the
 * whole body (413) is seen as a response, not a client-side write error.
 */
function rawHttp(method, p, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, method, path: p, headers });
    let settled = false;
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        settled = true;
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed;
        try { parsed = JSON.parse(text); } catch { parsed = undefined; }
        resolve({ status: res.statusCode, headers: new Headers(res.headers), text, body: parsed });
      });
      res.on('error', (e) => { if (!settled) reject(e); });
    });
    req.on('error', (e) => {
      // A write error after the response arrived is expected when the server
      // refuses a large body without reading it.
      if (!settled) setTimeout(() => { if (!settled) reject(new Error(`no HTTP response: ${e.code || e.message}`)); }, 500);
    });
    req.end(body);
  });
}

describe('request bodies', () => {
  test('malformed JSON → 400 PGRST102', async () => {
    const before = await countTodos();
    for (const body of ['{"title": ', '{title: 1}', '[{"a":1},]', 'not json']) {
      const r = await postRaw(body);
      assertPgError(r, 400, 'PGRST102', `body ${body}`);
    }
    assert.equal(await countTodos(), before);
  });

  test('body over the 10 MiB limit → 413', async () => {
    const before = await countTodos();
    const big = Buffer.from(JSON.stringify({ title: 'x'.repeat(11 * 1024 * 1024) }));
    const r = await rawHttp('POST', '/rest/v1/todos', {
      apikey: server.serviceKey,
      Authorization: `Bearer ${server.serviceKey}`,
      'Content-Type': 'application/json',
      'Content-Length': String(big.length),
    }, big);
    assertPgError(r, 413, undefined, '11 MiB body');
    assert.equal(await countTodos(), before);
  });

  test('a body just under the limit is accepted', async () => {
    const doc = { id: 'big1', title: 'y'.repeat(1024 * 1024) };
    const r = await request(server, 'POST', '/rest/v1/todos', { json: doc });
    assert.equal(r.status, 201, r.text.slice(0, 300));
    const g = await request(server, 'GET', '/rest/v1/todos?select=title&id=eq.big1');
    assert.equal(g.body?.[0]?.title?.length, 1024 * 1024);
    const d = await request(server, 'DELETE', '/rest/v1/todos?id=eq.big1', { headers: { 'Content-Type': 'application/json' } });
    assert.equal(d.status, 204);
  });

  test('a non-object document → 400', async () => {
    const before = await countTodos();
    for (const body of ['5', '"x"', 'null', 'true', '[5]', '[[]]']) {
      const r = await postRaw(body);
      assertPgError(r, 400, undefined, `body ${body}`);
    }
    assert.equal(await countTodos(), before);
  });

  test('an array with mixed shapes → 400 and nothing written', async () => {
    const before = await countTodos();
    const r = await postRaw(JSON.stringify([{ id: 'mix1', title: 'ok' }, 5]));
    assertPgError(r, 400, undefined, 'mixed array');
    assert.equal(await countTodos(), before);
    const g = await request(server, 'GET', '/rest/v1/todos?select=id&id=eq.mix1');
    assert.deepEqual(g.body, []);
  });

  test('bulk insert where one row has a duplicate id → 409 23505 and nothing written', async () => {
    const before = await countTodos();
    const r = await postRaw(JSON.stringify([{ id: 'new1', title: 'fresh' }, { id: 't1', title: 'dup' }]));
    assertPgError(r, 409, '23505', 'duplicate id in bulk');
    assert.equal(await countTodos(), before);
    const g = await request(server, 'GET', '/rest/v1/todos?select=id,title&id=in.(new1,t1)');
    assert.deepEqual(g.body, [{ id: 't1', title: 'one' }]);
  });

  test('duplicate id inside one bulk insert → 409 and nothing written', async () => {
    const before = await countTodos();
    const r = await postRaw(JSON.stringify([{ id: 'same', title: 'a' }, { id: 'same', title: 'b' }]));
    assertPgError(r, 409, '23505', 'duplicate id within the batch');
    assert.equal(await countTodos(), before);
  });

  test('NUL byte in a string value → 400', async () => {
    const before = await countTodos();
    const r = await postRaw(JSON.stringify({ title: 'a\u0000b' }));
    assertPgError(r, 400, undefined, 'NUL in value');
    const k = await postRaw(JSON.stringify({ ['a\u0000b']: 1 }));
    assertPgError(k, 400, undefined, 'NUL in key');
    assert.equal(await countTodos(), before);
  });

  test('invalid UTF-8 in the body → 400', async () => {
    const before = await countTodos();
    const bodies = [
      Buffer.concat([Buffer.from('{"title":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
      Buffer.concat([Buffer.from('{"title":"'), Buffer.from([0xc3]), Buffer.from('"}')]), // truncated sequence
      Buffer.concat([Buffer.from('{"title":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), // overlong '/'
      Buffer.concat([Buffer.from('{"title":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), // surrogate
    ];
    for (const b of bodies) {
      const r = await postRaw(b);
      assertPgError(r, 400, undefined, `invalid UTF-8 ${b.toString('hex')}`);
    }
    assert.equal(await countTodos(), before);
  });

  test('PATCH with a non-object body → 400', async () => {
    for (const body of ['[{"title":"x"}]', '5', 'null']) {
      const r = await request(server, 'PATCH', '/rest/v1/todos?id=eq.t1', { body, headers: { 'Content-Type': 'application/json' } });
      assertPgError(r, 400, undefined, `PATCH body ${body}`);
    }
    const g = await request(server, 'GET', '/rest/v1/todos?select=title&id=eq.t1');
    assert.deepEqual(g.body, [{ title: 'one' }]);
  });
});

describe('unknown things', () => {
  test('unknown collection → 404 PGRST205', async () => {
    assertPgError(await request(server, 'GET', '/rest/v1/nosuch?select=*'), 404, 'PGRST205', 'GET unknown');
    assertPgError(await request(server, 'POST', '/rest/v1/nosuch', { json: { a: 1 } }), 404, 'PGRST205', 'POST unknown');
    assertPgError(await request(server, 'PATCH', '/rest/v1/nosuch?a=eq.1', { json: { a: 2 } }), 404, 'PGRST205', 'PATCH unknown');
    assertPgError(await request(server, 'DELETE', '/rest/v1/nosuch?a=eq.1', { headers: { 'Content-Type': 'application/json' } }), 404, 'PGRST205', 'DELETE unknown');
  });

  test('system tables are not reachable as collections', async () => {
    for (const name of ['sqlite_master', 'sqlite_schema', '_basalt_migrations', '_basalt_changes']) {
      const r = await request(server, 'GET', `/rest/v1/${name}?select=*`);
      assertPgError(r, [400, 404], undefined, `GET ${name}`);
    }
  });

  test('a %00 anywhere in a path → 400, never a shortened name', async () => {
    for (const p of ['/rest/v1/nosuch%00x?select=*', '/rest/v1/%00', '/admin/v1/collections/a%00b']) {
      const r = await request(server, 'GET', p);
      assertPgError(r, 400, 'PGRST125', p);
    }
    const r = await request(server, 'GET', '/auth/v1/admin/users/x%00y');
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'validation_failed');
    // names are decoded exactly once: %6E is "n", %2525 stays "%25"
    assertPgError(await request(server, 'GET', '/rest/v1/%6Eosuch?select=*'), 404, 'PGRST205', 'encoded name');
    const twice = await request(server, 'GET', '/rest/v1/a%2525?select=*');
    assert.equal(twice.status, 404);
    assert.match(twice.body.message, /a%25/);
  });

  test('/rest/v1/rpc/anything → 404 PGRST202', async () => {
    const r = await request(server, 'POST', '/rest/v1/rpc/anything', { json: {} });
    assertPgError(r, 404, 'PGRST202', 'rpc unknown');
  });
});

describe('malformed query strings → 400', () => {
  const bad = [
    ['?age=eq', 'PGRST100'],
    ['?age=foo.1', 'PGRST100'],
    ['?select=a(', 'PGRST100'],
    ['?order=a.sideways', 'PGRST100'],
    ['?or=(age.eq.1', 'PGRST100'],
    ['?or=age.eq.1', 'PGRST100'],
    ['?age=in.1,2', 'PGRST100'],
    ['?limit=-1', undefined],
    ['?limit=abc', undefined],
    ['?limit=99999999999999999999', undefined],
    ['?offset=-5', undefined],
    ['?offset=x', undefined],
  ];
  for (const [qs, code] of bad) {
    test(`GET ${qs}`, async () => {
      const r = await request(server, 'GET', `/rest/v1/todos${qs}`);
      assertPgError(r, 400, code, qs);
    });
  }

  test('a malformed filter on PATCH/DELETE changes nothing', async () => {
    const p = await request(server, 'PATCH', '/rest/v1/todos?age=foo.1', { json: { title: 'bad' } });
    assertPgError(p, 400, 'PGRST100', 'PATCH bad filter');
    const d = await request(server, 'DELETE', '/rest/v1/todos?age=eq', { headers: { 'Content-Type': 'application/json' } });
    assertPgError(d, 400, 'PGRST100', 'DELETE bad filter');
    const g = await request(server, 'GET', '/rest/v1/todos?select=id,title&id=in.(t1,t2)&order=id');
    assert.deepEqual(g.body, [{ id: 't1', title: 'one' }, { id: 't2', title: 'two' }]);
  });
});

describe('keys', () => {
  test('missing apikey → 401', async () => {
    const r = await request(server, 'GET', '/rest/v1/todos?select=*', { key: null });
    assertPgError(r, 401, undefined, 'no apikey');
  });

  const forged = () => {
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: 'supabase', role: 'service_role', iat: now, exp: now + 3600 };
    return [
      ['signed with another secret', jwt({ alg: 'HS256', typ: 'JWT' }, payload, 'not-the-secret-' + crypto.randomBytes(8).toString('hex'))],
      ['alg none', jwt({ alg: 'none', typ: 'JWT' }, payload, null)],
      ['alg none with a signature part', jwt({ alg: 'none', typ: 'JWT' }, payload, null) + 'abc'],
      ['garbage', 'not.a.jwt'],
      ['the service key with its signature tampered', null],
    ];
  };

  test('forged apikeys → 401 and nothing written', async () => {
    const before = await countTodos();
    for (let [name, token] of forged()) {
      if (token === null) {
        // Change a middle character of the signature (every bit of it counts).
        const [h, p, s] = server.serviceKey.split('.');
        token = `${h}.${p}.${s.slice(0, 5)}${s[5] === 'A' ? 'B' : 'A'}${s.slice(6)}`;
      }
      const g = await request(server, 'GET', '/rest/v1/todos?select=*', { key: token });
      assertPgError(g, 401, undefined, `GET with ${name}`);
      const w = await request(server, 'POST', '/rest/v1/todos', { key: token, json: { title: 'forged' } });
      assertPgError(w, 401, undefined, `POST with ${name}`);
    }
    assert.equal(await countTodos(), before);
  });

  test('the anon key with its payload changed to service_role → 401', async () => {
    const [h, p, sig] = server.anonKey.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    assert.equal(claims.role, 'anon', 'the anon key carries role anon');
    claims.role = 'service_role';
    const token = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`;
    const r = await request(server, 'GET', '/rest/v1/todos?select=*', { key: token });
    assertPgError(r, 401, undefined, 'anon key re-labelled service_role');
    const w = await request(server, 'DELETE', '/rest/v1/todos?id=eq.t1', { key: token, headers: { 'Content-Type': 'application/json' } });
    assertPgError(w, 401, undefined, 'anon key re-labelled service_role (DELETE)');
    const g = await request(server, 'GET', '/rest/v1/todos?select=id&id=eq.t1');
    assert.deepEqual(g.body, [{ id: 't1' }]);
  });

  test('the keys are HS256 JWTs with the right roles', () => {
    for (const [key, role] of [[server.anonKey, 'anon'], [server.serviceKey, 'service_role']]) {
      const parts = key.split('.');
      assert.equal(parts.length, 3);
      for (const part of parts) assert.match(part, /^[A-Za-z0-9_-]+$/, 'unpadded base64url');
      assert.equal(JSON.parse(Buffer.from(parts[0], 'base64url')).alg, 'HS256');
      assert.equal(JSON.parse(Buffer.from(parts[1], 'base64url')).role, role);
    }
  });

  test('a forged service_role Bearer with a valid anon apikey → 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = jwt({ alg: 'HS256', typ: 'JWT' }, { role: 'service_role', iat: now, exp: now + 3600 }, 'wrong');
    const r = await request(server, 'GET', '/rest/v1/todos?select=*', {
      key: null, headers: { apikey: server.anonKey, Authorization: `Bearer ${token}` },
    });
    assertPgError(r, 401, undefined, 'forged bearer');
  });

  test('the anon apikey with the service key as Bearer is service_role', async () => {
    // supabase-js sends apikey=<project key> and Authorization=<session token>;
    // the Bearer token decides the role.
    const r = await request(server, 'GET', '/rest/v1/todos?select=id&id=eq.t1', {
      key: null, headers: { apikey: server.anonKey, Authorization: `Bearer ${server.serviceKey}` },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, [{ id: 't1' }]);
  });
});

describe('injection attempts are harmless', () => {
  const attempts = [
    "/rest/v1/todos?title=eq.x'); DROP TABLE todos;--",
    "/rest/v1/todos?title=eq.x%27%29%3B%20DROP%20TABLE%20todos%3B--",
    '/rest/v1/todos?select=id,"x"',
    '/rest/v1/todos?select=id,x%22)%3B%20DROP%20TABLE%20todos%3B--',
    '/rest/v1/todos?order=id;DROP',
    '/rest/v1/todos?order=id%3B%20DROP%20TABLE%20todos',
    "/rest/v1/todos?a'b=eq.1",
    "/rest/v1/todos?select=a'b",
    "/rest/v1/todos?meta->>'kind=eq.x",
    "/rest/v1/todos?select=meta->>x'),1);--",
    "/rest/v1/todos?title=in.(x'),a)",
    "/rest/v1/todos?or=(title.eq.x',age.eq.1)",
    "/rest/v1/todos?title=like.%25'%25",
    '/rest/v1/todos;DROP%20TABLE%20todos?select=*',
    '/rest/v1/todos%22;--?select=*',
  ];
  for (const p of attempts) {
    test(`GET ${p}`, async () => {
      const r = await request(server, 'GET', p);
      assert.ok([200, 400, 404].includes(r.status), `${p} → ${r.status} ${r.text}`);
      if (r.status === 200) {
        assert.ok(Array.isArray(r.body), `200 must be a JSON array: ${r.text}`);
        for (const row of r.body) assert.ok(!('title' in row) || ['one', 'two'].includes(row.title), `unexpected row ${JSON.stringify(row)}`);
      } else {
        assertPgError(r, r.status, undefined, p);
      }
      const g = await request(server, 'GET', '/rest/v1/todos?select=id,title&id=in.(t1,t2)&order=id');
      assert.equal(g.status, 200, `collection still works: ${g.text}`);
      assert.deepEqual(g.body, [{ id: 't1', title: 'one' }, { id: 't2', title: 'two' }]);
    });
  }

  test('a filter value with quotes matches literally', async () => {
    const doc = { id: "q'1", title: "x'); DROP TABLE todos;--" };
    const w = await request(server, 'POST', '/rest/v1/todos', { json: doc });
    assert.equal(w.status, 201, w.text);
    const r = await request(server, 'GET', `/rest/v1/todos?select=id,title&title=eq.${encodeURIComponent(doc.title)}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, [doc]);
    const d = await request(server, 'DELETE', `/rest/v1/todos?id=eq.${encodeURIComponent(doc.id)}`, { headers: { 'Content-Type': 'application/json' } });
    assert.equal(d.status, 204, d.text);
  });

  test('a document key with a quote is stored as data, not SQL', async () => {
    const w = await request(server, 'POST', '/rest/v1/todos?select=*', {
      json: { id: 'qk', "a'b": 1, 'c"d': 2 }, headers: { Prefer: 'return=representation' },
    });
    assert.equal(w.status, 201, w.text);
    const r = await request(server, 'GET', '/rest/v1/todos?select=*&id=eq.qk');
    assert.equal(r.body?.[0]?.["a'b"], 1);
    assert.equal(r.body?.[0]?.['c"d'], 2);
    const d = await request(server, 'DELETE', '/rest/v1/todos?id=eq.qk', { headers: { 'Content-Type': 'application/json' } });
    assert.equal(d.status, 204, d.text);
  });
});

describe('CORS', () => {
  test('preflight OPTIONS → 2xx with Allow-Origin, Allow-Headers and Allow-Methods', async () => {
    const res = await fetch(`${server.url}/rest/v1/todos?select=*`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'http://app.example.com',
        'Access-Control-Request-Method': 'PATCH',
        'Access-Control-Request-Headers': 'apikey, authorization, x-client-info, content-type, prefer, accept-profile, content-profile, range',
      },
    });
    await res.arrayBuffer();
    assert.ok(res.status >= 200 && res.status < 300, `preflight status ${res.status}`);
    const origin = res.headers.get('access-control-allow-origin');
    assert.ok(origin === '*' || origin === 'http://app.example.com', `Allow-Origin: ${origin}`);
    const allowHeaders = (res.headers.get('access-control-allow-headers') || '').toLowerCase();
    if (allowHeaders.trim() !== '*') {
      const list = allowHeaders.split(',').map((s) => s.trim());
      for (const h of ['apikey', 'authorization', 'x-client-info', 'content-type', 'prefer', 'accept-profile', 'content-profile', 'range']) {
        assert.ok(list.includes(h), `Allow-Headers has ${h}: ${allowHeaders}`);
      }
    }
    // Echoing the requested method is as good as listing them all.
    const methods = (res.headers.get('access-control-allow-methods') || '').toUpperCase();
    if (methods.trim() !== '*') assert.ok(methods.split(',').map((m) => m.trim()).includes('PATCH'), `Allow-Methods has PATCH: ${methods}`);
  });

  test('preflights for every write method the client uses are allowed', async () => {
    for (const method of ['POST', 'PATCH', 'DELETE', 'HEAD', 'GET']) {
      const res = await fetch(`${server.url}/rest/v1/todos`, {
        method: 'OPTIONS',
        headers: { Origin: 'http://app.example.com', 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': 'apikey,authorization,content-type,prefer' },
      });
      await res.arrayBuffer();
      assert.ok(res.status >= 200 && res.status < 300, `${method} preflight status ${res.status}`);
      const methods = (res.headers.get('access-control-allow-methods') || '').toUpperCase();
      const simple = ['GET', 'HEAD', 'POST'].includes(method); // CORS-safelisted methods need no listing
      if (!simple && methods.trim() !== '*') assert.ok(methods.split(',').map((m) => m.trim()).includes(method), `${method}: Allow-Methods ${methods}`);
      assert.ok(res.headers.get('access-control-allow-origin'), `${method}: Allow-Origin`);
    }
  });

  test('preflight of another service path also works without a key', async () => {
    const res = await fetch(`${server.url}/rest/v1/nosuch`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://x.test', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'apikey' },
    });
    await res.arrayBuffer();
    assert.ok(res.status >= 200 && res.status < 300, `preflight status ${res.status}`);
    assert.ok(res.headers.get('access-control-allow-origin'));
  });

  test('a normal response exposes Content-Range', async () => {
    const r = await request(server, 'GET', '/rest/v1/todos?select=id&limit=1', {
      headers: { Origin: 'http://app.example.com', Prefer: 'count=exact' },
    });
    assert.equal(r.status, 206, r.text);
    const origin = r.headers.get('access-control-allow-origin');
    assert.ok(origin === '*' || origin === 'http://app.example.com', `Allow-Origin: ${origin}`);
    const expose = (r.headers.get('access-control-expose-headers') || '').toLowerCase().split(',').map((s) => s.trim());
    assert.ok(expose.includes('content-range'), `Expose-Headers: ${expose}`);
  });

  test('error responses carry CORS headers too', async () => {
    const r = await request(server, 'GET', '/rest/v1/nosuch', { headers: { Origin: 'http://app.example.com' } });
    assert.equal(r.status, 404);
    assert.ok(r.headers.get('access-control-allow-origin'), 'Allow-Origin on a 404');
    const r2 = await request(server, 'GET', '/rest/v1/todos', { key: null, headers: { Origin: 'http://app.example.com' } });
    assert.equal(r2.status, 401);
    assert.ok(r2.headers.get('access-control-allow-origin'), 'Allow-Origin on a 401');
  });
});

// Last in this file: a server that crashes here takes later tests with it.
describe('hostile inputs do not crash the server', () => {
  async function alive(what) {
    const h = await fetch(`${server.url}/health`).then((r) => r.status, (e) => `network error ${e.cause?.code || e.message}`);
    assert.equal(h, 200, `server still answers /health after ${what}`);
  }

  test('deeply nested or()/and() in the query string → 400', async () => {
    const q = '(a.eq.1,or('.repeat(200) + 'a.eq.1' + '))'.repeat(200);
    const r = await request(server, 'GET', `/rest/v1/todos?or=${encodeURIComponent(q)}`);
    await alive('deep or()');
    assertPgError(r, 400, 'PGRST100', 'deep or');
  });

  test('a 200 kB query string → 4xx, server alive', async () => {
    const r = await request(server, 'GET', `/rest/v1/todos?select=id&title=eq.${'x'.repeat(200000)}`);
    await alive('a 200 kB URL');
    assert.ok(r.status >= 400 && r.status < 500 || r.status === 200, `status ${r.status}`);
  });

  test('duplicate keys in an object: one value is kept (the last, as jsonb does) or 400', async () => {
    const r = await postRaw('{"id":"dupkey","a":1,"a":2}', { Prefer: 'return=representation' });
    if (r.status === 400) return assertPgError(r, 400, undefined, 'duplicate keys');
    assert.equal(r.status, 201, r.text);
    const g = await request(server, 'GET', '/rest/v1/todos?select=*&id=eq.dupkey');
    assert.equal((g.text.match(/"a":/g) || []).length, 1, `one "a" key in ${g.text}`);
    assert.equal(g.body[0].a, 2);
    await request(server, 'DELETE', '/rest/v1/todos?id=eq.dupkey', { headers: { 'Content-Type': 'application/json' } });
  });

  test('many concurrent requests with bad bodies leave the server healthy', async () => {
    const bodies = ['{', 'null', '[1,2]', '{"a":"\u0000"}', '"x"', '{"a":1e999}'];
    const rs = await Promise.all(Array.from({ length: 60 }, (_, i) => postRaw(bodies[i % bodies.length])));
    for (const r of rs) assert.equal(r.status, 400, r.text);
    await alive('60 bad bodies');
  });

  // A limit on nesting is expected (SQLite's JSON functions stop at 1000);
  // 1000 levels may also be stored, 100000 may not.
  for (const depth of [1000, 100000]) {
    test(`JSON nested ${depth} levels deep → 4xx, server alive`, async () => {
      const before = await countTodos();
      const body = `{"title":"deep","a":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      let r;
      try {
        r = await postRaw(body);
      } catch (e) {
        r = { status: `network error ${e.cause?.code || e.message}` };
      }
      await alive(`a body nested ${depth} deep`);
      if (depth <= 1000 && r.status === 201) return;
      assertPgError(r, [400, 413], undefined, `depth ${depth}`);
      assert.equal(await countTodos(), before);
    });
  }
});
