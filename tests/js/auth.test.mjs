// GoTrue-compatible auth through the unmodified supabase-js client:
// sign-up, sign-in, user get/update, refresh rotation, sign-out scopes,
// anonymous users, recovery (tokens through a function, never the change log),
// error codes, forged tokens.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { startServer, request, keyHeaders } from './lib/server.mjs';
import { functionsDir, buildPlugin, eventually, rows as docs } from './lib/fnplugins.mjs';

let server, fdir;

// A mailer as an app would write one: an auth trigger on recovery requests
// that puts the event (with its token) into collection "outbox".
const MAILER = `
#include <basalt/function.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int handle(const basalt_event *ev, basalt_ctx *ctx, basalt_response *res)
{
    (void)res;
    size_t n = strlen(ev->auth->data) + 64;
    char *doc = malloc(n);
    if (!doc) return BASALT_ERROR;
    snprintf(doc, n, "{\\"id\\":\\"%lld\\",\\"event\\":%s}", (long long)ev->auth->seq, ev->auth->data);
    int rc = ctx->host->doc_insert(ctx, "outbox", doc, NULL);
    free(doc);
    return rc == BASALT_OK || rc == BASALT_EEXISTS ? BASALT_OK : BASALT_ERROR;
}
static const basalt_trigger t[] = { BASALT_ON_AUTH(BASALT_RECOVERY) };
BASALT_FUNCTION(.name = "mailer", .triggers = t, .ntriggers = 1, .handle = handle);
`;

// this file signs in far more than the default 30 times per 5 minutes
before(async () => {
  fdir = functionsDir([]);
  buildPlugin(MAILER, path.join(fdir, 'mailer.so'));
  server = await startServer({ args: ['--rate-signin', '1000', '--rate-recover', '100', '--functions-dir', fdir] });
});
after(async () => {
  await server?.stop({ expectExit0: true });
  fs.rmSync(fdir, { recursive: true, force: true });
});

const OPTS = { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false }, realtime: { transport: WebSocket } };
const anonClient = () => createClient(server.url, server.anonKey, OPTS);
const serviceClient = () => createClient(server.url, server.serviceKey, OPTS);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function decode(jwt) {
  const [h, p] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), payload: JSON.parse(Buffer.from(p, 'base64url')) };
}
function b64u(obj) { return Buffer.from(JSON.stringify(obj)).toString('base64url'); }
function sign(payload, secret, header = { alg: 'HS256', typ: 'JWT' }) {
  const data = `${b64u(header)}.${b64u(payload)}`;
  const sig = crypto.createHmac('sha256', secret).update(data).digest('base64url');
  return `${data}.${sig}`;
}
function sql(q) {
  return execFileSync('sqlite3', ['-json', path.join(server.dataDir, 'basalt.db'), q], { encoding: 'utf8' });
}
function rows(q) { const t = sql(q).trim(); return t ? JSON.parse(t) : []; }

/** GET /auth/v1/user with a raw access token. */
const getUserRaw = (token) => request(server, 'GET', '/auth/v1/user', { key: 'anon', headers: { Authorization: `Bearer ${token}` } });

let counter = 0;
const email = (p = 'u') => `${p}${++counter}.${Date.now()}@example.com`;

async function signedIn(addr, password = 'pw123456') {
  const c = anonClient();
  const { data, error } = await c.auth.signInWithPassword({ email: addr, password });
  assert.equal(error, null, JSON.stringify(error));
  return { client: c, session: data.session };
}

describe('sign-up and sign-in', () => {
  test('signUp with data returns a session (auto-confirm), user and GoTrue claims', async () => {
    const c = anonClient();
    const addr = email('Signup').replace('signup', 'SignUp');
    const { data, error } = await c.auth.signUp({ email: addr, password: 'pw123456', options: { data: { name: 'x', n: 1 } } });
    assert.equal(error, null, JSON.stringify(error));
    assert.ok(data.session, 'session present');
    const u = data.user;
    assert.match(u.id, UUID);
    assert.equal(u.email, addr.toLowerCase());
    assert.equal(u.aud, 'authenticated');
    assert.equal(u.role, 'authenticated');
    assert.equal(u.phone, '');
    assert.deepEqual(u.user_metadata, { name: 'x', n: 1 });
    assert.deepEqual(u.app_metadata, { provider: 'email', providers: ['email'] });
    assert.equal(u.is_anonymous, false);
    assert.ok(u.email_confirmed_at && u.confirmed_at && u.created_at && u.updated_at && u.last_sign_in_at);
    assert.equal(u.identities.length, 1);
    assert.equal(u.identities[0].provider, 'email');
    assert.equal(u.identities[0].user_id, u.id);
    assert.equal(u.identities[0].identity_data.email, addr.toLowerCase());
    assert.equal(u.banned_until, undefined, 'empty optional fields are omitted');
    const s = data.session;
    assert.equal(s.token_type, 'bearer');
    assert.equal(s.expires_in, 3600);
    assert.ok(Math.abs(s.expires_at - (Date.now() / 1000 + 3600)) < 10);
    assert.ok(s.refresh_token.length >= 22);
    const { header, payload } = decode(s.access_token);
    assert.equal(header.alg, 'HS256');
    assert.equal(payload.iss, `${server.url}/auth/v1`);
    assert.equal(payload.sub, u.id);
    assert.equal(payload.aud, 'authenticated');
    assert.equal(payload.role, 'authenticated');
    assert.equal(payload.email, addr.toLowerCase());
    assert.equal(payload.phone, '');
    assert.equal(payload.exp - payload.iat, 3600);
    assert.equal(payload.aal, 'aal1');
    assert.equal(payload.amr[0].method, 'password');
    assert.match(payload.session_id, UUID);
    assert.equal(payload.is_anonymous, false);
    assert.deepEqual(payload.user_metadata, { name: 'x', n: 1 });
    assert.deepEqual(payload.app_metadata, { provider: 'email', providers: ['email'] });
  });

  test('duplicate sign-up is user_already_exists (422), any case of the address', async () => {
    const addr = email();
    const c = anonClient();
    assert.equal((await c.auth.signUp({ email: addr, password: 'pw123456' })).error, null);
    const { data, error } = await anonClient().auth.signUp({ email: addr.toUpperCase(), password: 'pw123456' });
    assert.equal(error.code, 'user_already_exists');
    assert.equal(error.status, 422);
    assert.equal(data.session, null);
  });

  test('signInWithPassword, wrong password, unknown user', async () => {
    const addr = email();
    await anonClient().auth.signUp({ email: addr, password: 'pw123456' });
    const { session } = await signedIn(addr);
    assert.ok(session.access_token && session.refresh_token && session.user);
    const bad = await anonClient().auth.signInWithPassword({ email: addr, password: 'wrong-password' });
    assert.equal(bad.error.code, 'invalid_credentials');
    assert.equal(bad.error.status, 400);
    assert.equal(bad.error.message, 'Invalid login credentials');
    const none = await anonClient().auth.signInWithPassword({ email: `nobody.${addr}`, password: 'pw123456' });
    assert.equal(none.error.code, 'invalid_credentials');
  });

  test('signInAnonymously gives an anonymous user and token', async () => {
    const c = anonClient();
    const { data, error } = await c.auth.signInAnonymously({ options: { data: { k: 'v' } } });
    assert.equal(error, null, JSON.stringify(error));
    assert.equal(data.user.is_anonymous, true);
    assert.equal(data.user.email, '');
    assert.deepEqual(data.user.identities, []);
    assert.deepEqual(data.user.user_metadata, { k: 'v' });
    const { payload } = decode(data.session.access_token);
    assert.equal(payload.is_anonymous, true);
    assert.equal(payload.role, 'authenticated');
    assert.equal(payload.amr[0].method, 'anonymous');
    const me = await c.auth.getUser();
    assert.equal(me.data.user.id, data.user.id);
    // an anonymous user becomes permanent by setting e-mail and password
    const addr = email('anon');
    const up = await c.auth.updateUser({ email: addr, password: 'pw123456' });
    assert.equal(up.error, null, JSON.stringify(up.error));
    assert.equal(up.data.user.is_anonymous, false);
    assert.equal(up.data.user.email, addr);
    await signedIn(addr);
  });
});

describe('user', () => {
  test('getUser and updateUser (data merges, null deletes; password change)', async () => {
    const addr = email();
    const c = anonClient();
    await c.auth.signUp({ email: addr, password: 'pw123456', options: { data: { name: 'x', drop: 1 } } });
    const g = await c.auth.getUser();
    assert.equal(g.error, null);
    assert.equal(g.data.user.email, addr);
    const u1 = await c.auth.updateUser({ data: { theme: 'dark', drop: null } });
    assert.equal(u1.error, null, JSON.stringify(u1.error));
    assert.deepEqual(u1.data.user.user_metadata, { name: 'x', theme: 'dark' });
    const same = await c.auth.updateUser({ password: 'pw123456' });
    assert.equal(same.error.code, 'same_password');
    const weak = await c.auth.updateUser({ password: 'short' });
    assert.equal(weak.error.code, 'weak_password');
    const u2 = await c.auth.updateUser({ password: 'new-password-1' });
    assert.equal(u2.error, null, JSON.stringify(u2.error));
    assert.equal((await anonClient().auth.signInWithPassword({ email: addr, password: 'pw123456' })).error.code, 'invalid_credentials');
    await signedIn(addr, 'new-password-1');
    // the change log has the user's INSERT and UPDATE
    const log = rows(`SELECT op, json_extract(new,'$.user_metadata.theme') AS theme FROM _basalt_changes WHERE collection='auth.users' AND doc_id='${g.data.user.id}' ORDER BY seq`);
    assert.equal(log[0].op, 'INSERT');
    assert.ok(log.some((r) => r.op === 'UPDATE' && r.theme === 'dark'), JSON.stringify(log));
  });

  test('users are not reachable through /rest/v1', async () => {
    for (const name of ['_basalt_users', '_basalt_sessions', 'auth.users', 'users']) {
      const r = await request(server, 'GET', `/rest/v1/${encodeURIComponent(name)}?select=*`);
      assert.ok(r.status >= 400, `${name}: ${r.status} ${r.text}`);
      assert.ok(!/password_hash|\$scrypt\$/.test(r.text), `${name} leaks: ${r.text}`);
    }
  });
});

describe('refresh tokens', () => {
  test('refreshSession rotates; the old token within the reuse interval still answers', async () => {
    const addr = email();
    await anonClient().auth.signUp({ email: addr, password: 'pw123456' });
    const { client, session } = await signedIn(addr);
    const r1 = await client.auth.refreshSession();
    assert.equal(r1.error, null, JSON.stringify(r1.error));
    const s2 = r1.data.session;
    assert.notEqual(s2.refresh_token, session.refresh_token);
    assert.equal(decode(s2.access_token).payload.session_id, decode(session.access_token).payload.session_id);
    // the same (now rotated) token again, within 10 s: a valid response with the current token
    const again = await request(server, 'POST', '/auth/v1/token?grant_type=refresh_token', { key: 'anon', json: { refresh_token: session.refresh_token } });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.refresh_token, s2.refresh_token);
    assert.ok(again.body.access_token && again.body.expires_in === 3600 && again.body.user.id === session.user.id);
    // the child is still usable and rotates on
    const r2 = await request(server, 'POST', '/auth/v1/token?grant_type=refresh_token', { key: 'anon', json: { refresh_token: s2.refresh_token } });
    assert.equal(r2.status, 200, r2.text);
    assert.notEqual(r2.body.refresh_token, s2.refresh_token);
    // only hashes are stored
    const stored = rows(`SELECT hex(token_hash) AS h FROM _basalt_refresh_tokens`);
    assert.ok(stored.length > 0);
    // key: SHA-256(8-char session locator)[0..8) || 12 hex digits of the issue time || SHA-256(token)
    const rt = r2.body.refresh_token;
    assert.match(rt, /^[A-Za-z0-9_-]{8}[0-9a-f]{12}[A-Za-z0-9_-]{32}$/);
    assert.equal(rt.slice(0, 8), s2.refresh_token.slice(0, 8)); // the session's locator is inherited
    const sha = (x) => crypto.createHash('sha256').update(x).digest();
    const want = Buffer.concat([sha(rt.slice(0, 8)).subarray(0, 8), Buffer.from(rt.slice(8, 20)), sha(rt)])
      .toString('hex').toUpperCase();
    assert.ok(stored.some((r) => r.h === want));
    assert.ok(!sql('SELECT * FROM _basalt_refresh_tokens').includes(r2.body.refresh_token));
  });

  test('a token issued before the session-locator format (key = SHA-256(token)) still rotates', async () => {
    const su = await request(server, 'POST', '/auth/v1/signup', { key: 'anon', json: { data: {} } });
    assert.equal(su.status, 200, su.text);
    const sid = decode(su.body.access_token).payload.session_id;
    const legacy = crypto.randomBytes(24).toString('base64url');
    assert.equal(legacy.length, 32);
    const h = crypto.createHash('sha256').update(legacy).digest('hex');
    sql(`UPDATE _basalt_refresh_tokens SET revoked_at = 1 WHERE session_id = '${sid}';
         INSERT INTO _basalt_refresh_tokens(token_hash, session_id, user_id, created_at)
         VALUES (x'${h}', '${sid}', '${su.body.user.id}', 1)`);
    const r1 = await request(server, 'POST', '/auth/v1/token?grant_type=refresh_token', { key: 'anon', json: { refresh_token: legacy } });
    assert.equal(r1.status, 200, r1.text);
    assert.equal(decode(r1.body.access_token).payload.session_id, sid);
    assert.match(r1.body.refresh_token, /^[A-Za-z0-9_-]{8}[0-9a-f]{12}[A-Za-z0-9_-]{32}$/);
    assert.equal(rows(`SELECT revoked_at IS NOT NULL AS r FROM _basalt_refresh_tokens WHERE token_hash = x'${h}'`)[0].r, 1);
    // within the reuse interval the legacy parent answers with the same child
    const again = await request(server, 'POST', '/auth/v1/token?grant_type=refresh_token', { key: 'anon', json: { refresh_token: legacy } });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.refresh_token, r1.body.refresh_token);
    const r2 = await request(server, 'POST', '/auth/v1/token?grant_type=refresh_token', { key: 'anon', json: { refresh_token: r1.body.refresh_token } });
    assert.equal(r2.status, 200, r2.text);
    assert.equal(r2.body.refresh_token.slice(0, 8), r1.body.refresh_token.slice(0, 8));
  });

  test('unknown refresh token is refresh_token_not_found', async () => {
    const r = await request(server, 'POST', '/auth/v1/token?grant_type=refresh_token', { key: 'anon', json: { refresh_token: 'nope-nope-nope' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'refresh_token_not_found');
    assert.equal(r.headers.get('x-supabase-api-version'), '2024-01-01');
  });
});

describe('sign-out scopes', () => {
  test('others, local, global', async () => {
    const addr = email();
    await anonClient().auth.signUp({ email: addr, password: 'pw123456' });
    const a = await signedIn(addr), b = await signedIn(addr), c = await signedIn(addr);
    assert.equal((await a.client.auth.signOut({ scope: 'others' })).error, null);
    assert.equal((await getUserRaw(a.session.access_token)).status, 200);
    for (const other of [b, c]) {
      const r = await getUserRaw(other.session.access_token);
      assert.equal(r.status, 403, r.text);
      assert.equal(r.body.code, 'session_not_found');
      const rr = await request(server, 'POST', '/auth/v1/token?grant_type=refresh_token', { key: 'anon', json: { refresh_token: other.session.refresh_token } });
      assert.equal(rr.body.code, 'refresh_token_not_found');
    }
    // getUser through the client with a revoked session is AuthSessionMissingError
    const g = await b.client.auth.getUser();
    assert.ok(g.error);
    const d = await signedIn(addr);
    assert.equal((await a.client.auth.signOut({ scope: 'local' })).error, null);
    assert.equal((await getUserRaw(a.session.access_token)).body.code, 'session_not_found');
    assert.equal((await getUserRaw(d.session.access_token)).status, 200);
    const e = await signedIn(addr);
    assert.equal((await d.client.auth.signOut()).error, null); // default: global
    assert.equal((await getUserRaw(d.session.access_token)).status, 403);
    assert.equal((await getUserRaw(e.session.access_token)).status, 403);
    assert.equal(rows(`SELECT count(*) AS n FROM _basalt_sessions WHERE user_id='${d.session.user.id}'`)[0].n, 0);
  });

  test('logout answers 204 with no body; bad scope is validation_failed', async () => {
    const addr = email();
    await anonClient().auth.signUp({ email: addr, password: 'pw123456' });
    const { session } = await signedIn(addr);
    const bad = await request(server, 'POST', '/auth/v1/logout?scope=everyone', { key: 'anon', headers: { Authorization: `Bearer ${session.access_token}` } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'validation_failed');
    const r = await request(server, 'POST', '/auth/v1/logout?scope=local', { key: 'anon', headers: { Authorization: `Bearer ${session.access_token}` } });
    assert.equal(r.status, 204);
    assert.equal(r.text, '');
  });
});

describe('recovery', () => {
  test('recover hands the token to functions (not to the change log); verify signs in once', async () => {
    const addr = email('rec');
    await anonClient().auth.signUp({ email: addr, password: 'pw123456' });
    const c = anonClient();
    const r = await c.auth.resetPasswordForEmail(addr, { redirectTo: 'http://app/reset' });
    assert.equal(r.error, null, JSON.stringify(r.error));
    assert.deepEqual(r.data, {});
    const ev = rows(`SELECT seq, op, new FROM _basalt_changes WHERE collection='auth.events' ORDER BY seq DESC LIMIT 1`);
    assert.equal(ev.length, 1);
    assert.equal(ev[0].op, 'INSERT');
    const logged = JSON.parse(ev[0].new);
    assert.equal(logged.event, 'recovery_requested');
    assert.equal(logged.email, addr);
    assert.equal(logged.user.email, addr);
    assert.equal(logged.redirect_to, 'http://app/reset');
    assert.equal(logged.token, undefined);
    assert.equal(logged.token_hash, undefined);
    const mail = await eventually(async () => {
      const o = await docs(server, 'outbox', `id=eq.${ev[0].seq}`);
      return o.length === 1 ? o[0].event : null;
    }, 8000, 'the mailer function');
    const body = mail;
    assert.equal(body.event, 'recovery_requested');
    assert.equal(body.email, addr);
    assert.equal(body.redirect_to, 'http://app/reset');
    assert.ok(body.token.length >= 22);
    assert.equal(body.token_hash, crypto.createHash('sha256').update(body.token).digest('hex'));
    // only the hash is stored, and the auth entries of the change log hold
    // neither (the outbox document the mailer wrote is the app's own)
    assert.ok(!sql('SELECT * FROM _basalt_one_time_tokens').includes(body.token));
    const log = sql(`SELECT * FROM _basalt_changes WHERE collection LIKE 'auth.%'`);
    assert.ok(!log.includes(body.token));
    assert.ok(!log.includes(body.token_hash));
    // unknown addresses answer the same (no enumeration) and publish nothing
    const before = rows(`SELECT count(*) AS n FROM _basalt_changes WHERE collection='auth.events'`)[0].n;
    assert.equal((await c.auth.resetPasswordForEmail(`nobody.${addr}`)).error, null);
    assert.equal(rows(`SELECT count(*) AS n FROM _basalt_changes WHERE collection='auth.events'`)[0].n, before);

    const v = await c.auth.verifyOtp({ email: addr, token: body.token, type: 'recovery' });
    assert.equal(v.error, null, JSON.stringify(v.error));
    assert.equal(v.data.user.email, addr);
    assert.equal(decode(v.data.session.access_token).payload.amr[0].method, 'recovery');
    // now the user sets a new password with that session
    assert.equal((await c.auth.updateUser({ password: 'recovered-pw' })).error, null);
    await signedIn(addr, 'recovered-pw');
    // single use
    const again = await anonClient().auth.verifyOtp({ email: addr, token: body.token, type: 'recovery' });
    assert.equal(again.error.code, 'otp_expired');
    assert.equal(again.error.status, 403);
  });
});

describe('errors', () => {
  test('weak password, overlong e-mail and password, malformed JSON, bad e-mail', async () => {
    const w = await anonClient().auth.signUp({ email: email(), password: 'short' });
    assert.equal(w.error.code, 'weak_password');
    assert.equal(w.error.status, 422);
    assert.deepEqual(w.error.reasons, ['length']);
    const long = await anonClient().auth.signUp({ email: `${'a'.repeat(250)}@b.com`, password: 'pw123456' });
    assert.equal(long.error.code, 'validation_failed');
    assert.equal(long.error.status, 400);
    const longPw = await anonClient().auth.signUp({ email: email(), password: 'p'.repeat(1025) });
    assert.equal(longPw.error.code, 'validation_failed');
    const badMail = await anonClient().auth.signUp({ email: 'not-an-email', password: 'pw123456' });
    assert.equal(badMail.error.code, 'validation_failed');
    const mj = await request(server, 'POST', '/auth/v1/signup', { key: 'anon', body: '{"email":', headers: { 'Content-Type': 'application/json' } });
    assert.equal(mj.status, 400);
    assert.equal(mj.body.code, 'bad_json');
    assert.equal(mj.headers.get('x-supabase-api-version'), '2024-01-01');
    const arr = await request(server, 'POST', '/auth/v1/token?grant_type=password', { key: 'anon', json: [1, 2] });
    assert.equal(arr.body.code, 'bad_json');
    const grant = await request(server, 'POST', '/auth/v1/token?grant_type=magic', { key: 'anon', json: {} });
    assert.equal(grant.body.code, 'validation_failed');
  });

  test('every endpoint but logout answers JSON with the API version header', async () => {
    for (const [m, p] of [['GET', '/auth/v1/settings'], ['GET', '/auth/v1/.well-known/jwks.json'], ['GET', '/auth/v1/user'], ['GET', '/auth/v1/nope']]) {
      const r = await request(server, m, p, { key: 'anon' });
      assert.equal(r.headers.get('x-supabase-api-version'), '2024-01-01', p);
      assert.ok(r.body && typeof r.body === 'object', `${p}: ${r.text}`);
    }
    const s = await request(server, 'GET', '/auth/v1/settings', { key: 'anon' });
    assert.equal(s.status, 200);
    assert.equal(s.body.external.email, true);
    assert.equal(s.body.external.anonymous_users, true);
    assert.equal(s.body.mailer_autoconfirm, true);
    const j = await request(server, 'GET', '/auth/v1/.well-known/jwks.json', { key: 'anon' });
    assert.deepEqual(j.body, { keys: [] });
    const nokey = await request(server, 'GET', '/auth/v1/settings', { key: null });
    assert.equal(nokey.status, 401);
    assert.equal(nokey.body.code, 'no_authorization');
  });

  test('apikey refusals (answered by the gate) keep GoTrue\'s words and the API version header', async () => {
    const secret = fs.readFileSync(path.join(server.dataDir, 'jwt_secret'), 'utf8').trim();
    const now = Math.floor(Date.now() / 1000);
    const expired = sign({ role: 'anon', iat: now - 7200, exp: now - 3600 }, secret);
    const cases = [
      [null, 'no_authorization', 'No API key found in request'],
      ['not-a-key', 'bad_jwt', 'Invalid API key'],
      [sign({ role: 'anon', exp: now + 3600 }, 'x'.repeat(64)), 'bad_jwt', 'Invalid API key'],
      [expired, 'bad_jwt', 'Invalid API key: JWT expired'],
    ];
    for (const [key, code, message] of cases) {
      for (const p of ['/auth/v1/settings', '/auth/v1/user', '/auth/v1/nope']) {
        const r = await request(server, 'GET', p, { key: null, headers: key ? { apikey: key } : {} });
        assert.equal(r.status, 401, `${p} key ${key}: ${r.text}`);
        assert.deepEqual(r.body, { code, error_code: code, message, msg: message }, p);
        assert.equal(r.headers.get('x-supabase-api-version'), '2024-01-01', p);
      }
    }
    // ?apikey= counts as the header does
    const q = await request(server, 'GET', `/auth/v1/settings?apikey=${server.anonKey}`, { key: null });
    assert.equal(q.status, 200, q.text);
    // a Bearer that does not verify is not refused where only the key counts
    const bad = await request(server, 'GET', '/auth/v1/settings', { key: null, headers: { apikey: server.anonKey, Authorization: 'Bearer abc.def.ghi' } });
    assert.equal(bad.status, 200, bad.text);
    // ... and is nobody: the service key beside it does not make the caller admin
    const adm = await request(server, 'GET', '/auth/v1/admin/users', { key: null, headers: { apikey: server.serviceKey, Authorization: 'Bearer abc.def.ghi' } });
    assert.equal(adm.status, 403, adm.text);
    assert.equal(adm.body.code, 'not_admin');
    assert.equal((await request(server, 'GET', '/auth/v1/admin/users', { key: null, headers: { apikey: server.serviceKey } })).status, 200);
  });

  test('forged, expired and missing tokens at GET /user', async () => {
    const secret = fs.readFileSync(path.join(server.dataDir, 'jwt_secret'), 'utf8').trim();
    const addr = email();
    await anonClient().auth.signUp({ email: addr, password: 'pw123456' });
    const { session } = await signedIn(addr);
    const claims = decode(session.access_token).payload;
    assert.equal((await getUserRaw(sign(claims, secret))).status, 200, 'a token we sign ourselves is accepted');
    const now = Math.floor(Date.now() / 1000);
    const cases = {
      none: `${b64u({ alg: 'none', typ: 'JWT' })}.${b64u(claims)}.`,
      noneSigned: sign(claims, secret, { alg: 'none', typ: 'JWT' }),
      wrongSecret: sign(claims, 'x'.repeat(64)),
      expired: sign({ ...claims, iat: now - 7200, exp: now - 3600 }, secret),
      garbage: 'abc.def.ghi',
      tampered: session.access_token.slice(0, -2) + (session.access_token.endsWith('AA') ? 'BB' : 'AA'),
    };
    for (const [name, tok] of Object.entries(cases)) {
      const r = await getUserRaw(tok);
      assert.ok([401, 403].includes(r.status), `${name}: ${r.status} ${r.text}`);
      assert.equal(r.body.code, 'bad_jwt', `${name}: ${r.text}`);
    }
    const missing = await request(server, 'GET', '/auth/v1/user', { key: 'anon', headers: { Authorization: '' } });
    assert.equal(missing.status, 401);
    assert.equal(missing.body.code, 'no_authorization');
    // the anon key as Bearer has no sub
    const anonAsUser = await request(server, 'GET', '/auth/v1/user', { key: 'anon' });
    assert.equal(anonAsUser.status, 403);
    assert.equal(anonAsUser.body.code, 'bad_jwt');
    // a validly signed token for a session that never existed
    const ghost = sign({ ...claims, session_id: crypto.randomUUID() }, secret);
    assert.equal((await getUserRaw(ghost)).body.code, 'session_not_found');
  });
});
