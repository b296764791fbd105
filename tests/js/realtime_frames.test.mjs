// Inbound WebSocket message size on both realtime listeners: the main port
// (civetweb) and --realtime-port (libwebsockets).  A message over 1 MiB, one
// frame or fragmented, text or binary, is refused with close 1009 and the
// server never buffers it: its resident memory must not grow by the size of
// what the client sends.  Raw `ws` clients, since supabase-js never sends
// such frames.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import WebSocket from 'ws';
import { basaltBin, startServer, freePort, sleep } from './lib/server.mjs';

const MiB = 1 << 20;

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]);
}

/** Sample the server's RSS every 5 ms while fn runs; resolve to the peak (KiB). */
async function peakRss(pid, fn) {
  let peak = rssKiB(pid);
  let done = false;
  const sampler = (async () => {
    while (!done) {
      peak = Math.max(peak, rssKiB(pid));
      await sleep(5);
    }
  })();
  try {
    await fn();
  } finally {
    done = true;
    await sampler;
  }
  return Math.max(peak, rssKiB(pid));
}

function open(base, key) {
  const ws = new WebSocket(`${base}/realtime/v1/websocket?apikey=${encodeURIComponent(key)}&vsn=2.0.0`);
  ws.on('error', () => {});
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const msgs = [];
  ws.on('message', (d, bin) => { if (!bin) msgs.push(JSON.parse(d.toString())); });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, closed, msgs }));
    ws.once('error', reject);
  });
}

/** A heartbeat frame padded to exactly n bytes (a valid Phoenix message). */
function heartbeatOf(n, ref) {
  const head = `[null,"${ref}","phoenix","heartbeat",{"pad":"`;
  const tail = '"}]';
  return head + 'a'.repeat(n - head.length - tail.length) + tail;
}

/** Send data as fragments of `piece` bytes (binary or text). */
function sendFragmented(ws, data, piece, binary) {
  for (let off = 0; off < data.length; off += piece) {
    const end = Math.min(off + piece, data.length);
    ws.send(data.subarray(off, end), { binary, fin: end === data.length }, () => {});
  }
}

async function until(pred, what, ms = 10000) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

for (const mode of ['main', 'lws']) {
  describe(`inbound message size over ${mode === 'main' ? 'the main port (civetweb)' : '--realtime-port (libwebsockets)'}`, () => {
    let server, base;
    before(async () => {
      const args = [];
      let port;
      if (mode === 'lws') { port = await freePort(); args.push('--realtime-port', String(port), '--realtime-threads', '2'); }
      server = await startServer({ args });
      base = `ws://127.0.0.1:${mode === 'lws' ? port : server.port}`;
    });
    after(async () => { await server.stop({ expectExit0: true }); });

    test('a message of exactly 1 MiB is served, one frame or fragmented', { timeout: 30000 }, async () => {
      const c = await open(base, server.anonKey);
      c.ws.send(heartbeatOf(MiB, '1'));
      sendFragmented(c.ws, Buffer.from(heartbeatOf(MiB, '2')), 100 * 1024, false);
      await until(() => c.msgs.filter((m) => m[3] === 'phx_reply').length === 2, 'two heartbeat replies');
      assert.deepEqual(c.msgs.map((m) => [m[1], m[4].status]), [['1', 'ok'], ['2', 'ok']]);
      c.ws.close();
      await c.closed;
    });

    test('one 2 MiB text frame: close 1009', { timeout: 30000 }, async () => {
      const c = await open(base, server.anonKey);
      c.ws.send(heartbeatOf(2 * MiB, '1'));
      const { code, reason } = await c.closed;
      assert.equal(code, 1009);
      assert.match(reason, /message too big \(limit 1 MiB\)/);
    });

    test('one 1 MiB + 1 byte binary frame: close 1009', { timeout: 30000 }, async () => {
      const c = await open(base, server.anonKey);
      c.ws.send(Buffer.alloc(MiB + 1, 3), { binary: true });
      const { code } = await c.closed;
      assert.equal(code, 1009);
    });

    test('a fragmented 2 MiB message (64 KiB binary fragments): close 1009', { timeout: 30000 }, async () => {
      const c = await open(base, server.anonKey);
      sendFragmented(c.ws, Buffer.alloc(2 * MiB, 1), 64 * 1024, true);
      const { code, reason } = await c.closed;
      assert.equal(code, 1009);
      assert.match(reason, /too big/);
    });

    test('large frames in a row on several sockets: 1009 each, and resident memory stays flat', { timeout: 30000 }, async () => {
      const pid = server.proc.pid;
      const before = rssKiB(pid);
      const frameBytes = 24 * MiB;
      let results;
      const peak = await peakRss(pid, async () => {
        const socks = await Promise.all([0, 1, 2].map(() => open(base, server.anonKey)));
        for (const c of socks) {
          // three frames back to back; the first one is already refused
          for (let i = 0; i < 3; i++) c.ws.send(Buffer.alloc(frameBytes, 0x61), { binary: i % 2 === 1 }, () => {});
        }
        results = await Promise.all(socks.map((c) => c.closed));
      });
      for (const r of results) assert.equal(r.code, 1009);
      const grewMiB = (peak - before) / 1024;
      // Without the bound each socket held a whole 24 MiB frame (72+ MiB at
      // once).  With it each holds at most ~1.1 MiB of one, plus its threads'
      // stacks: 7 MiB measured in all; twice that under ASan, whose
      // quarantine keeps freed blocks resident.
      const asan = fs.readFileSync(basaltBin()).includes('__asan_init');
      const limit = asan ? 24 : 12;
      assert.ok(grewMiB < limit, `server RSS grew by ${grewMiB.toFixed(1)} MiB while refusing 3 x 3 x 24 MiB frames`);
      // and the server still serves
      const c = await open(base, server.anonKey);
      c.ws.send(JSON.stringify([null, '9', 'phoenix', 'heartbeat', {}]));
      await until(() => c.msgs.length === 1, 'heartbeat reply');
      c.ws.close();
    });
  });
}
