// Hardening: metadata size limits (no account locked out by a token that
// cannot be signed), the console login limiter counting before the hash,
// active content in storage downloads, one-time tokens kept out of the
// change log, and --disable-signup.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { startServer, request, basaltBin } from './lib/server.mjs';

const OPTS = { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false }, realtime: { transport: WebSocket } };
const METADATA_MAX = 1536; // AUTH_METADATA_MAX, bytes of compact JSON

let server;
before(async () => { server = await startServer({ args: ['--rate-signin', '1000', '--rate-recover', '100'] }); });
after(async () => { await server?.stop({ expectExit0: true }); });

const anon = () => createClient(server.url, server.anonKey, OPTS);
const service = () => createClient(server.url, server.serviceKey, OPTS);
let n = 0;
const email = (p) => `${p}${++n}.${Date.now()}@example.com`;
const sql = (s, q) => execFileSync('sqlite3', ['-json', path.join(s.dataDir, 'basalt.db'), q], { encoding: 'utf8' });
const rows = (s, q) => { const t = sql(s, q).trim(); return t ? JSON.parse(t) : []; };
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));

/** An object whose compact JSON is exactly `size` bytes. */
const sized = (size, key = 'f') => ({ [key]: 'x'.repeat(size - `{"${key}":""}`.length) });

function assertMetadataRefused(error, which, what) {
  assert.ok(error, `${what}: refused`);
  assert.equal(error.status, 400, `${what}: ${JSON.stringify(error)}`);
  assert.equal(error.code, 'validation_failed', what);
  assert.match(error.message, new RegExp(`${which} is too large: at most ${METADATA_MAX} bytes`), what);
}

async function signIn(addr, password = 'pw123456') {
  const c = anon();
  const { data, error } = await c.auth.signInWithPassword({ email: addr, password });
  assert.equal(error, null, `sign-in of ${addr}: ${JSON.stringify(error)}`);
  return { client: c, session: data.session };
}

describe('user_metadata and app_metadata are limited before anything is written', () => {
  test('signUp: at the limit works and signs in; one byte over is 400 and creates nobody', async () => {
    const ok = email('meta-ok');
    const r = await anon().auth.signUp({ email: ok, password: 'pw123456', options: { data: sized(METADATA_MAX) } });
    assert.equal(r.error, null, JSON.stringify(r.error));
    assert.equal(claims(r.data.session.access_token).user_metadata.f.length, METADATA_MAX - 8);
    await signIn(ok);

    for (const size of [METADATA_MAX + 1, 6000, 64 * 1024]) {
      const addr = email('meta-big');
      const { error } = await anon().auth.signUp({ email: addr, password: 'pw123456', options: { data: sized(size) } });
      assertMetadataRefused(error, 'user_metadata', `signUp with ${size} bytes`);
      assert.equal(rows(server, `SELECT count(*) AS n FROM _basalt_users WHERE email = '${addr}'`)[0].n, 0);
    }
    const { error } = await anon().auth.signInAnonymously({ options: { data: sized(6000) } });
    assertMetadataRefused(error, 'user_metadata', 'signInAnonymously');
  });

  test('updateUser: a refused update changes nothing; merges that add up over the limit are refused', async () => {
    const addr = email('meta-upd');
    assert.equal((await anon().auth.signUp({ email: addr, password: 'pw123456', options: { data: { keep: 1 } } })).error, null);
    const { client } = await signIn(addr);
    let r = await client.auth.updateUser({ data: sized(6000, 'big') });
    assertMetadataRefused(r.error, 'user_metadata', 'updateUser 6000 bytes');
    // each patch alone fits; merged they do not
    r = await client.auth.updateUser({ data: sized(1000, 'a') });
    assert.equal(r.error, null, JSON.stringify(r.error));
    r = await client.auth.updateUser({ data: sized(1000, 'b') });
    assertMetadataRefused(r.error, 'user_metadata', 'second patch');
    // with a password change in the same request: nothing of it is kept
    r = await client.auth.updateUser({ password: 'changed-pw', data: sized(1000, 'b') });
    assertMetadataRefused(r.error, 'user_metadata', 'patch with a password');
    const { session } = await signIn(addr);
    const meta = claims(session.access_token).user_metadata;
    assert.deepEqual(Object.keys(meta).sort(), ['a', 'keep']);
    // deleting keys (null) brings it back under the limit
    r = await client.auth.updateUser({ data: { a: null, b: sized(1000, 'b').b } });
    assert.equal(r.error, null, JSON.stringify(r.error));
    assert.deepEqual(Object.keys(r.data.user.user_metadata).sort(), ['b', 'keep']);
  });

  test('admin createUser and updateUserById: both objects are checked', async () => {
    const admin = service().auth.admin;
    for (const field of ['user_metadata', 'app_metadata']) {
      const addr = email(`meta-admin-${field}`);
      const c = await admin.createUser({ email: addr, password: 'pw123456', email_confirm: true, [field]: sized(6000) });
      assertMetadataRefused(c.error, field, `createUser ${field}`);
      assert.equal(rows(server, `SELECT count(*) AS n FROM _basalt_users WHERE email = '${addr}'`)[0].n, 0);
    }
    const addr = email('meta-admin');
    const c = await admin.createUser({ email: addr, password: 'pw123456', email_confirm: true, user_metadata: { k: 1 } });
    assert.equal(c.error, null, JSON.stringify(c.error));
    for (const field of ['user_metadata', 'app_metadata']) {
      const u = await admin.updateUserById(c.data.user.id, { [field]: sized(6000), ban_duration: '1h' });
      assertMetadataRefused(u.error, field, `updateUserById ${field}`);
    }
    // not banned, metadata unchanged, and the token still signs
    const { session } = await signIn(addr);
    assert.deepEqual(claims(session.access_token).user_metadata, { k: 1 });
    // app_metadata at the limit (provider keys included) still signs in
    const full = sized(METADATA_MAX - '"provider":"email","providers":["email"],'.length, 'z');
    const u = await admin.updateUserById(c.data.user.id, { app_metadata: full });
    assert.equal(u.error, null, JSON.stringify(u.error));
    const again = await signIn(addr);
    assert.equal(JSON.stringify(claims(again.session.access_token).app_metadata).length, METADATA_MAX);
  });
});

describe('console login: an attempt is counted before its password is checked', () => {
  const PASSWORD = 'correct horse battery';
  const LIMIT = 10; // CONSOLE_LOGIN_MAX_FAILS per 5 minutes
  let s;
  before(async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-test-'));
    execFileSync(basaltBin(), ['admin', 'create', 'ops@example.com', '--data', dataDir], { input: `${PASSWORD}\n` });
    // the connection gate (64 per address) must not be what answers here
    s = await startServer({ dataDir, removeDataDir: true, args: ['--max-connections-per-ip', '0'] });
  });
  after(async () => { await s?.stop({ expectExit0: true }); });
  const login = (password) => request(s, 'POST', '/admin/v1/login', { key: null, json: { email: 'ops@example.com', password } });

  test(`60 parallel wrong logins get ${LIMIT} password checks, the rest 429 at once`, async () => {
    // Every 400 invalid_credentials answer comes after one password
    // verification (scrypt), every 429 before any: the 400s count the hash
    // checks.  Counting after the hash let all the requests in flight
    // through (48 of 60 here).
    const res = await Promise.all(Array.from({ length: 60 }, (_, i) => login(`wrong ${i}`)));
    const by = {};
    for (const r of res) by[r.status] = (by[r.status] || 0) + 1;
    assert.deepEqual(by, { 400: LIMIT, 429: 60 - LIMIT }, JSON.stringify(by));
    for (const r of res.filter((x) => x.status === 429)) {
      assert.equal(r.body.code, 'over_request_rate_limit');
      const ra = Number(r.headers.get('retry-after'));
      assert.ok(ra >= 1 && ra <= 300, `Retry-After ${ra}`);
    }
    const right = await login(PASSWORD);
    assert.equal(right.status, 429, 'even the right password waits for the window');
  });
});

test('console login: a successful login gives its attempt back', async () => {
  const PASSWORD = 'correct horse battery';
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-test-'));
  execFileSync(basaltBin(), ['admin', 'create', 'ops@example.com', '--data', dataDir], { input: `${PASSWORD}\n` });
  const s = await startServer({ dataDir, removeDataDir: true });
  try {
    const login = (password) => request(s, 'POST', '/admin/v1/login', { key: null, json: { email: 'ops@example.com', password } });
    for (let i = 0; i < 9; i++) assert.equal((await login(`wrong ${i}`)).status, 400);
    for (let i = 0; i < 3; i++) assert.equal((await login(PASSWORD)).status, 200, 'successes do not count');
    assert.equal((await login('wrong 9')).status, 400, 'the tenth failure');
    assert.equal((await login(PASSWORD)).status, 429);
  } finally {
    await s.stop({ expectExit0: true });
  }
});

describe('storage: uploaded active content never runs in the server origin', () => {
  const SVG = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>';
  const HTML = '<!doctype html><script>fetch("/admin/v1/keys")</script>';
  let sb;
  before(async () => {
    sb = service();
    for (const [id, opts] of [['pub', { public: true }], ['priv', { public: false }]]) {
      const r = await sb.storage.createBucket(id, opts);
      assert.equal(r.error, null, JSON.stringify(r.error));
    }
    const put = async (bucket, key, body, contentType) => {
      const r = await sb.storage.from(bucket).upload(key, new Blob([body], { type: contentType }), { contentType });
      assert.equal(r.error, null, `${bucket}/${key}: ${JSON.stringify(r.error)}`);
    };
    for (const b of ['pub', 'priv']) {
      await put(b, 'x/evil.svg', SVG, 'image/svg+xml');
      await put(b, 'x/evil.html', HTML, 'text/html; charset=utf-8');
      await put(b, 'x/notes.txt', 'plain', 'text/plain');
    }
  });

  /** Raw GETs of bucket/key: public URL, authenticated path, signed URL. */
  async function fetchAll(bucket, key) {
    const out = {};
    const get = async (url, headers = {}) => {
      const r = await fetch(url, { headers });
      return { status: r.status, headers: r.headers, text: await r.text() };
    };
    if (bucket === 'pub') out.public = await get(sb.storage.from(bucket).getPublicUrl(key).data.publicUrl);
    out.authenticated = await get(`${server.url}/storage/v1/object/authenticated/${bucket}/${key}`,
      { apikey: server.serviceKey, Authorization: `Bearer ${server.serviceKey}` });
    out.object = await get(`${server.url}/storage/v1/object/${bucket}/${key}`,
      { apikey: server.serviceKey, Authorization: `Bearer ${server.serviceKey}` });
    const s = await sb.storage.from(bucket).createSignedUrl(key, 60);
    assert.equal(s.error, null, JSON.stringify(s.error));
    out.signed = await get(s.data.signedUrl);
    return out;
  }

  test('SVG and HTML: sandboxed, nosniff, attachment, on every download path', async () => {
    for (const bucket of ['pub', 'priv']) {
      for (const [key, body] of [['x/evil.svg', SVG], ['x/evil.html', HTML]]) {
        for (const [how, r] of Object.entries(await fetchAll(bucket, key))) {
          const what = `${how} ${bucket}/${key}`;
          assert.equal(r.status, 200, what);
          assert.equal(r.text, body, what);
          assert.equal(r.headers.get('content-security-policy'), 'sandbox', what);
          assert.equal(r.headers.get('x-content-type-options'), 'nosniff', what);
          const name = key.split('/').pop();
          assert.equal(r.headers.get('content-disposition'), `attachment; filename="${name}"; filename*=UTF-8''${name}`, what);
        }
      }
      // supabase-js download still gets the bytes
      const dl = await sb.storage.from(bucket).download('x/evil.svg');
      assert.equal(dl.error, null);
      assert.equal(await dl.data.text(), SVG);
    }
  });

  test('passive content stays inline (nosniff only); ?download names the attachment', async () => {
    for (const [how, r] of Object.entries(await fetchAll('pub', 'x/notes.txt'))) {
      assert.equal(r.status, 200, how);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', how);
      assert.equal(r.headers.get('content-security-policy'), null, how);
      assert.equal(r.headers.get('content-disposition'), null, how);
    }
    const url = sb.storage.from('pub').getPublicUrl('x/evil.svg', { download: 'pic.svg' }).data.publicUrl;
    const r = await fetch(url);
    assert.equal(r.headers.get('content-disposition'), `attachment; filename="pic.svg"; filename*=UTF-8''pic.svg`);
    assert.equal(r.headers.get('content-security-policy'), 'sandbox');
    const head = await fetch(sb.storage.from('pub').getPublicUrl('x/evil.html').data.publicUrl, { method: 'HEAD' });
    assert.equal(head.headers.get('content-security-policy'), 'sandbox');
    assert.match(head.headers.get('content-disposition'), /^attachment;/);
  });

  test('a bucket with allow_inline shows active content inline, still sandboxed', async () => {
    const bad = await request(server, 'PUT', '/storage/v1/bucket/pub', { json: { allow_inline: 'yes' } });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.body.message, /allow_inline must be a boolean/);
    const up = await request(server, 'PUT', '/storage/v1/bucket/pub', { json: { allow_inline: true } });
    assert.equal(up.status, 200, up.text);
    const b = await sb.storage.getBucket('pub');
    assert.equal(b.data.allow_inline, true);
    assert.equal(b.data.public, true, 'other settings kept');
    const r = await fetch(sb.storage.from('pub').getPublicUrl('x/evil.svg').data.publicUrl);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-disposition'), null);
    assert.equal(r.headers.get('content-security-policy'), 'sandbox');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal((await sb.storage.getBucket('priv')).data.allow_inline, false);
    const c = await request(server, 'POST', '/storage/v1/bucket', { json: { id: 'inl', public: true, allow_inline: true } });
    assert.equal(c.status, 200, c.text);
    assert.equal((await sb.storage.getBucket('inl')).data.allow_inline, true);
  });
});

test('a recovery request leaves nothing in the change log from which its token can be recovered', async () => {
  const addr = email('ott');
  assert.equal((await anon().auth.signUp({ email: addr, password: 'pw123456' })).error, null);
  const r = await anon().auth.resetPasswordForEmail(addr, { redirectTo: 'http://app/reset' });
  assert.equal(r.error, null, JSON.stringify(r.error));
  const ev = rows(server, `SELECT new FROM _basalt_changes WHERE collection = 'auth.events' ORDER BY seq DESC LIMIT 1`);
  assert.equal(ev.length, 1);
  const logged = JSON.parse(ev[0].new);
  assert.deepEqual(Object.keys(logged).sort(), ['email', 'event', 'redirect_to', 'type', 'user']);
  // no string of the row works as the token or as its hash
  const strings = [];
  const walk = (v) => {
    if (typeof v === 'string') strings.push(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(logged);
  assert.ok(strings.length > 5);
  for (const s of new Set(strings)) {
    for (const body of [{ type: 'recovery', token: s, email: addr }, { type: 'recovery', token_hash: s }]) {
      const v = await request(server, 'POST', '/auth/v1/verify', { key: 'anon', json: body });
      assert.ok(v.status === 403 || v.status === 400, `${JSON.stringify(body)}: ${v.status} ${v.text}`);
    }
  }
  // the token table keeps only a hash, which is not in the log either
  const h = rows(server, `SELECT hex(token_hash) AS h FROM _basalt_one_time_tokens`).map((x) => x.h.toLowerCase());
  assert.ok(h.length >= 1);
  for (const x of h) assert.ok(!sql(server, `SELECT * FROM _basalt_changes`).toLowerCase().includes(x));
});

test('--disable-signup: sign-ups (email and anonymous) get 422 signup_disabled; admins still create users', async () => {
  const def = await request(server, 'GET', '/auth/v1/settings', { key: 'anon' });
  assert.equal(def.body.disable_signup, false);
  const s = await startServer({ args: ['--disable-signup'] });
  try {
    const c = createClient(s.url, s.anonKey, OPTS);
    const st = await request(s, 'GET', '/auth/v1/settings', { key: 'anon' });
    assert.equal(st.status, 200);
    assert.equal(st.body.disable_signup, true);
    const addr = email('nosignup');
    for (const [what, call] of [
      ['signUp', () => c.auth.signUp({ email: addr, password: 'pw123456' })],
      ['signInAnonymously', () => c.auth.signInAnonymously()],
    ]) {
      const { data, error } = await call();
      assert.ok(error, what);
      assert.equal(error.status, 422, `${what}: ${JSON.stringify(error)}`);
      assert.equal(error.code, 'signup_disabled', what);
      assert.equal(error.message, 'Signups not allowed for this instance', what);
      assert.equal(data.session, null, what);
    }
    assert.equal(rows(s, 'SELECT count(*) AS n FROM _basalt_users')[0].n, 0);
    const sc = createClient(s.url, s.serviceKey, OPTS);
    const made = await sc.auth.admin.createUser({ email: addr, password: 'pw123456', email_confirm: true });
    assert.equal(made.error, null, JSON.stringify(made.error));
    const si = await c.auth.signInWithPassword({ email: addr, password: 'pw123456' });
    assert.equal(si.error, null, JSON.stringify(si.error));
    assert.equal(si.data.user.email, addr);
    const cfg = await request(s, 'GET', '/admin/v1/config');
    assert.equal(cfg.body['disable-signup'], true);
  } finally {
    await s.stop({ expectExit0: true });
  }
  const env = await startServer({ env: { BASALT_DISABLE_SIGNUP: 'on' } });
  try {
    const r = await request(env, 'POST', '/auth/v1/signup', { key: 'anon', json: { email: email('env'), password: 'pw123456' } });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.body.code, 'signup_disabled');
  } finally {
    await env.stop({ expectExit0: true });
  }
});
