// Test harness: starts the real `basalt serve` on a free loopback port with a
// fresh data dir, and gives tests raw-fetch helpers and supabase-js clients.
//
//   const server = await startServer();          // or startServer({ dataDir, args })
//   const { anon, service } = clients(server);
//   ...
//   await server.stop({ expectExit0: true });
//
// The server's stdout/stderr are kept in memory and printed when the process
// exits before stop() is called, when the test file fails (exit hook), or
// always with BASALT_TEST_LOGS=1.

import { spawn, execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function basaltBin() {
  const bin = process.env.BASALT_BIN || 'build/basalt';
  return path.isAbsolute(bin) ? bin : path.resolve(ROOT, bin);
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Every server started by this file, kept after stop() so that its output can
// still be printed if a test failed.
const servers = new Set();

function dumpLogs(server, why) {
  if (server.logsDumped) return;
  server.logsDumped = true;
  const out = [
    `\n===== basalt server on port ${server.port} (${why}) =====`,
    `command: ${server.command}`,
    `exit: ${server.exitCode === undefined ? 'still running' : `code=${server.exitCode} signal=${server.exitSignal}`}`,
    '----- stdout -----',
    server.stdout.join(''),
    '----- stderr -----',
    server.stderr.join(''),
    '===== end of server output =====\n',
  ].join('\n');
  try { fs.writeSync(2, out); } catch { /* ignore */ }
}

// node:test sets process.exitCode to non-zero when a test in this file fails.
process.on('exit', (code) => {
  const failed = code !== 0 || (process.exitCode !== undefined && process.exitCode !== 0);
  for (const s of servers) {
    if (failed || process.env.BASALT_TEST_LOGS) dumpLogs(s, failed ? 'test file failed' : 'BASALT_TEST_LOGS');
    if (s.exitCode === undefined && s.exitSignal === undefined) {
      try { s.proc.kill('SIGKILL'); } catch { /* ignore */ }
    }
  }
});

// `basalt keys` with the server's own environment (its secret may come from
// BASALT_JWT_SECRET rather than the data dir).
function runKeys(bin, dataDir, env = {}) {
  return new Promise((resolve, reject) => {
    execFile(bin, ['keys', '--data', dataDir, '--json'], { timeout: 10000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`basalt keys failed: ${err.message}\nstdout: ${stdout}\nstderr: ${stderr}`));
        return;
      }
      try {
        const keys = JSON.parse(stdout);
        assert.equal(typeof keys.anon, 'string', 'keys.anon is a string');
        assert.equal(typeof keys.service_role, 'string', 'keys.service_role is a string');
        assert.deepEqual(Object.keys(keys).sort(), ['anon', 'service_role']);
        resolve(keys);
      } catch (e) {
        reject(new Error(`basalt keys --json printed something unexpected (${e.message}): ${stdout}`));
      }
    });
  });
}

/**
 * Start `basalt serve`.
 * opts.dataDir: reuse this data dir (it is then not removed by stop() unless
 *               opts.removeDataDir is true); otherwise a fresh temp dir.
 * opts.args:    extra command-line arguments (e.g. ['--migrations-dir', d]).
 * opts.env:     extra environment variables.
 * opts.timeoutMs: how long to wait for /health (default 10 s).
 */
export async function startServer(opts = {}) {
  // Another test file may grab the same "free" port between our probe and
  // the server's bind: retry start-up failures that say so.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerOnce(opts);
    } catch (e) {
      if (attempt >= 4 || !/cannot listen|in use/i.test(String(e.message))) throw e;
    }
  }
}

async function startServerOnce(opts = {}) {
  const bin = basaltBin();
  if (!fs.existsSync(bin)) throw new Error(`basalt binary not found at ${bin} (build it or set BASALT_BIN)`);
  const port = await freePort();
  const ownDir = !opts.dataDir;
  const dataDir = opts.dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-test-'));
  const args = ['serve', '--port', String(port), '--data', dataDir, ...(opts.args || [])];
  const proc = spawn(bin, args, {
    cwd: ROOT,
    // Suites sign in many users from one IP: the auth rate limits would
    // throttle them.  Suites that test the limits pass their own flags
    // (flags win over the environment).
    // Listen on the address freePort() probed: a port free on 127.0.0.1 may
    // still be taken for 0.0.0.0 by client sockets on other 127.x addresses.
    env: {
      BASALT_LISTEN: '127.0.0.1',
      BASALT_RATE_SIGNIN: '1000000', BASALT_RATE_REFRESH: '1000000', BASALT_RATE_RECOVER: '1000000',
      ...process.env, ...(opts.env || {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = {
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    proc,
    command: [bin, ...args].join(' '),
    stdout: [],
    stderr: [],
    exitCode: undefined,
    exitSignal: undefined,
    stopping: false,
    logsDumped: false,
    anonKey: undefined,
    serviceKey: undefined,
  };
  servers.add(server);
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (d) => server.stdout.push(d));
  proc.stderr.on('data', (d) => server.stderr.push(d));
  server.exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      server.exitCode = code;
      server.exitSignal = signal;
      if (!server.stopping) dumpLogs(server, 'server exited before stop()');
      resolve({ code, signal });
    });
  });
  proc.on('error', (e) => server.stderr.push(`spawn error: ${e.message}\n`));

  server.stop = async ({ expectExit0 = false, removeDataDir = ownDir || !!opts.removeDataDir, timeoutMs = 15000 } = {}) => {
    server.stopping = true;
    if (server.exitCode === undefined && server.exitSignal === undefined) proc.kill('SIGTERM');
    let timer;
    const res = await Promise.race([
      server.exited,
      new Promise((r) => { timer = setTimeout(() => r(null), timeoutMs); }),
    ]);
    clearTimeout(timer);
    if (res === null) {
      proc.kill('SIGKILL');
      await server.exited;
      dumpLogs(server, 'did not exit after SIGTERM');
      if (removeDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
      if (expectExit0) assert.fail(`basalt did not exit within ${timeoutMs} ms of SIGTERM`);
      return res;
    }
    if (expectExit0 && (res.code !== 0 || res.signal)) dumpLogs(server, 'bad exit status');
    if (removeDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    if (expectExit0) {
      assert.equal(res.signal, null, `basalt was killed by ${res.signal}`);
      assert.equal(res.code, 0, 'basalt exit code after SIGTERM');
    }
    return res;
  };
  server.logs = () => server.stdout.join('') + server.stderr.join('');

  // Wait for /health.
  const deadline = Date.now() + (opts.timeoutMs || 10000);
  let lastErr = 'no attempt';
  for (;;) {
    if (server.exitCode !== undefined || server.exitSignal !== undefined) {
      servers.delete(server);
      if (ownDir) fs.rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`basalt exited during start-up (code ${server.exitCode}, signal ${server.exitSignal})\n${server.logs()}`);
    }
    try {
      const r = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.status === 200) break;
      lastErr = `status ${r.status}`;
    } catch (e) {
      lastErr = e.cause?.code || e.message;
    }
    if (Date.now() > deadline) {
      dumpLogs(server, 'health timeout');
      await server.stop();
      throw new Error(`basalt did not answer GET /health with 200 within ${opts.timeoutMs || 10000} ms (last: ${lastErr})`);
    }
    await sleep(50);
  }

  try {
    const keys = await runKeys(bin, dataDir, opts.env);
    server.anonKey = keys.anon;
    server.serviceKey = keys.service_role;
  } catch (e) {
    dumpLogs(server, 'basalt keys failed');
    await server.stop();
    throw e;
  }
  return server;
}

/** Headers carrying a key the way supabase-js sends it. */
export function keyHeaders(key) {
  return key ? { apikey: key, Authorization: `Bearer ${key}` } : {};
}

/**
 * Raw fetch against the server. path starts with '/'.
 * opts.key: 'service' (default), 'anon', null (no key) or a literal token.
 * opts.json: a value to send as a JSON body (sets Content-Type).
 * Returns { status, headers, text, body } where body is the parsed JSON or undefined.
 */
export async function request(server, method, p, opts = {}) {
  const keyOpt = opts.key === undefined ? 'service' : opts.key;
  const key = keyOpt === 'service' ? server.serviceKey : keyOpt === 'anon' ? server.anonKey : keyOpt;
  const headers = { ...keyHeaders(key), ...(opts.headers || {}) };
  let body = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(server.url + p, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let parsed;
  try { parsed = text.length ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** fetch against /admin/v1/... with the service key. p is the part after /admin/v1. */
export function admin(server, method, p, json, opts = {}) {
  return request(server, method, `/admin/v1${p}`, { ...opts, json });
}

/** POST /admin/v1/collections; asserts 201. indexes: array of field lists or index objects. */
export async function createCollection(server, name, indexes = []) {
  const idx = indexes.map((i) => (Array.isArray(i) ? { fields: i, unique: false } : i));
  const r = await admin(server, 'POST', '/collections', { name, indexes: idx });
  assert.equal(r.status, 201, `create collection ${name}: ${r.status} ${r.text}`);
  return r;
}

const clientOpts = () => ({
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  realtime: { transport: WebSocket },
});

/** supabase-js clients for the anon and service_role keys. */
export function clients(server) {
  return {
    anon: createClient(server.url, server.anonKey, clientOpts()),
    service: createClient(server.url, server.serviceKey, clientOpts()),
  };
}

/** A supabase-js client with the anon key that sends `token` as its Bearer (a signed-in user). */
export function tokenClient(server, token) {
  return createClient(server.url, server.anonKey, { ...clientOpts(), global: { headers: { Authorization: `Bearer ${token}` } } });
}

/** Assert a PostgREST-shaped error body: {code, message, details, hint} all present. */
export function assertPgError(res, status, code, what = '') {
  const label = `${what} → ${res.status} ${res.text}`;
  if (Array.isArray(status)) assert.ok(status.includes(res.status), `expected status in ${status}: ${label}`);
  else assert.equal(res.status, status, `status: ${label}`);
  assert.ok(res.body && typeof res.body === 'object' && !Array.isArray(res.body), `JSON object body: ${label}`);
  for (const k of ['code', 'message', 'details', 'hint']) assert.ok(k in res.body, `error body has "${k}": ${label}`);
  assert.equal(typeof res.body.message, 'string', `message is a string: ${label}`);
  assert.ok(res.body.message.length > 0, `message not empty: ${label}`);
  assert.ok(res.body.details === null || typeof res.body.details === 'string', `details string|null: ${label}`);
  assert.ok(res.body.hint === null || typeof res.body.hint === 'string', `hint string|null: ${label}`);
  if (code instanceof RegExp) assert.match(String(res.body.code), code, `code: ${label}`);
  else if (code !== undefined) assert.equal(res.body.code, code, `code: ${label}`);
  return res.body;
}

export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|\+00:00|\+00)$/;

/** Ids of rows, sorted. */
export const ids = (rows) => rows.map((r) => r.id).sort();

/** A JWT: base64url(header).base64url(payload).HMAC-SHA256 (or HS384/HS512 per header.alg); unsigned when secret is null. */
export function signJwt(payload, secret, header = { alg: 'HS256', typ: 'JWT' }) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const data = `${b64(header)}.${b64(payload)}`;
  if (secret === null || secret === undefined) return `${data}.`;
  const algo = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[header.alg] || 'sha256';
  return `${data}.${crypto.createHmac(algo, secret).update(data).digest('base64url')}`;
}

/** The project JWT secret the server keeps in DATA/jwt_secret (text, trailing newline trimmed). */
export function projectSecret(server) {
  return fs.readFileSync(path.join(server.dataDir, 'jwt_secret'), 'utf8').replace(/[\r\n ]+$/, '');
}

/** A token signed with the project secret; exp defaults to an hour from now. */
export function mintToken(server, claims) {
  const now = Math.floor(Date.now() / 1000);
  return signJwt({ iat: now, exp: now + 3600, ...claims }, projectSecret(server));
}
