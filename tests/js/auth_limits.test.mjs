// Auth limits that need their own server flags: refresh-token reuse after
// the interval revokes the session, per-IP sign-in rate limit with
// Retry-After, anonymous sign-ins turned off.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { startServer, request, sleep } from './lib/server.mjs';

const OPTS = { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false }, realtime: { transport: WebSocket } };

test('a rotated refresh token reused after the interval revokes the whole session', async () => {
  const server = await startServer({ args: ['--refresh-token-reuse-interval', '1'] });
  try {
    const c = createClient(server.url, server.anonKey, OPTS);
    const { data, error } = await c.auth.signUp({ email: 'reuse@example.com', password: 'pw123456' });
    assert.equal(error, null);
    const t1 = data.session.refresh_token;
    const r1 = await c.auth.refreshSession();
    assert.equal(r1.error, null);
    const t2 = r1.data.session.refresh_token;
    // within the interval: tolerated
    const ok = await request(server, 'POST', '/auth/v1/token?grant_type=refresh_token', { key: 'anon', json: { refresh_token: t1 } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.refresh_token, t2);
    await sleep(2100);
    const reused = await request(server, 'POST', '/auth/v1/token?grant_type=refresh_token', { key: 'anon', json: { refresh_token: t1 } });
    assert.equal(reused.status, 400);
    assert.equal(reused.body.code, 'refresh_token_already_used');
    // the session is gone: its current token and access tokens stop working
    const child = await request(server, 'POST', '/auth/v1/token?grant_type=refresh_token', { key: 'anon', json: { refresh_token: t2 } });
    assert.equal(child.body.code, 'refresh_token_not_found');
    const me = await request(server, 'GET', '/auth/v1/user', { key: 'anon', headers: { Authorization: `Bearer ${r1.data.session.access_token}` } });
    assert.equal(me.status, 403);
    assert.equal(me.body.code, 'session_not_found');
  } finally {
    await server.stop({ expectExit0: true });
  }
});

test('--rate-signin 3: the 4th attempt from one IP is 429 with Retry-After; service key is exempt', async () => {
  const server = await startServer({ args: ['--rate-signin', '3', '--anonymous-signins', 'off'] });
  try {
    const c = createClient(server.url, server.anonKey, OPTS);
    for (let i = 0; i < 3; i++) {
      const r = await c.auth.signInWithPassword({ email: 'nobody@example.com', password: 'pw123456' });
      assert.equal(r.error.code, 'invalid_credentials', `attempt ${i + 1}`);
    }
    const r4 = await request(server, 'POST', '/auth/v1/token?grant_type=password', { key: 'anon', json: { email: 'nobody@example.com', password: 'pw123456' } });
    assert.equal(r4.status, 429);
    assert.equal(r4.body.code, 'over_request_rate_limit');
    assert.equal(r4.headers.get('x-supabase-api-version'), '2024-01-01');
    const retry = Number(r4.headers.get('retry-after'));
    assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 100, `Retry-After ${r4.headers.get('retry-after')}`);
    // sign-up shares the bucket
    const su = await c.auth.signUp({ email: 'late@example.com', password: 'pw123456' });
    assert.equal(su.error.code, 'over_request_rate_limit');
    assert.equal(su.error.status, 429);
    // server-side callers with the service key are not throttled
    const svc = await request(server, 'POST', '/auth/v1/token?grant_type=password', { json: { email: 'nobody@example.com', password: 'pw123456' } });
    assert.equal(svc.body.code, 'invalid_credentials');
    // anonymous sign-ins off (checked with the service key so the limit does not interfere)
    const an = await request(server, 'POST', '/auth/v1/signup', { json: { data: {}, gotrue_meta_security: {} } });
    assert.equal(an.status, 422);
    assert.equal(an.body.code, 'anonymous_provider_disabled');
    const st = await request(server, 'GET', '/auth/v1/settings', { key: 'anon' });
    assert.equal(st.body.external.anonymous_users, false);
  } finally {
    await server.stop({ expectExit0: true });
  }
});
