// Asymmetric access tokens (--jwt-signing-key) through the unmodified
// supabase-js client: RS256 and ES256 keys made with node:crypto, the JWKS at
// /auth/v1/.well-known/jwks.json, node:crypto verification against the JWK,
// auth.getClaims() verifying locally from the JWKS, getUser, /rest/v1 with
// the user token, API keys staying HS256, and forged / confused tokens
// refused (401 on /rest/v1, GoTrue's 403 bad_jwt on /auth/v1/user).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { startServer, request, admin, signJwt, projectSecret, tokenClient } from './lib/server.mjs';

function decode(jwt) {
  const [h, p] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), payload: JSON.parse(Buffer.from(p, 'base64url')) };
}

/** Sign header.payload with a node:crypto private key (JOSE signature form). */
function signAsym(header, payload, privateKey) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const data = `${b64(header)}.${b64(payload)}`;
  const sig = crypto.sign('sha256', Buffer.from(data), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${data}.${sig.toString('base64url')}`;
}

function verifyWithJwk(token, jwk) {
  const [h, p, s] = token.split('.');
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  return crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
}

/** RFC 7638 thumbprint of a public JWK. */
function thumbprint(jwk) {
  const canon = jwk.kty === 'RSA'
    ? JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n })
    : JSON.stringify({ crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y });
  return crypto.createHash('sha256').update(canon).digest('base64url');
}

const CASES = [
  { alg: 'RS256', kty: 'RSA', gen: () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }) },
  { alg: 'ES256', kty: 'EC', gen: () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }) },
];

for (const { alg, kty, gen } of CASES) {
  describe(`--jwt-signing-key with an ${alg} key`, () => {
    let server;
    let keyDir;
    const { privateKey, publicKey } = gen();
    const other = gen();
    const requested = [];
    const recordingFetch = (url, init) => { requested.push(String(url)); return fetch(url, init); };
    const opts = () => ({
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      realtime: { transport: WebSocket },
      global: { fetch: recordingFetch },
    });
    let session;
    let jwk;

    before(async () => {
      keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-jwks-'));
      const pemPath = path.join(keyDir, 'signing.pem');
      fs.writeFileSync(pemPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      server = await startServer({ args: ['--jwt-signing-key', pemPath] });
      const r = await admin(server, 'POST', '/collections', {
        name: 'notes', indexes: [],
        rules: { select: 'auth.uid == doc.owner_id', insert: 'auth.uid == new.owner_id' },
      });
      assert.equal(r.status, 201, r.text);
    });
    after(async () => {
      await server?.stop({ expectExit0: true });
      if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
    });

    test('the JWKS publishes exactly the public key, kid = RFC 7638 thumbprint', async () => {
      const r = await request(server, 'GET', '/auth/v1/.well-known/jwks.json', { key: 'anon' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.keys.length, 1);
      jwk = r.body.keys[0];
      const pub = publicKey.export({ format: 'jwk' });
      if (kty === 'RSA') {
        assert.deepEqual(Object.keys(jwk).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
        assert.equal(jwk.n, pub.n);
        assert.equal(jwk.e, 'AQAB');
      } else {
        assert.deepEqual(Object.keys(jwk).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
        assert.equal(jwk.crv, 'P-256');
        assert.equal(jwk.x, pub.x);
        assert.equal(jwk.y, pub.y);
      }
      assert.equal(jwk.kty, kty);
      assert.equal(jwk.alg, alg);
      assert.equal(jwk.use, 'sig');
      assert.equal(jwk.kid, thumbprint(pub));
      assert.ok(!('d' in jwk), 'no private part');
    });

    test('API keys stay HS256 without kid', () => {
      for (const k of [server.anonKey, server.serviceKey]) {
        const { header } = decode(k);
        assert.equal(header.alg, 'HS256');
        assert.ok(!('kid' in header));
      }
    });

    test('signUp issues an access token signed with the key, verifiable against the JWK', async () => {
      const c = createClient(server.url, server.anonKey, opts());
      const email = `jwks-${alg.toLowerCase()}-${Date.now()}@example.com`;
      const { data, error } = await c.auth.signUp({ email, password: 'pw123456' });
      assert.equal(error, null, JSON.stringify(error));
      session = data.session;
      const { header, payload } = decode(session.access_token);
      assert.deepEqual(header, { alg, kid: jwk.kid, typ: 'JWT' });
      assert.equal(payload.role, 'authenticated');
      assert.equal(payload.email, email);
      assert.equal(payload.sub, data.user.id);
      assert.equal(verifyWithJwk(session.access_token, jwk), true);
      assert.equal(verifyWithJwk(session.access_token.slice(0, -4) + 'AAAA', jwk), false);

      // getClaims verifies locally with the JWKS (no /user round trip)
      requested.length = 0;
      await c.auth.setSession({ access_token: session.access_token, refresh_token: session.refresh_token });
      requested.length = 0;
      const cl = await c.auth.getClaims();
      assert.equal(cl.error, null, JSON.stringify(cl.error));
      assert.equal(cl.data.claims.sub, data.user.id);
      assert.equal(cl.data.claims.email, email);
      assert.equal(cl.data.header.alg, alg);
      assert.equal(cl.data.header.kid, jwk.kid);
      assert.ok(requested.some((u) => u.endsWith('/auth/v1/.well-known/jwks.json')), `jwks fetched: ${requested}`);
      assert.ok(!requested.some((u) => u.endsWith('/auth/v1/user')), `no /user call: ${requested}`);

      const u = await c.auth.getUser();
      assert.equal(u.error, null, JSON.stringify(u.error));
      assert.equal(u.data.user.id, data.user.id);

      // refreshed tokens are signed with the key too
      const ref = await c.auth.refreshSession();
      assert.equal(ref.error, null, JSON.stringify(ref.error));
      assert.equal(decode(ref.data.session.access_token).header.kid, jwk.kid);
      assert.equal(verifyWithJwk(ref.data.session.access_token, jwk), true);
      session = ref.data.session;
    });

    test('/rest/v1 accepts the user token (rules see auth.uid)', async () => {
      const uid = decode(session.access_token).payload.sub;
      const db = tokenClient(server, session.access_token);
      const ins = await db.from('notes').insert({ id: 'n1', owner_id: uid, text: 'mine' }).select();
      assert.equal(ins.error, null, JSON.stringify(ins.error));
      assert.equal(ins.status, 201);
      const sel = await db.from('notes').select('id,text');
      assert.equal(sel.error, null, JSON.stringify(sel.error));
      assert.deepEqual(sel.data, [{ id: 'n1', text: 'mine' }]);
    });

    test('HS256 tokens without kid (the secret) still work', async () => {
      const { payload } = decode(session.access_token);
      const t = signJwt(payload, projectSecret(server));
      const sel = await tokenClient(server, t).from('notes').select('id');
      assert.equal(sel.error, null, JSON.stringify(sel.error));
      assert.deepEqual(sel.data, [{ id: 'n1' }]);
    });

    test('forged and confused tokens are refused (401 /rest/v1, 403 bad_jwt /auth/v1/user)', async () => {
      const { payload } = decode(session.access_token);
      const pem = publicKey.export({ type: 'spki', format: 'pem' });
      const otherAlg = alg === 'RS256' ? 'ES256' : 'RS256';
      const otherType = alg === 'RS256' ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }) : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      const forged = {
        'HS256 with the secret but our kid': signJwt(payload, projectSecret(server), { alg: 'HS256', kid: jwk.kid, typ: 'JWT' }),
        'HS256 keyed with the public key PEM, our kid': signJwt(payload, pem, { alg: 'HS256', kid: jwk.kid, typ: 'JWT' }),
        'HS256 keyed with the public key PEM, no kid': signJwt(payload, pem),
        [`${alg} without kid`]: signAsym({ alg, typ: 'JWT' }, payload, privateKey),
        [`${alg} with another kid`]: signAsym({ alg, kid: 'nope', typ: 'JWT' }, payload, privateKey),
        [`${alg} by another key with our kid`]: signAsym({ alg, kid: jwk.kid, typ: 'JWT' }, payload, other.privateKey),
        [`${otherAlg} with our kid`]: signAsym({ alg: otherAlg, kid: jwk.kid, typ: 'JWT' }, payload, otherType.privateKey),
        'alg none with our kid': signJwt(payload, null, { alg: 'none', kid: jwk.kid, typ: 'JWT' }),
      };
      for (const [what, tok] of Object.entries(forged)) {
        const rest = await request(server, 'GET', '/rest/v1/notes?select=id', { key: 'anon', headers: { Authorization: `Bearer ${tok}` } });
        assert.equal(rest.status, 401, `${what} on /rest/v1: ${rest.status} ${rest.text}`);
        const user = await request(server, 'GET', '/auth/v1/user', { key: 'anon', headers: { Authorization: `Bearer ${tok}` } });
        // GoTrue answers a bad user JWT on /user with 403 bad_jwt
        assert.equal(user.status, 403, `${what} on /auth/v1/user: ${user.status} ${user.text}`);
        assert.equal(user.body.code, 'bad_jwt', `${what} on /auth/v1/user: ${user.text}`);
      }
      // the control: the same payload signed properly is accepted
      const good = signAsym({ alg, kid: jwk.kid, typ: 'JWT' }, payload, privateKey);
      const ok = await request(server, 'GET', '/rest/v1/notes?select=id', { key: 'anon', headers: { Authorization: `Bearer ${good}` } });
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.body, [{ id: 'n1' }]);
    });
  });
}

test('a bad --jwt-signing-key stops start-up with a message', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-jwks-bad-'));
  try {
    const small = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    const p = path.join(dir, 'small.pem');
    fs.writeFileSync(p, small.export({ type: 'pkcs8', format: 'pem' }));
    await assert.rejects(startServer({ args: ['--jwt-signing-key', p], timeoutMs: 5000 }), /jwt-signing-key/);
    await assert.rejects(startServer({ args: ['--jwt-signing-key', path.join(dir, 'missing.pem')], timeoutMs: 5000 }), /jwt-signing-key/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
