// The console's own endpoints: `basalt admin create`, POST /admin/v1/login,
// GET /admin/v1/stats, GET /admin/v1/keys, the static files at /console,
// and that every /admin/v1 route refuses anon and authenticated callers.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, basaltBin, startServer, request, mintToken, createCollection } from './lib/server.mjs';

const PASSWORD = 'correct horse battery';

/** Run `basalt admin ARGS` with `input` on stdin (not a TTY). */
export function adminCli(args, input) {
  return new Promise((resolve) => {
    const p = spawn(basaltBin(), ['admin', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', (code) => resolve({ code, out, err }));
    p.stdin.on('error', () => {}); // the command may exit before reading
    p.stdin.end(input);
  });
}

const decode = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

async function login(server, email, password) {
  return request(server, 'POST', '/admin/v1/login', { key: null, json: { email, password } });
}

describe('basalt admin create', () => {
  let dir;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-admin-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('reads the password from stdin and stores a scrypt hash', async () => {
    const r = await adminCli(['create', 'Ops@Example.COM', '--data', dir], `${PASSWORD}\n`);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^created admin ops@example\.com \([0-9a-f-]{36}\)\n$/);
    const list = await adminCli(['list', '--data', dir], '');
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, /^ops@example\.com {2}[0-9a-f-]{36} {2}created .* last sign-in never\n$/);
  });

  test('refuses a duplicate email, a short password and a bad email', async () => {
    let r = await adminCli(['create', 'ops@example.com', '--data', dir], `${PASSWORD}\n`);
    assert.equal(r.code, 1);
    assert.match(r.err, /an admin with the email ops@example\.com already exists/);
    r = await adminCli(['create', 'new@example.com', '--data', dir], 'short\n');
    assert.equal(r.code, 1);
    assert.match(r.err, /the password must have 8 to 1024 characters/);
    r = await adminCli(['create', 'not-an-email', '--data', dir], `${PASSWORD}\n`);
    assert.equal(r.code, 1);
    assert.match(r.err, /'not-an-email' is not an email address/);
    r = await adminCli(['create', 'x@example.com', '--data', dir], '');
    assert.equal(r.code, 1);
    assert.match(r.err, /expected the password as one line on stdin/);
    r = await adminCli(['frobnicate'], '');
    assert.equal(r.code, 2);
  });
});

describe('console API', () => {
  let server, adminId;
  before(async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-test-'));
    const r = await adminCli(['create', 'root@example.com', '--data', dataDir], `${PASSWORD}\n`);
    assert.equal(r.code, 0, r.err);
    adminId = /\(([0-9a-f-]{36})\)/.exec(r.out)[1];
    server = await startServer({ dataDir, removeDataDir: true });
  });
  after(() => server?.stop({ expectExit0: true }));

  test('login answers an 8-hour service_role admin token that works without an apikey', async () => {
    const r = await login(server, 'ROOT@example.com', PASSWORD);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.token_type, 'bearer');
    assert.equal(r.body.expires_in, 28800);
    assert.deepEqual(r.body.admin, { id: adminId, email: 'root@example.com' });
    const c = decode(r.body.access_token);
    assert.equal(c.role, 'service_role');
    assert.equal(c.admin, true);
    assert.equal(c.sub, adminId);
    assert.equal(c.email, 'root@example.com');
    assert.equal(c.exp - c.iat, 28800);
    assert.equal(r.body.expires_at, c.exp);
    const s = await request(server, 'GET', '/admin/v1/stats', { key: null, headers: { Authorization: `Bearer ${r.body.access_token}` } });
    assert.equal(s.status, 200, s.text);
    const k = await request(server, 'GET', '/admin/v1/keys', { key: null, headers: { Authorization: `Bearer ${r.body.access_token}` } });
    assert.equal(k.status, 200, k.text);
    assert.deepEqual(k.body, { anon: server.anonKey, service_role: server.serviceKey });
    assert.equal(k.headers.get('cache-control'), 'no-store');
  });

  test('stats and keys (console routes) take the service key or a console session, never a user or anon', async () => {
    const session = (await login(server, 'root@example.com', PASSWORD)).body.access_token;
    const user = mintToken(server, { role: 'authenticated', sub: '00000000-0000-4000-8000-000000000001', aud: 'authenticated' });
    for (const p of ['/admin/v1/stats', '/admin/v1/keys']) {
      assert.equal((await request(server, 'GET', p, { key: null, headers: { Authorization: `Bearer ${session}` } })).status, 200, `${p} with the console session`);
      assert.equal((await request(server, 'GET', p, { key: 'service' })).status, 200, `${p} with the service key`);
      const u = await request(server, 'GET', p, { key: null, headers: { apikey: server.anonKey, Authorization: `Bearer ${user}` } });
      assert.equal(u.status, 403, `${p} as a user: ${u.text}`);
      assert.equal(u.body.code, '42501');
      const a = await request(server, 'GET', p, { key: 'anon' });
      assert.equal(a.status, 401, `${p} as anon: ${a.text}`);
      const none = await request(server, 'GET', p, { key: null });
      assert.equal(none.status, 401, `${p} without a key: ${none.text}`);
    }
  });

  test('bad credentials and bad bodies are refused with the same message', async () => {
    for (const [email, pw] of [['root@example.com', 'wrong password'], ['nobody@example.com', PASSWORD]]) {
      const r = await login(server, email, pw);
      assert.equal(r.status, 400, r.text);
      assert.deepEqual(r.body, { code: 'invalid_credentials', details: null, hint: null, message: 'Invalid login credentials' });
    }
    let r = await login(server, 'root@example.com', '');
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'validation_failed');
    r = await request(server, 'POST', '/admin/v1/login', { key: null, body: '{"email":', headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'PGRST102');
  });

  test('stats count what exists and expose request totals', async () => {
    await createCollection(server, 'notes');
    const r = await request(server, 'GET', '/admin/v1/stats');
    assert.equal(r.status, 200, r.text);
    const s = r.body;
    const version = fs.readFileSync(path.join(ROOT, 'CMakeLists.txt'), 'utf8').match(/project\(basalt VERSION ([0-9.]+)/)[1];
    assert.equal(s.version, version);
    assert.equal(s.counts.collections, 1);
    assert.equal(s.counts.users, 0);
    assert.equal(s.counts.objects, 0);
    assert.equal(s.counts.buckets, 0);
    assert.equal(s.counts.functions, 0);
    assert.equal(s.counts.dead_letters, 0);
    assert.ok(s.uptime_s >= 0 && s.uptime_s < 600);
    assert.ok(s.data.db_bytes > 0);
    assert.equal(s.data.total_bytes, s.data.db_bytes + s.data.wal_bytes + s.data.storage_bytes);
    assert.equal(typeof s.realtime.connections, 'number');
    assert.equal(s.requests.latency_counts.length, s.requests.latency_bounds_ms.length + 1);
    assert.equal(s.requests.latency_counts.reduce((a, b) => a + b, 0) >= s.requests.total - 1, true);
    assert.ok(s.requests.total >= 5, `total ${s.requests.total}`);
    assert.ok(s.requests.client_errors >= 3, 'the refused logins above are 4xx');
    // A request is counted once its answer has gone out, so a client can see
    // its own answer before the count moves: poll (stats answers are 200 and
    // never move client_errors) until one 404 shows up as exactly one more.
    const miss = await request(server, 'GET', '/no/such/path');
    assert.equal(miss.status, 404);
    let again;
    for (let i = 0; i < 100; i++) {
      again = (await request(server, 'GET', '/admin/v1/stats')).body;
      if (again.requests.client_errors > s.requests.client_errors) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.equal(again.requests.client_errors, s.requests.client_errors + 1, 'the 404 is counted once');
    assert.ok(again.requests.total >= s.requests.total + 2, 'the first stats request and the 404 are counted');
  });

  test('the console is served with its security headers and revalidates with ETag', async () => {
    for (const p of ['/console', '/console/']) {
      const r = await request(server, 'GET', p, { key: null });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.match(r.text, /<script type="module" src="\/console\/js\/app\.js">/);
      assert.match(r.headers.get('content-security-policy'), /^default-src 'self'; connect-src 'self' ws: wss:;/);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(r.headers.get('cache-control'), 'no-cache');
      assert.match(r.headers.get('etag'), /^"[0-9a-f]{20}"$/);
    }
    const js = await request(server, 'GET', '/console/js/app.js', { key: null });
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(js.text, fs.readFileSync(path.join(ROOT, 'web/js/app.js'), 'utf8'), 'embedded bytes equal web/');
    const css = await request(server, 'GET', '/console/css/console.css', { key: null });
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    const etag = js.headers.get('etag');
    const again = await request(server, 'GET', '/console/js/app.js', { key: null, headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.text, '');
    const other = await request(server, 'GET', '/console/js/app.js', { key: null, headers: { 'If-None-Match': '"nope"' } });
    assert.equal(other.status, 200);
    for (const p of ['/console/missing.js', '/console/index.html.bak', '/console/js/']) {
      const r = await request(server, 'GET', p, { key: null });
      assert.equal(r.status, 404, p);
    }
  });

  test('every /admin/v1 route refuses anon and authenticated tokens', async () => {
    // the route table as the binary reports it (`basalt routes --json`)
    const all = JSON.parse(execFileSync(basaltBin(), ['routes', '--json'], { encoding: 'utf8' }));
    const routes = all.filter((r) => r.path.startsWith('/admin/v1/'));
    assert.ok(routes.length >= 5, `found ${routes.length} admin routes`);
    // the only public admin route is the login itself; every other one
    // takes service_role (the console's own: the service key or a console
    // session token)
    const SERVICE = ['service_role', 'console-session'];
    assert.deepEqual(routes.filter((r) => !SERVICE.includes(r.access)).map((r) => r.path), ['/admin/v1/login']);
    assert.deepEqual(routes.filter((r) => r.access === 'console-session').map((r) => r.path).sort(),
      ['/admin/v1/keys', '/admin/v1/stats']);
    const user = mintToken(server, { role: 'authenticated', sub: '00000000-0000-4000-8000-000000000001', aud: 'authenticated' });
    for (const r of routes.filter((x) => SERVICE.includes(x.access))) {
      const p = r.path.endsWith('/') ? `${r.path}x` : r.path;
      const methods = [...new Set(r.methods.split(',').map((m) => (m === 'HEAD' ? 'GET' : m)))];
      for (const method of methods) {
        const json = method === 'GET' || method === 'DELETE' ? undefined : {};
        const a = await request(server, method, p, { key: 'anon', json });
        assert.equal(a.status, 401, `${method} ${p} as anon: ${a.text}`);
        const u = await request(server, method, p, { key: null, json, headers: { apikey: server.anonKey, Authorization: `Bearer ${user}` } });
        assert.equal(u.status, 403, `${method} ${p} as authenticated: ${u.text}`);
        assert.equal(u.body.code, '42501');
      }
    }
  });
});

test('failed logins are rate-limited per address', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-test-'));
  const c = await adminCli(['create', 'rl@example.com', '--data', dataDir], `${PASSWORD}\n`);
  assert.equal(c.code, 0, c.err);
  const server = await startServer({ dataDir, removeDataDir: true });
  try {
    for (let i = 0; i < 10; i++) {
      const r = await login(server, 'rl@example.com', `wrong ${i}`);
      assert.equal(r.status, 400, `attempt ${i}: ${r.text}`);
    }
    const r = await login(server, 'rl@example.com', PASSWORD);
    assert.equal(r.status, 429, r.text);
    assert.equal(r.body.code, 'over_request_rate_limit');
    const ra = Number(r.headers.get('retry-after'));
    assert.ok(ra >= 1 && ra <= 300, `Retry-After ${ra}`);
    // the service key still works: the limit is on password sign-in only
    const s = await request(server, 'GET', '/admin/v1/stats');
    assert.equal(s.status, 200);
  } finally {
    await server.stop({ expectExit0: true });
  }
});
