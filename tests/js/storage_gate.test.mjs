// /storage/v1 behind the one gate: the front checks keys for storage
// (storage/st_module.c gives each route its access level) and refuses in
// storage-api's words; the three kinds of request that carry no key (a
// public bucket's objects, signed download URLs, signed upload URLs) are
// public routes, authorised by the bucket or by the URL's own token.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, clients, tokenClient, request, mintToken, signJwt, basaltBin } from './lib/server.mjs';

let server;
let service;
const S = (p) => `/storage/v1${p}`;

before(async () => {
  server = await startServer();
  ({ service } = clients(server));
  assert.equal((await service.storage.createBucket('pub', { public: true })).error, null);
  assert.equal((await service.storage.createBucket('priv')).error, null);
  assert.equal((await service.storage.from('pub').upload('a.txt', 'public bytes')).error, null);
  assert.equal((await service.storage.from('priv').upload('a.txt', 'private bytes')).error, null);
});

after(async () => {
  await server?.stop({ expectExit0: true });
});

/** A storage-api error body with exactly these status, error and message. */
function assertStorageRefusal(r, status, error, message, what) {
  assert.equal(r.status, status, `${what}: ${r.status} ${r.text}`);
  assert.deepEqual(r.body, { statusCode: String(status), error, message }, what);
}

const now = () => Math.floor(Date.now() / 1000);
/** A service_role token signed with a secret that is not the project's. */
const forged = () => signJwt({ role: 'service_role', iat: now(), exp: now() + 3600 }, 'not-the-project-secret-at-all-000000');

// Routes that need a key, with a request each that would change or reveal
// something if the gate let it through.
const KEYED = [
  ['GET', '/bucket'],
  ['POST', '/bucket', { id: 'made-by-forger' }],
  ['GET', '/object/authenticated/priv/a.txt'],
  ['GET', '/object/priv/a.txt'],
  ['GET', '/object/info/priv/a.txt'],
  ['POST', '/object/list/priv', { prefix: '' }],
  ['POST', '/object/sign/priv/a.txt', { expiresIn: 60 }],
  ['POST', '/object/upload/sign/priv/forged.txt', {}],
  ['DELETE', '/object/priv', { prefixes: ['a.txt'] }],
  ['DELETE', '/bucket/priv', {}],
];

async function stillThere() {
  const r = await request(server, 'GET', S('/object/priv/a.txt'));
  assert.equal(r.status, 200);
  assert.equal(r.text, 'private bytes');
  const b = await request(server, 'GET', S('/bucket/made-by-forger'));
  assert.equal(b.status, 404);
}

describe('the gate refuses bad credentials on storage routes in storage-api shape', () => {
  test('a forged Bearer token → 400 InvalidJWT "invalid signature", nothing done', async () => {
    for (const [m, p, json] of KEYED) {
      const r = await request(server, m, S(p), { headers: { apikey: server.anonKey, Authorization: `Bearer ${forged()}` }, key: null, json });
      assertStorageRefusal(r, 400, 'InvalidJWT', 'invalid signature', `${m} ${p}`);
    }
    await stillThere();
  });

  test('an expired Bearer token → 400 InvalidJWT "jwt expired", with or without an apikey', async () => {
    const expired = mintToken(server, { role: 'service_role', iat: now() - 7200, exp: now() - 60 });
    for (const [m, p, json] of KEYED) {
      for (const headers of [{ apikey: server.anonKey, Authorization: `Bearer ${expired}` }, { Authorization: `Bearer ${expired}` }]) {
        const r = await request(server, m, S(p), { headers, key: null, json });
        assertStorageRefusal(r, 400, 'InvalidJWT', 'jwt expired', `${m} ${p} ${Object.keys(headers)}`);
      }
    }
    await stillThere();
  });

  test('a forged or expired apikey → 401 Unauthorized "Invalid API key"; none → "No API key found in request"', async () => {
    const expiredKey = mintToken(server, { role: 'service_role', iat: now() - 7200, exp: now() - 60 });
    for (const [m, p, json] of KEYED) {
      for (const key of [forged(), expiredKey, 'not-a-jwt']) {
        const r = await request(server, m, S(p), { headers: { apikey: key }, key: null, json });
        assertStorageRefusal(r, 401, 'Unauthorized', 'Invalid API key', `${m} ${p}`);
      }
      const none = await request(server, m, S(p), { key: null, json });
      assertStorageRefusal(none, 401, 'Unauthorized', 'No API key found in request', `${m} ${p} without a key`);
    }
    await stillThere();
  });

  test('supabase-js with a forged session token gets a StorageApiError', async () => {
    const sb = tokenClient(server, forged());
    const dl = await sb.storage.from('priv').download('a.txt');
    assert.equal(dl.data, null);
    assert.equal(dl.error.status, 400);
    assert.equal(dl.error.statusCode, '400');
    assert.equal(dl.error.message, 'invalid signature');
    const rm = await sb.storage.from('priv').remove(['a.txt']);
    assert.equal(rm.error.status, 400);
    await stillThere();
  });

  test('a signed-in user (valid Bearer, anon apikey) still reaches storage', async () => {
    const user = mintToken(server, { role: 'authenticated', sub: '00000000-0000-4000-8000-000000000001' });
    const sb = tokenClient(server, user);
    assert.equal(await (await sb.storage.from('pub').download('a.txt')).data.text(), 'public bytes');
    assert.equal((await sb.storage.from('priv').download('a.txt')).error.status, 404); // no select rule
  });
});

describe('public and signed paths need no key', () => {
  test('the route table: three public storage routes, everything else apikey-or-user', () => {
    const all = JSON.parse(execFileSync(basaltBin(), ['routes', '--json'], { encoding: 'utf8' }));
    const st = all.filter((r) => r.path.startsWith('/storage/')).map((r) => `${r.methods} ${r.path} ${r.access} ${r.errors}`).sort();
    assert.deepEqual(st, [
      'GET,HEAD /storage/v1/object/public/ public storage',
      'GET,HEAD /storage/v1/object/sign/ public storage',
      'GET,HEAD,POST,PUT,PATCH,DELETE /storage/v1/ apikey-or-user storage',
      'PUT /storage/v1/object/upload/sign/ public storage',
    ]);
  });

  test('public bucket objects: GET and HEAD with no key at all, and whatever key is sent', async () => {
    for (const headers of [{}, { apikey: 'garbage', Authorization: `Bearer ${forged()}` }]) {
      const r = await request(server, 'GET', S('/object/public/pub/a.txt'), { key: null, headers });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.text, 'public bytes');
      const h = await request(server, 'HEAD', S('/object/public/pub/a.txt'), { key: null, headers });
      assert.equal(h.status, 200);
      assert.equal(h.headers.get('content-length'), '12');
    }
    const priv = await request(server, 'GET', S('/object/public/priv/a.txt'), { key: null });
    assertStorageRefusal(priv, 404, 'not_found', 'Object not found', 'private bucket through the public path');
    // other methods on the public prefix are keyed routes
    const del = await request(server, 'DELETE', S('/object/public/pub/a.txt'), { key: null });
    assertStorageRefusal(del, 401, 'Unauthorized', 'No API key found in request', 'DELETE on the public path');
    const delKey = await request(server, 'DELETE', S('/object/public/pub/a.txt'));
    assertStorageRefusal(delKey, 405, 'InvalidRequest', 'Method not allowed', 'DELETE on the public path with a key');
  });

  test('signed download URLs: GET and HEAD by the token alone; a bad token in storage-api words', async () => {
    const { data, error } = await service.storage.from('priv').createSignedUrl('a.txt', 60);
    assert.equal(error, null);
    for (const headers of [{}, { apikey: 'garbage', Authorization: `Bearer ${forged()}` }]) {
      const r = await fetch(data.signedUrl, { headers });
      assert.equal(r.status, 200);
      assert.equal(await r.text(), 'private bytes');
      const h = await fetch(data.signedUrl, { method: 'HEAD', headers });
      assert.equal(h.status, 200);
    }
    const bad = await request(server, 'GET', S('/object/sign/priv/a.txt?token=garbage'), { key: null });
    assertStorageRefusal(bad, 400, 'InvalidJWT', 'invalid signature', 'garbage token');
    const none = await request(server, 'GET', S('/object/sign/priv/a.txt'), { key: null });
    assertStorageRefusal(none, 400, 'InvalidRequest', 'Missing token query parameter', 'no token');
    // a project key is not a signed URL's token
    const key = await request(server, 'GET', S(`/object/sign/priv/a.txt?token=${server.serviceKey}`), { key: null });
    assertStorageRefusal(key, 400, 'InvalidSignature', 'The token is not valid for this object', 'service key as token');
    // creating one (POST) needs a key
    const post = await request(server, 'POST', S('/object/sign/priv/a.txt'), { key: null, json: { expiresIn: 60 } });
    assertStorageRefusal(post, 401, 'Unauthorized', 'No API key found in request', 'POST sign without a key');
  });

  test('signed upload URLs: PUT by the token alone', async () => {
    const { data, error } = await service.storage.from('priv').createSignedUploadUrl('up/by-url.txt');
    assert.equal(error, null);
    const p = S(`/object/upload/sign/priv/up/by-url.txt?token=${data.token}`);
    const r = await request(server, 'PUT', p, { key: null, headers: { 'Content-Type': 'text/plain' }, body: 'uploaded by url' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { Key: 'priv/up/by-url.txt' });
    const got = await request(server, 'GET', S('/object/priv/up/by-url.txt'));
    assert.equal(got.text, 'uploaded by url');
    const bad = await request(server, 'PUT', S('/object/upload/sign/priv/up/other.txt?token=garbage'), { key: null, body: 'x' });
    assertStorageRefusal(bad, 400, 'InvalidJWT', 'invalid signature', 'garbage upload token');
    // creating one (POST) needs a key
    const post = await request(server, 'POST', S('/object/upload/sign/priv/up/x.txt'), { key: null, json: {} });
    assertStorageRefusal(post, 401, 'Unauthorized', 'No API key found in request', 'POST upload/sign without a key');
  });
});
