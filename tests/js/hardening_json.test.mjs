// Deeply nested JSON through every entry point that parses outside input
// (server/core/jsonin.h: at most 64 levels).  Before jsonin a 1,000-deep
// JWT header sent as apikey, a frame, a metadata header... overflowed the
// 100 KiB civetweb worker stack inside jansson and killed the process.
//
// Every case sends 1,000-deep and 100,000-deep nesting, expects the 4xx of
// that protocol's error shape (or the Phoenix error reply / close for
// WebSocket frames), and then checks that the server still answers
// /health.  Where the text travels in a header or the URL, 100,000 levels
// are refused by the front before any parser (civetweb's request size
// limit) or by the token size limit: the case still asserts a clean 4xx.
// A few cases also check that 64 levels, the limit, are admitted.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import WebSocket from 'ws';
import {
  startServer, request, admin, createCollection, freePort, sleep, projectSecret, assertPgError,
} from './lib/server.mjs';
import { functionsDir, buildPlugin } from './lib/fnplugins.mjs';

const LIMIT = 64;
const DEPTHS = [1000, 100000];

/** d nested arrays around '1' (closed). */
const nest = (d) => '['.repeat(d) + '1' + ']'.repeat(d);
const b64u = (s) => Buffer.from(s).toString('base64url');

/** A JWT from raw header and payload text, HS256-signed with secret. */
function rawJwt(header, payload, secret) {
  const data = `${b64u(header)}.${b64u(payload)}`;
  return `${data}.${crypto.createHmac('sha256', secret).update(data).digest('base64url')}`;
}

// A plugin that hands its HTTP body to the host API (doc_insert,
// doc_update, invoke) and answers the host's return codes: JSON from a
// plugin is admitted like any other outside JSON.
const HOSTJSON = String.raw`
#include <basalt/function.h>
#include <stdio.h>
#include <string.h>
static int handle(const basalt_event *ev, basalt_ctx *ctx, basalt_response *res)
{
    if (ev->kind != BASALT_EVENT_HTTP)
        return ctx->host->json(res, 200, "{}");
    const char *body = ev->http->body ? (const char *)ev->http->body : "";
    char *result = NULL;
    int ins = ctx->host->doc_insert(ctx, "hostdocs", body, NULL);
    int upd = ctx->host->doc_update(ctx, "hostdocs", "nope", body, NULL);
    int inv = ctx->host->invoke(ctx, "hostjson", body, &result);
    if (result)
        ctx->host->free(result);
    char out[128];
    snprintf(out, sizeof out, "{\"insert\":%d,\"update\":%d,\"invoke\":%d}", ins, upd, inv);
    return ctx->host->json(res, 200, out);
}
static const basalt_trigger triggers[] = {BASALT_ON_HTTP(BASALT_POST)};
BASALT_FUNCTION(.name = "hostjson", .description = "host API with caller JSON", .triggers = triggers,
                .ntriggers = BASALT_COUNT(triggers), .timeout_ms = 5000, .concurrency = 8, .handle = handle);
`;

function assertGotrueError(res, status, code, what) {
  const label = `${what} → ${res.status} ${res.text.slice(0, 300)}`;
  assert.equal(res.status, status, label);
  assert.equal(res.body?.error_code, code, label);
  assert.equal(typeof res.body?.msg, 'string', label);
}

function assertStorageError(res, status, error, what) {
  const label = `${what} → ${res.status} ${res.text.slice(0, 300)}`;
  assert.equal(res.status, status, label);
  assert.equal(res.body?.statusCode, String(status), label);
  if (error) assert.equal(res.body?.error, error, label);
  assert.equal(typeof res.body?.message, 'string', label);
  return res.body;
}

/** request(), except that a connection the front closes while a request
 * over its size limit is still being written (EPIPE, ECONNRESET) gives
 * {status: 'closed'} instead of throwing. */
async function send(server, method, p, opts) {
  try {
    return await request(server, method, p, opts);
  } catch (e) {
    if (['EPIPE', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(e.cause?.code)) return { status: 'closed', text: e.cause.code };
    throw e;
  }
}

/** The front's own refusal of a request line or header block over
 * civetweb's size limit: a 4xx in the PostgREST shape, or the connection
 * closed before the client finished writing. */
function assertFrontTooLarge(res, what) {
  if (res.status === 'closed') return;
  assertPgError(res, [400, 413, 414, 431], undefined, `${what} (request over the front's size limit)`);
}

describe('JSON nested deeper than 64 levels never crashes the server', () => {
  let server, rtPort, fdir;
  const wsMain = () => `ws://127.0.0.1:${server.port}`;
  const wsLws = () => `ws://127.0.0.1:${rtPort}`;

  before(async () => {
    fdir = functionsDir(['add']);
    buildPlugin(HOSTJSON, path.join(fdir, 'hostjson.so'));
    rtPort = await freePort();
    server = await startServer({ args: ['--functions-dir', fdir, '--realtime-port', String(rtPort)] });
    await createCollection(server, 'things');
    const ins = await request(server, 'POST', '/rest/v1/things', { json: { id: 't1', tags: ['a'] } });
    assert.equal(ins.status, 201, ins.text);
    const b = await request(server, 'POST', '/storage/v1/bucket', { json: { id: 'b', name: 'b', public: false } });
    assert.equal(b.status, 200, b.text);
    const up = await request(server, 'POST', '/storage/v1/object/b/k.txt', { body: 'hi', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(up.status, 200, up.text);
  });

  after(async () => {
    if (server) await server.stop({ expectExit0: true });
  });

  /** The server is up and answers: /health and a plain REST read. */
  async function alive(what) {
    assert.equal(server.exitCode, undefined, `server exited (${server.exitSignal}) after ${what}`);
    const h = await fetch(`${server.url}/health`).catch((e) => ({ status: `fetch failed: ${e.message}` }));
    assert.equal(h.status, 200, `/health after ${what}`);
    const r = await request(server, 'GET', '/rest/v1/things?select=id');
    assert.equal(r.status, 200, `a REST read after ${what}: ${r.text}`);
  }

  // ---- JWTs: parsed before the signature is checked ----

  const secret = () => projectSecret(server);
  const exp = () => Math.floor(Date.now() / 1000) + 3600;
  const deepHeaderJwt = (d) => rawJwt(`{"alg":"HS256","typ":"JWT","x":${nest(d)}}`, `{"role":"anon","exp":${exp()}}`, secret());
  const deepPayloadJwt = (d) => rawJwt('{"alg":"HS256","typ":"JWT"}', `{"role":"anon","exp":${exp()},"x":${nest(d)}}`, secret());

  for (const d of DEPTHS) {
    for (const [part, mk] of [['header', deepHeaderJwt], ['payload', deepPayloadJwt]]) {
      test(`JWT ${part} ${d} deep: apikey header, Authorization, ?apikey= → 401 (or the front's 400)`, async () => {
        const tok = mk(d);
        const viaHeader = await send(server, 'GET', '/rest/v1/things', { key: null, headers: { apikey: tok } });
        const viaBearer = await send(server, 'GET', '/rest/v1/things', { key: null, headers: { apikey: server.anonKey, Authorization: `Bearer ${tok}` } });
        const viaQuery = await send(server, 'GET', `/rest/v1/things?apikey=${tok}`, { key: null });
        const viaAuth = await send(server, 'GET', '/auth/v1/user', { key: null, headers: { apikey: server.anonKey, Authorization: `Bearer ${tok}` } });
        if (d === 1000) {
          assertPgError(viaHeader, 401, 'PGRST301', 'apikey header');
          assertPgError(viaBearer, 401, /^PGRST30[13]$/, 'Authorization: Bearer');
          assertPgError(viaQuery, 401, 'PGRST301', '?apikey=');
          assertGotrueError(viaAuth, 403, 'bad_jwt', 'GoTrue /user');
        } else {
          for (const [r, w] of [[viaHeader, 'apikey header'], [viaBearer, 'Bearer'], [viaQuery, '?apikey='], [viaAuth, '/auth/v1/user']]) assertFrontTooLarge(r, w);
        }
        await alive(`a ${d}-deep JWT ${part}`);
      });
    }

    test(`storage ?token= signed URL with a ${d}-deep JWT → 400 InvalidJWT`, async () => {
      for (const tok of [deepHeaderJwt(d), deepPayloadJwt(d)]) {
        const r = await send(server, 'GET', `/storage/v1/object/sign/b/k.txt?token=${tok}`, { key: null });
        if (d === 1000) assertStorageError(r, 400, 'InvalidJWT', 'sign ?token=');
        else assert.ok([400, 413, 414, 431, 'closed'].includes(r.status), `sign ?token= 100k: ${r.status} ${r.text.slice(0, 200)}`);
      }
      await alive(`a ${d}-deep ?token=`);
    });
  }

  test('a user whose metadata sits at the limit gets a token that verifies (claims stay within 64 levels)', async () => {
    // body {"data": 63 levels} is 64 deep; the token's payload
    // {"user_metadata": 63 levels} is 64 deep too
    const email = `deep${Date.now()}@example.com`;
    const body = `{"email":"${email}","password":"pw123456","data":{"m":${nest(LIMIT - 3)}}}`;
    const su = await request(server, 'POST', '/auth/v1/signup', { key: 'anon', body, headers: { 'Content-Type': 'application/json' } });
    assert.equal(su.status, 200, su.text);
    const tok = su.body.access_token;
    const me = await request(server, 'GET', '/auth/v1/user', { key: null, headers: { apikey: server.anonKey, Authorization: `Bearer ${tok}` } });
    assert.equal(me.status, 200, me.text);
    assert.equal(JSON.stringify(me.body.user_metadata.m), nest(LIMIT - 3));
    const rest = await request(server, 'GET', '/rest/v1/things', { key: null, headers: { apikey: server.anonKey, Authorization: `Bearer ${tok}` } });
    assert.ok([200, 401, 403].includes(rest.status) && rest.body?.code !== 'PGRST301', `REST with the token: ${rest.text}`);
  });

  // ---- request bodies ----

  for (const d of DEPTHS) {
    test(`auth request body ${d} deep → 400 bad_json (GoTrue shape)`, async () => {
      const body = `{"email":"x@example.com","password":"pw123456","data":${nest(d)}}`;
      for (const p of ['/auth/v1/signup', '/auth/v1/token?grant_type=password']) {
        const r = await request(server, 'POST', p, { key: 'anon', body, headers: { 'Content-Type': 'application/json' } });
        assertGotrueError(r, 400, 'bad_json', p);
        assert.match(r.body.msg, /nested deeper than 64 levels/);
      }
      await alive(`a ${d}-deep auth body`);
    });

    test(`REST body ${d} deep → 400 PGRST102`, async () => {
      const r = await request(server, 'POST', '/rest/v1/things', { body: `{"id":"deep","x":${nest(d)}}`, headers: { 'Content-Type': 'application/json' } });
      assertPgError(r, 400, 'PGRST102', 'REST insert');
      await alive(`a ${d}-deep REST body`);
    });

    test(`broadcast REST endpoints, ${d}-deep body → 400`, async () => {
      const many = `{"messages":[{"topic":"room","event":"e","payload":{"x":${nest(d)}}}]}`;
      const r1 = await request(server, 'POST', '/realtime/v1/api/broadcast', { body: many, headers: { 'Content-Type': 'application/json' } });
      assertPgError(r1, 400, 'invalid_body', '/api/broadcast');
      assert.match(r1.body.message, /nested deeper than 64 levels/);
      const r2 = await request(server, 'POST', '/realtime/v1/api/broadcast/room/events/e', { body: nest(d), headers: { 'Content-Type': 'application/json' } });
      assertPgError(r2, 400, 'invalid_json', '/api/broadcast/{topic}/events/{event}');
      assert.match(r2.body.message, /nested deeper than 64 levels/);
      await alive(`a ${d}-deep broadcast body`);
    });

    test(`storage list body ${d} deep → 400 InvalidRequest (storage shape)`, async () => {
      const r = await request(server, 'POST', '/storage/v1/object/list/b', { body: `{"prefix":"","x":${nest(d)}}`, headers: { 'Content-Type': 'application/json' } });
      assertStorageError(r, 400, 'InvalidRequest', 'list');
      assert.match(r.body.message, /nested deeper than 64 levels/);
      await alive(`a ${d}-deep storage list body`);
    });

    test(`storage metadata ${d} deep: x-metadata and multipart → 400`, async () => {
      const meta = `{"m":${nest(d)}}`;
      const raw = await send(server, 'POST', '/storage/v1/object/b/raw.txt', { body: 'hi', headers: { 'Content-Type': 'text/plain', 'x-metadata': Buffer.from(meta).toString('base64') } });
      if (d === 1000) {
        assertStorageError(raw, 400, 'InvalidRequest', 'x-metadata');
        assert.match(raw.body.message, /nested deeper than 64 levels/);
      } else {
        assert.ok([400, 413, 431, 'closed'].includes(raw.status), `x-metadata 100k: ${raw.status} ${raw.text.slice(0, 200)}`);
      }
      const fd = new FormData();
      fd.append('metadata', meta);
      fd.append('file', new Blob(['hi'], { type: 'text/plain' }), 'mp.txt');
      const mp = await request(server, 'POST', '/storage/v1/object/b/mp.txt', { body: fd });
      assertStorageError(mp, 400, 'InvalidRequest', 'multipart metadata');
      // 100,000 levels are over the 64 KiB form field limit first
      assert.match(mp.body.message, d === 1000 ? /nested deeper than 64 levels/ : /too large/);
      await alive(`${d}-deep storage metadata`);
    });

    test(`cs./cd. filter operand ${d} deep → 400 22P02 (or the front's 400)`, async () => {
      for (const op of ['cs', 'cd', 'not.cs']) {
        const r = await send(server, 'GET', `/rest/v1/things?tags=${op}.${encodeURIComponent(nest(d))}`);
        if (d === 1000) {
          assertPgError(r, 400, '22P02', `${op}.`);
          assert.match(r.body.message, /nested deeper than 64 levels/);
        } else {
          assertFrontTooLarge(r, `${op}.`);
        }
      }
      await alive(`a ${d}-deep cs./cd. operand`);
    });

    test(`functions: RPC body, function settings body and plugin payloads ${d} deep → refused`, async () => {
      const rpc = await request(server, 'POST', '/rest/v1/rpc/add', { body: `{"a":${nest(d)}}`, headers: { 'Content-Type': 'application/json' } });
      assertPgError(rpc, 400, 'PGRST102', 'rpc body');
      const settings = await admin(server, 'PATCH', '/functions/add', undefined, { body: `{"timeout_ms":${nest(d)}}`, headers: { 'Content-Type': 'application/json' } });
      assertPgError(settings, 400, 'PGRST102', 'function settings');
      const host = await request(server, 'POST', '/functions/v1/hostjson', { body: `{"x":${nest(d)}}`, headers: { 'Content-Type': 'application/json' } });
      assert.equal(host.status, 200, host.text);
      assert.deepEqual(host.body, { insert: -3, update: -3, invoke: -3 }, 'the host answers BASALT_EINVAL');
      await alive(`${d}-deep function payloads`);
    });
  }

  test('64 levels are admitted: metadata, broadcast, REST body, plugin payloads', async () => {
    const meta = `{"m":${nest(LIMIT - 1)}}`;
    const raw = await request(server, 'POST', '/storage/v1/object/b/limit.txt', { body: 'hi', headers: { 'Content-Type': 'text/plain', 'x-metadata': Buffer.from(meta).toString('base64') } });
    assert.equal(raw.status, 200, raw.text);
    const info = await request(server, 'GET', '/storage/v1/object/info/b/limit.txt');
    assert.equal(info.status, 200, info.text);
    assert.equal(JSON.stringify(info.body.metadata), meta);
    const bc = await request(server, 'POST', '/realtime/v1/api/broadcast/room/events/e', { body: nest(LIMIT), headers: { 'Content-Type': 'application/json' } });
    assert.equal(bc.status, 202, bc.text);
    const doc = await request(server, 'POST', '/rest/v1/things', { body: `{"id":"lim","x":${nest(LIMIT - 1)}}`, headers: { 'Content-Type': 'application/json' } });
    assert.equal(doc.status, 201, doc.text);
    const cs = await request(server, 'GET', `/rest/v1/things?x=cs.${encodeURIComponent(nest(LIMIT))}&select=id`);
    assert.equal(cs.status, 200, cs.text);
    const host = await request(server, 'POST', '/functions/v1/hostjson', { body: `{"id":"h1","x":${nest(LIMIT - 1)}}`, headers: { 'Content-Type': 'application/json' } });
    assert.equal(host.status, 200, host.text);
    assert.equal(host.body.insert, 0, host.text);
    await alive('64-level inputs');
  });

  // ---- WebSockets: the apikey, text frames, access tokens, binary pushes ----

  /** A raw socket; resolves `closed` with {code, reason} or {status} when the upgrade is refused. */
  function rawWs(base, key) {
    const ws = new WebSocket(`${base}/realtime/v1/websocket?apikey=${encodeURIComponent(key)}&vsn=2.0.0`, { maxPayload: 1 << 24 });
    const msgs = [];
    ws.on('message', (data, bin) => { if (!bin) msgs.push(JSON.parse(data.toString())); });
    const closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
      ws.on('unexpected-response', (req, res) => { resolve({ status: res.statusCode }); req.destroy(); });
      ws.on('error', (e) => resolve({ error: e.message }));
    });
    const opened = new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); ws.once('unexpected-response', () => rej(new Error('upgrade refused'))); });
    opened.catch(() => {});
    return { ws, msgs, closed, opened };
  }

  async function reply(sock, ref, ms = 5000) {
    const t0 = Date.now();
    for (;;) {
      const m = sock.msgs.find((x) => x[1] === ref && x[3] === 'phx_reply');
      if (m) return m;
      if (Date.now() - t0 > ms) assert.fail(`no phx_reply to ${ref}`);
      await sleep(20);
    }
  }

  /** A fresh socket on base still gets a heartbeat reply. */
  async function wsAlive(base, what) {
    const s = rawWs(base, server.anonKey);
    await s.opened;
    s.ws.send(JSON.stringify([null, 'hb', 'phoenix', 'heartbeat', {}]));
    const m = await reply(s, 'hb');
    assert.equal(m[4].status, 'ok', `heartbeat after ${what}`);
    s.ws.close();
    await alive(what);
  }

  for (const [lname, base] of [['main port', wsMain], ['--realtime-port', wsLws]]) {
    for (const d of DEPTHS) {
      test(`${lname}: a ${d}-deep JWT as the WebSocket apikey is refused`, async () => {
        for (const tok of [deepHeaderJwt(d), deepPayloadJwt(d)]) {
          const s = rawWs(base(), tok);
          const c = await s.closed;
          if (d === 1000) {
            assert.equal(c.code, 1008, JSON.stringify(c));
            assert.match(c.reason, /invalid apikey/);
          } else {
            // the URL is over the listener's request size limit
            assert.ok(c.code === 1008 || (c.status >= 400 && c.status < 500) || c.error, JSON.stringify(c));
          }
        }
        await wsAlive(base(), `${d}-deep WebSocket apikey (${lname})`);
      });

      test(`${lname}: a ${d}-deep text frame closes the socket with 1003`, async () => {
        for (const frame of [
          `[null,"1","phoenix","heartbeat",{"x":${nest(d)}}]`,
          `{"topic":"phoenix","event":"heartbeat","payload":{"x":${nest(d)}},"ref":"1"}`,
          '['.repeat(d),
        ]) {
          const s = rawWs(base(), server.anonKey);
          await s.opened;
          s.ws.send(frame);
          const c = await s.closed;
          assert.equal(c.code, 1003, JSON.stringify(c));
          assert.match(c.reason, /nested deeper than 64 levels/);
        }
        await wsAlive(base(), `${d}-deep frames (${lname})`);
      });

      test(`${lname}: ${d}-deep access_token, then a ${d}-deep binary push payload → error replies`, async () => {
        const s = rawWs(base(), server.anonKey);
        await s.opened;
        const cfg = { broadcast: { ack: true, self: false }, presence: { key: '', enabled: false }, private: false };
        s.ws.send(JSON.stringify(['j1', 'j1', 'realtime:deep', 'phx_join', { config: cfg, access_token: deepPayloadJwt(d) }]));
        const refused = await reply(s, 'j1');
        assert.equal(refused[4].status, 'error', JSON.stringify(refused));
        s.ws.send(JSON.stringify(['j2', 'j2', 'realtime:deep', 'phx_join', { config: cfg, access_token: deepHeaderJwt(d) }]));
        assert.equal((await reply(s, 'j2'))[4].status, 'error');
        s.ws.send(JSON.stringify(['j3', 'j3', 'realtime:deep', 'phx_join', { config: cfg }]));
        assert.equal((await reply(s, 'j3'))[4].status, 'ok');
        const topic = 'realtime:deep', ev = 'e', pl = Buffer.from('['.repeat(d));
        const hdr = Buffer.from([3, 2, 2, topic.length, ev.length, 0, 1]);
        s.ws.send(Buffer.concat([hdr, Buffer.from('j3'), Buffer.from('b1'), Buffer.from(topic), Buffer.from(ev), pl]));
        const r = await reply(s, 'b1');
        assert.equal(r[4].status, 'error', JSON.stringify(r));
        assert.match(r[4].response.reason, /nested deeper than 64 levels/);
        s.ws.send(JSON.stringify(['j3', 'a1', topic, 'access_token', { access_token: deepHeaderJwt(d) }]));
        await sleep(100);
        s.ws.close();
        await wsAlive(base(), `${d}-deep access tokens and pushes (${lname})`);
      });
    }
  }

  test('at the end the server is still the same process and exits cleanly', async () => {
    await alive('all cases');
    assert.equal(server.exitCode, undefined);
  });
});
