// GoTrue admin API through supabase-js: createUser, listUsers pagination
// (X-Total-Count + Link), getUserById, updateUserById (metadata, ban),
// deleteUser, not_admin for the anon key, bcrypt password_hash import.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { startServer, request } from './lib/server.mjs';

let server;
before(async () => { server = await startServer({ args: ['--rate-signin', '1000'] }); });
after(async () => { await server?.stop({ expectExit0: true }); });

const OPTS = { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false }, realtime: { transport: WebSocket } };
const anonClient = () => createClient(server.url, server.anonKey, OPTS);
const serviceClient = () => createClient(server.url, server.serviceKey, OPTS);
const rows = (q) => {
  const t = execFileSync('sqlite3', ['-json', path.join(server.dataDir, 'basalt.db'), q], { encoding: 'utf8' }).trim();
  return t ? JSON.parse(t) : [];
};

describe('admin users', () => {
  test('createUser, getUserById, updateUserById, deleteUser and the change log', async () => {
    const admin = serviceClient().auth.admin;
    const c = await admin.createUser({ email: 'Admin.Made@example.com', password: 'pw123456', email_confirm: true, user_metadata: { a: 1 }, app_metadata: { plan: 'pro' } });
    assert.equal(c.error, null, JSON.stringify(c.error));
    const u = c.data.user;
    assert.equal(u.email, 'admin.made@example.com');
    assert.deepEqual(u.user_metadata, { a: 1 });
    assert.deepEqual(u.app_metadata, { provider: 'email', providers: ['email'], plan: 'pro' });
    assert.ok(u.email_confirmed_at);
    const g = await admin.getUserById(u.id);
    assert.equal(g.data.user.id, u.id);
    const up = await admin.updateUserById(u.id, { user_metadata: { b: 2 }, app_metadata: { plan: null, tier: 3 }, role: 'editor' });
    assert.equal(up.error, null, JSON.stringify(up.error));
    assert.deepEqual(up.data.user.user_metadata, { a: 1, b: 2 });
    assert.deepEqual(up.data.user.app_metadata, { provider: 'email', providers: ['email'], tier: 3 });
    assert.equal(up.data.user.role, 'editor');
    const s = await anonClient().auth.signInWithPassword({ email: 'admin.made@example.com', password: 'pw123456' });
    assert.equal(s.error, null);
    const claims = JSON.parse(Buffer.from(s.data.session.access_token.split('.')[1], 'base64url'));
    assert.equal(claims.role, 'editor');
    const d = await admin.deleteUser(u.id);
    assert.equal(d.error, null, JSON.stringify(d.error));
    const gone = await admin.getUserById(u.id);
    assert.equal(gone.error.status, 404);
    assert.equal(gone.error.code, 'user_not_found');
    // the deleted user's access token no longer works
    const me = await request(server, 'GET', '/auth/v1/user', { key: 'anon', headers: { Authorization: `Bearer ${s.data.session.access_token}` } });
    assert.equal(me.status, 403);
    assert.equal(me.body.code, 'session_not_found');
    const log = rows(`SELECT op FROM _basalt_changes WHERE collection='auth.users' AND doc_id='${u.id}' ORDER BY seq`).map((r) => r.op);
    assert.deepEqual(log, ['INSERT', 'UPDATE', 'DELETE']);
  });

  test('createUser errors: duplicate e-mail, weak password, bad hash, bad id', async () => {
    const admin = serviceClient().auth.admin;
    assert.equal((await admin.createUser({ email: 'dup@example.com', password: 'pw123456' })).error, null);
    const dup = await admin.createUser({ email: 'DUP@example.com', password: 'pw123456' });
    assert.equal(dup.error.code, 'email_exists');
    assert.equal(dup.error.status, 422);
    assert.equal((await admin.createUser({ email: 'w@example.com', password: 'pw' })).error.code, 'weak_password');
    assert.equal((await admin.createUser({ email: 'h@example.com', password_hash: 'md5:abc' })).error.code, 'validation_failed');
    assert.equal((await admin.createUser({ email: 'i@example.com', id: 'not-a-uuid' })).error.code, 'validation_failed');
    const unconfirmed = await anonClient().auth.signInWithPassword({ email: 'dup@example.com', password: 'pw123456' });
    assert.equal(unconfirmed.error.code, 'email_not_confirmed');
  });

  test('ids that are not UUIDs', async () => {
    for (const id of ['nope', '00000000-0000-0000-0000-00000000000g', '../users']) {
      const r = await request(server, 'GET', `/auth/v1/admin/users/${encodeURIComponent(id)}`);
      assert.ok([400, 404].includes(r.status), `${id}: ${r.status}`);
      assert.ok(['user_not_found', 'validation_failed'].includes(r.body.code), r.text);
    }
    const missing = await request(server, 'GET', '/auth/v1/admin/users/00000000-0000-4000-8000-000000000000');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'user_not_found');
  });

  test('listUsers pagination: X-Total-Count, Link, nextPage/lastPage/total', async () => {
    const admin = serviceClient().auth.admin;
    const before = await request(server, 'GET', '/auth/v1/admin/users?page=&per_page=');
    assert.equal(before.status, 200);
    const n0 = Number(before.headers.get('x-total-count'));
    for (let i = 0; i < 5 - (n0 % 5); i++) await admin.createUser({ email: `page${i}@example.com`, password: 'pw123456' });
    const total = Number((await request(server, 'GET', '/auth/v1/admin/users')).headers.get('x-total-count'));
    assert.equal(total % 5, 0);
    const last = total / 5;
    assert.ok(last >= 1 && last <= 9, 'the client reads one digit of the page number');
    const p1 = await admin.listUsers({ page: 1, perPage: 5 });
    assert.equal(p1.error, null);
    assert.equal(p1.data.users.length, 5);
    assert.equal(p1.data.aud, 'authenticated');
    assert.equal(p1.data.total, total);
    assert.equal(p1.data.lastPage, last);
    assert.equal(p1.data.nextPage, last > 1 ? 2 : null);
    const raw = await request(server, 'GET', '/auth/v1/admin/users?page=1&per_page=5');
    const link = last > 1
      ? `</admin/users?page=2&per_page=5>; rel="next", </admin/users?page=${last}&per_page=5>; rel="last"`
      : `</admin/users?page=1&per_page=5>; rel="last"`;
    assert.equal(raw.headers.get('link'), link);
    const pl = await admin.listUsers({ page: last, perPage: 5 });
    assert.equal(pl.data.nextPage, null);
    assert.equal(pl.data.users.length, 5);
    const ids = new Set([...p1.data.users, ...pl.data.users].map((u) => u.id));
    assert.equal(ids.size, last > 1 ? 10 : 5);
    const all = await admin.listUsers();
    assert.equal(all.data.users.length, total);
    const bad = await request(server, 'GET', '/auth/v1/admin/users?page=x');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'validation_failed');
  });

  test('ban_duration blocks sign-in and refresh; "none" lifts it', async () => {
    const admin = serviceClient().auth.admin;
    const { data } = await admin.createUser({ email: 'ban@example.com', password: 'pw123456', email_confirm: true });
    const s = await anonClient().auth.signInWithPassword({ email: 'ban@example.com', password: 'pw123456' });
    assert.equal(s.error, null);
    const b = await admin.updateUserById(data.user.id, { ban_duration: '100y' });
    assert.equal(b.error, null, JSON.stringify(b.error));
    const until = Date.parse(b.data.user.banned_until);
    assert.ok(until > Date.now() + 99 * 365 * 86400e3, b.data.user.banned_until);
    const no = await anonClient().auth.signInWithPassword({ email: 'ban@example.com', password: 'pw123456' });
    assert.equal(no.error.code, 'user_banned');
    assert.equal(no.error.status, 400);
    const rr = await request(server, 'POST', '/auth/v1/token?grant_type=refresh_token', { key: 'anon', json: { refresh_token: s.data.session.refresh_token } });
    assert.equal(rr.status, 400);
    assert.ok(['user_banned', 'refresh_token_not_found'].includes(rr.body.code), rr.text);
    assert.equal((await admin.updateUserById(data.user.id, { ban_duration: '24h' })).error, null);
    assert.equal((await admin.updateUserById(data.user.id, { ban_duration: 'forever' })).error.code, 'validation_failed');
    const lifted = await admin.updateUserById(data.user.id, { ban_duration: 'none' });
    assert.equal(lifted.data.user.banned_until, undefined);
    assert.equal((await anonClient().auth.signInWithPassword({ email: 'ban@example.com', password: 'pw123456' })).error, null);
  });

  test('DELETE /admin/users/{id}/sessions signs the user out everywhere (Basalt extension)', async () => {
    const admin = serviceClient().auth.admin;
    const { data } = await admin.createUser({ email: 'revoke@example.com', password: 'pw123456', email_confirm: true });
    const s1 = await anonClient().auth.signInWithPassword({ email: 'revoke@example.com', password: 'pw123456' });
    const s2 = await anonClient().auth.signInWithPassword({ email: 'revoke@example.com', password: 'pw123456' });
    assert.equal(s1.error, null);
    assert.equal(s2.error, null);
    const path = `/auth/v1/admin/users/${data.user.id}/sessions`;
    assert.equal((await request(server, 'DELETE', path, { key: 'anon' })).status, 403);
    const r = await request(server, 'DELETE', path, { key: 'service' });
    assert.equal(r.status, 200, r.text);
    for (const s of [s1, s2]) {
      const rr = await request(server, 'POST', '/auth/v1/token?grant_type=refresh_token', { key: 'anon', json: { refresh_token: s.data.session.refresh_token } });
      assert.equal(rr.status, 400, rr.text);
      const u = await request(server, 'GET', '/auth/v1/user', { key: 'anon', headers: { Authorization: `Bearer ${s.data.session.access_token}` } });
      assert.equal(u.status, 403, u.text);
      assert.equal(u.body.code, 'session_not_found');
    }
    // the account itself still works
    assert.equal((await anonClient().auth.signInWithPassword({ email: 'revoke@example.com', password: 'pw123456' })).error, null);
    assert.equal((await request(server, 'DELETE', '/auth/v1/admin/users/00000000-0000-4000-8000-000000000000/sessions', { key: 'service' })).status, 404);
  });

  test('the anon key (or a user token) is not admin', async () => {
    const r = await anonClient().auth.admin.listUsers();
    assert.equal(r.error.code, 'not_admin');
    assert.equal(r.error.status, 403);
    const c = await anonClient().auth.admin.createUser({ email: 'x@example.com', password: 'pw123456' });
    assert.equal(c.error.code, 'not_admin');
  });

  test('bcrypt password_hash import: sign-in works and upgrades the hash to scrypt', async () => {
    const admin = serviceClient().auth.admin;
    const hash = '$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm'; // pyca/bcrypt vector: Kk4DQuMMfZL9o
    const c = await admin.createUser({ email: 'bcrypt@example.com', password_hash: hash, email_confirm: true });
    assert.equal(c.error, null, JSON.stringify(c.error));
    assert.equal(rows(`SELECT password_hash FROM _basalt_users WHERE id='${c.data.user.id}'`)[0].password_hash, hash);
    const bad = await anonClient().auth.signInWithPassword({ email: 'bcrypt@example.com', password: 'Kk4DQuMMfZL9O' });
    assert.equal(bad.error.code, 'invalid_credentials');
    const s = await anonClient().auth.signInWithPassword({ email: 'bcrypt@example.com', password: 'Kk4DQuMMfZL9o' });
    assert.equal(s.error, null, JSON.stringify(s.error));
    const now = rows(`SELECT password_hash FROM _basalt_users WHERE id='${c.data.user.id}'`)[0].password_hash;
    assert.match(now, /^\$scrypt\$ln=\d+,r=\d+,p=\d+\$/);
    assert.equal((await anonClient().auth.signInWithPassword({ email: 'bcrypt@example.com', password: 'Kk4DQuMMfZL9o' })).error, null);
    // a $2a$ vector as well (jBCrypt)
    const a = await admin.createUser({ email: 'bcrypt2a@example.com', password_hash: '$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i', email_confirm: true });
    assert.equal(a.error, null);
    // 'abc' is shorter than the minimum for new passwords, but an imported hash still verifies
    assert.equal((await anonClient().auth.signInWithPassword({ email: 'bcrypt2a@example.com', password: 'abc' })).error, null);
  });
});
