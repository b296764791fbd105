// The HTTP front under hostile clients: idle and slow connections, per-address
// caps, WebSockets on the main port, request smuggling, slow bodies, trusted
// proxies, shutdown with a stuck handler (issue "Hardening", items 3, 4, 11,
// 15, 17).  Raw sockets where the attack is below HTTP; supabase-js where a
// real client must keep working.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { startServer, request, clients, sleep } from './lib/server.mjs';
import { functionsDir, buildPlugin } from './lib/fnplugins.mjs';

/** Open a TCP connection from a given local loopback address; resolves when connected. */
function connectFrom(server, localAddress) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: server.port, localAddress });
    s.setNoDelay(true);
    s.data = '';
    s.gone = false;
    s.on('data', (d) => { s.data += d.toString('latin1'); });
    s.on("close", () => { s.gone = true; });
    s.on('error', () => {});
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolve when the socket is closed by the peer (or reject after ms). */
function closedWithin(s, ms) {
  if (s.gone) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => { clearTimeout(t); resolve(true); });
  });
}

/** Send raw bytes and collect everything until the server closes or ms pass. */
async function raw(server, bytes, ms = 3000) {
  const s = await connectFrom(server, '127.0.0.1');
  s.write(bytes);
  const closed = await closedWithin(s, ms);
  s.destroy();
  return { text: s.data, closed };
}

/** GET /health, timed; throws on a non-200. */
async function timedHealth(server, from) {
  const t0 = Date.now();
  const s = await connectFrom(server, from);
  s.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await closedWithin(s, 5000);
  s.destroy();
  assert.match(s.data, /^HTTP\/1\.1 200/, `health answered: ${s.data.slice(0, 80)}`);
  return Date.now() - t0;
}

const ipAt = (i) => `127.0.${1 + (i >> 8)}.${(i & 255) || 1}`;

describe('idle and slow clients (item 3)', () => {
  let server;
  const socks = [];
  before(async () => {
    // the defaults, but a short header timeout so the test sees it fire
    server = await startServer({ args: ['--request-timeout', '3'] });
  });
  after(async () => {
    for (const s of socks) s.destroy();
    await server.stop({ expectExit0: true });
  });

  test('hundreds of idle and slowloris clients leave /health, REST and auth answering', async () => {
    // 300 idle connections (never send a byte) and 200 slowloris ones (a
    // header line, then nothing), spread over addresses so the per-address
    // cap does not refuse them: this is the worker pool's test.
    for (let i = 0; i < 300; i++) socks.push(await connectFrom(server, ipAt(2 + (i % 100) + 256)));
    for (let i = 0; i < 200; i++) {
      const s = await connectFrom(server, ipAt(2 + (i % 100) + 512));
      s.write('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ');
      socks.push(s);
    }
    await sleep(300);
    const ms = await timedHealth(server, '127.0.0.1');
    assert.ok(ms < 2000, `/health took ${ms} ms with 500 idle/slow clients`);
    const { anon } = clients(server);
    const settings = await request(server, 'GET', '/auth/v1/settings', { key: 'anon' });
    assert.equal(settings.status, 200);
    const { error } = await anon.from('nothing_here').select('*');
    assert.ok(error, 'REST answered (an error for an unknown collection is an answer)');
  });

  test('the server hangs up on clients that do not finish their headers within --request-timeout', async () => {
    const s = await connectFrom(server, '127.0.9.9');
    s.write('GET /health HTTP/1.1\r\n'); // and never the blank line
    const t0 = Date.now();
    const closed = await closedWithin(s, 8000);
    assert.ok(closed, 'closed by the server');
    const took = Date.now() - t0;
    assert.ok(took >= 2000 && took < 7000, `closed after ${took} ms (timeout 3 s)`);
    // the idle ones from the first test went too
    await sleep(500);
    const open = socks.filter((x) => !x.gone).length;
    assert.equal(open, 0, `${open} idle connections still open after the timeout`);
  });
});

describe('per-address connection cap (item 3)', () => {
  let server;
  before(async () => {
    server = await startServer({ args: ['--max-connections-per-ip', '10', '--trusted-proxies', '127.0.3.3'] });
  });
  after(() => server.stop({ expectExit0: true }));

  test('connections over the cap from one address are refused at once with 429; others are served', async () => {
    const held = [];
    for (let i = 0; i < 10; i++) held.push(await connectFrom(server, '127.0.2.2'));
    const over = [];
    for (let i = 0; i < 20; i++) over.push(await connectFrom(server, '127.0.2.2'));
    for (const s of over) assert.ok(await closedWithin(s, 3000), 'over-cap connection closed');
    assert.match(over[0].data, /^HTTP\/1\.1 429 /, 'refusal says 429');
    assert.match(over[0].data, /too many connections/);
    for (const s of held) assert.equal(s.gone, false, 'connections under the cap stay open');
    // another address is not affected, nor is a trusted proxy
    await timedHealth(server, '127.0.2.3');
    const proxied = [];
    for (let i = 0; i < 15; i++) proxied.push(await connectFrom(server, '127.0.3.3'));
    await sleep(200);
    assert.equal(proxied.filter((s) => s.gone).length, 0, 'a trusted proxy is not capped');
    for (const s of proxied) s.destroy();
    const m = await request(server, 'GET', '/metrics', { key: null });
    assert.match(m.text, /basalt_http_connections_refused_total 20\b/);
    // closing gives the slots back
    for (const s of held) s.destroy();
    await sleep(300);
    const again = [];
    for (let i = 0; i < 10; i++) again.push(await connectFrom(server, '127.0.2.2'));
    await sleep(200);
    assert.equal(again.filter((s) => s.gone).length, 0, 'slots were released on close');
    for (const s of again) s.destroy();
  });
});

describe('WebSockets on the main port (item 4)', () => {
  let server;
  before(async () => {
    server = await startServer({ args: ['--threads', '24', '--max-connections-per-ip', '0'] });
  });
  after(() => server.stop({ expectExit0: true }));

  test('the default keeps half the workers for HTTP; over it the upgrade is refused with a pointer to --realtime-port', async () => {
    const url = `ws://127.0.0.1:${server.port}/realtime/v1/websocket?apikey=${server.anonKey}&vsn=1.0.0`;
    const open = [];
    for (let i = 0; i < 12; i++) {
      const ws = new WebSocket(url);
      await new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); });
      open.push(ws);
    }
    // the 13th: 503 with a JSON body naming the way out
    const refused = await new Promise((resolve) => {
      const ws = new WebSocket(url);
      ws.on('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      ws.on('open', () => resolve({ status: 101 }));
      ws.on('error', () => {});
    });
    assert.equal(refused.status, 503);
    assert.match(refused.body, /--realtime-port/);
    // HTTP still answers: 12 workers hold WebSockets, 12 remain
    const results = await Promise.all(Array.from({ length: 8 }, () => request(server, 'GET', '/auth/v1/settings', { key: 'anon' })));
    for (const r of results) assert.equal(r.status, 200);
    for (const ws of open) ws.close();
    // and the slots come back
    await sleep(500);
    const ws = new WebSocket(url);
    await new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); });
    ws.close();
  });

  test('--main-websockets must stay below --threads', async () => {
    await assert.rejects(startServer({ args: ['--threads', '8', '--main-websockets', '8'] }), /must be below --threads/);
  });
});

describe('request framing (item 11)', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(() => server.stop({ expectExit0: true }));

  const body = '{"a":1}';
  test('Content-Length with Transfer-Encoding: chunked is refused and the connection closed', async () => {
    const r = await raw(server, `POST /rest/v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n` +
      'Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n7\r\n{"a":1}\r\n0\r\n\r\n' +
      'GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(r.text, /^HTTP\/1\.1 400 /);
    assert.match(r.text, /Transfer-Encoding and Content-Length/);
    assert.equal((r.text.match(/HTTP\/1\.1 /g) || []).length, 1, 'nothing after the 400 was answered');
    assert.ok(r.closed, 'connection closed');
  });

  test('conflicting Content-Length headers are refused and the smuggled request never runs', async () => {
    const smuggled = 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n';
    const r = await raw(server, 'POST /rest/v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n' +
      `Content-Length: ${smuggled.length}\r\n\r\n${smuggled}`);
    assert.match(r.text, /^HTTP\/1\.1 400 /);
    assert.match(r.text, /conflicting Content-Length/);
    assert.equal((r.text.match(/HTTP\/1\.1 /g) || []).length, 1, 'the body was not taken as a request');
    assert.ok(r.closed, 'connection closed');
  });

  test('a Content-Length that is not a number is refused; identical duplicates are fine', async () => {
    const r = await raw(server, 'POST /rest/v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: 7, 7\r\n\r\n{"a":1}');
    assert.match(r.text, /^HTTP\/1\.1 400 /);
    const ok = await raw(server, 'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n' +
      'Connection: close\r\n\r\n');
    assert.match(ok.text, /^HTTP\/1\.1 200 /);
  });
});

describe('slow and short bodies', () => {
  let server;
  before(async () => { server = await startServer({ args: ['--request-timeout', '2'] }); });
  after(() => server.stop({ expectExit0: true }));

  test('a body that stops short of its Content-Length is an error, never a shorter body', async () => {
    await request(server, 'POST', '/storage/v1/bucket', { json: { id: 'b', name: 'b', public: false } });
    const s = await connectFrom(server, '127.0.0.1');
    s.write(`POST /storage/v1/object/b/half.txt HTTP/1.1\r\nHost: x\r\napikey: ${server.serviceKey}\r\n` +
      `Authorization: Bearer ${server.serviceKey}\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n` +
      'x'.repeat(50));
    assert.ok(await closedWithin(s, 8000), 'closed after the body stalled');
    assert.match(s.data, /^HTTP\/1\.1 (400|408) /);
    const get = await request(server, 'GET', '/storage/v1/object/b/half.txt');
    assert.ok([400, 404].includes(get.status), `no half object was stored: ${get.status} ${get.text}`);
    assert.match(get.text, /not_found|Object not found/i);
  });

  // Each write is a few bytes every 500 ms: never silent long enough for the
  // inactivity timeout, far below the minimum average rate.
  async function trickle(pathname) {
    const s = await connectFrom(server, '127.0.0.1');
    s.write(`POST ${pathname} HTTP/1.1\r\nHost: x\r\napikey: ${server.serviceKey}\r\n` +
      `Authorization: Bearer ${server.serviceKey}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[`);
    const t0 = Date.now();
    const timer = setInterval(() => { if (!s.gone) s.write('1,'); }, 500);
    const closed = await closedWithin(s, 15000);
    clearInterval(timer);
    s.destroy();
    return { closed, ms: Date.now() - t0, text: s.data };
  }

  test('a body trickled below the minimum rate is cut off after the grace period', async () => {
    await request(server, 'POST', '/admin/v1/collections', { json: { name: 'slow' } });
    const r = await trickle('/rest/v1/slow');
    assert.ok(r.closed, 'the trickling client was cut off');
    assert.ok(r.ms < 8000, `cut off after ${r.ms} ms (grace 2 s)`);
    assert.match(r.text, /^HTTP\/1\.1 (400|408) /);
  });

  test('so is a body the handler refused without reading (civetweb discards it)', async () => {
    const r = await trickle('/rest/v1/no_such_collection');
    assert.match(r.text, /^HTTP\/1\.1 404 /, 'answered at once');
    assert.ok(r.closed, 'then cut off while the rest was discarded');
    assert.ok(r.ms < 8000, `cut off after ${r.ms} ms`);
  });
});

describe('trusted proxies and X-Forwarded-For (item 17)', () => {
  const limit = ['--rate-signin', '2'];
  const attempt = (server, xff) => request(server, 'POST', '/auth/v1/token?grant_type=password',
    { key: 'anon', json: { email: 'nobody@example.com', password: 'wrong-password' }, headers: xff ? { 'X-Forwarded-For': xff } : {} });

  test('from an untrusted peer X-Forwarded-For is ignored: a forged header does not reset the limit', async () => {
    const server = await startServer({ args: limit, env: { BASALT_RATE_SIGNIN: '2' } });
    try {
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push((await attempt(server, `198.51.100.${i}`)).status);
      assert.deepEqual(codes.slice(2), [429, 429], `codes ${codes}`);
    } finally { await server.stop({ expectExit0: true }); }
  });

  test('from a trusted proxy each client behind it has its own limit', async () => {
    const server = await startServer({ args: [...limit, '--trusted-proxies', '127.0.0.0/8, ::1'], env: { BASALT_RATE_SIGNIN: '2' } });
    try {
      const a = [], b = [];
      for (let i = 0; i < 3; i++) a.push((await attempt(server, '203.0.113.7')).status);
      // the client's own (forged) entry left of the real one does not matter
      for (let i = 0; i < 2; i++) b.push((await attempt(server, `10.9.9.${i}, 203.0.113.8`)).status);
      assert.equal(a[2], 429, `a: ${a}`);
      assert.ok(b.every((c) => c !== 429), `b has its own bucket: ${b}`);
    } finally { await server.stop({ expectExit0: true }); }
  });

  test('a malformed --trusted-proxies is refused at start', async () => {
    await assert.rejects(startServer({ args: ['--trusted-proxies', '10.0.0.0/33'] }), /trusted-proxies/);
  });
});

describe('shutdown with a handler that never returns (item 15)', () => {
  test('SIGTERM exits within --shutdown-timeout even while a plugin loops', async () => {
    const dir = functionsDir();
    buildPlugin(`#include <basalt/function.h>
static volatile int forever = 1;
static int handle(const basalt_event *ev, basalt_ctx *ctx, basalt_response *res)
{ (void)ev; (void)ctx; (void)res; while (forever) ; return 0; }
static const basalt_trigger triggers[] = {BASALT_ON_HTTP(BASALT_POST)};
BASALT_FUNCTION(.name = "spin", .triggers = triggers, .ntriggers = BASALT_COUNT(triggers),
                .timeout_ms = 1000, .concurrency = 4, .handle = handle);
`, path.join(dir, 'spin.so'));
    const server = await startServer({ args: ['--functions-dir', dir, '--shutdown-timeout', '2'] });
    try {
      const hung = fetch(`${server.url}/functions/v1/spin`, { method: 'POST', headers: { apikey: server.anonKey }, body: '{}' })
        .catch(() => 'aborted');
      await sleep(500);
      const t0 = Date.now();
      const res = await server.stop({ timeoutMs: 20000 });
      assert.ok(res, 'the server exited on its own');
      const took = Date.now() - t0;
      assert.ok(took < 8000, `exited after ${took} ms (drain 2 s)`);
      assert.match(server.logs(), /still running after the 2 s drain/);
      await hung;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
