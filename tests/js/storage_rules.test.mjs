// Storage access rules with user JWTs minted from <dataDir>/jwt_secret,
// the /admin/v1/buckets/NAME/rules endpoint, the migration functions
// basalt_create_bucket / basalt_set_bucket_rules, and crash recovery
// (unfinished uploads and orphaned files are gone after a restart).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { startServer, clients, request, admin } from './lib/server.mjs';

const b64url = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

function mint(server, claims) {
  const secret = fs.readFileSync(path.join(server.dataDir, 'jwt_secret'), 'utf8').trim();
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ iat: now, exp: now + 3600, aud: 'authenticated', role: 'authenticated', ...claims })}`;
  return `${body}.${crypto.createHmac('sha256', secret).update(body).digest('base64url')}`;
}

function userClient(server, token) {
  return createClient(server.url, server.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: WebSocket },
    accessToken: async () => token,
  });
}

describe('rules', () => {
  let server, service, anon, A, B, idA, idB;

  before(async () => {
    server = await startServer();
    ({ service, anon } = clients(server));
    idA = crypto.randomUUID();
    idB = crypto.randomUUID();
    A = userClient(server, mint(server, { sub: idA, email: 'a@x.co' }));
    B = userClient(server, mint(server, { sub: idB, email: 'b@x.co' }));
    assert.equal((await service.storage.createBucket('priv', { public: false })).error, null);
    assert.equal((await service.storage.createBucket('shared', { public: false })).error, null);
  });

  after(async () => {
    await server?.stop({ expectExit0: true });
  });

  test('without rules only service_role may touch a private bucket', async () => {
    assert.equal((await A.storage.from('priv').upload(`${idA}/a.txt`, 'x')).error.status, 403);
    await service.storage.from('priv').upload('svc.txt', 'svc');
    assert.equal((await A.storage.from('priv').download('svc.txt')).error.status, 404);
    assert.deepEqual((await A.storage.from('priv').list()).data, []);
  });

  test('rules endpoint: set, read, patch; bad rules → 400 with the position', async () => {
    let r = await admin(server, 'POST', '/buckets/priv/rules', {
      select: 'auth.uid == object.owner',
      insert: 'object.path[0] == auth.uid',
      update: 'auth.uid == object.owner',
      delete: 'auth.uid == object.owner',
    });
    assert.equal(r.status, 200, r.text);
    r = await admin(server, 'GET', '/buckets/priv/rules');
    assert.equal(r.body.insert, 'object.path[0] == auth.uid');
    r = await admin(server, 'PATCH', '/buckets/shared/rules', { select: "auth.role == 'authenticated'", insert: 'auth.uid == object.owner' });
    assert.equal(r.status, 200, r.text);
    r = await admin(server, 'PATCH', '/buckets/shared/rules', { insert: null });
    assert.deepEqual(r.body, { select: "auth.role == 'authenticated'" });
    r = await admin(server, 'PATCH', '/buckets/shared/rules', { select: 'auth.uid == == 1' });
    assert.equal(r.status, 400, r.text);
    assert.match(r.body.message, /rule for select: .* at position \d+/);
    r = await admin(server, 'PATCH', '/buckets/shared/rules', { frobnicate: 'true' });
    assert.equal(r.status, 400);
    r = await admin(server, 'POST', '/buckets/nope/rules', { select: 'true' });
    assert.equal(r.status, 404);
    r = await request(server, 'GET', '/admin/v1/buckets/priv/rules', { key: 'anon' });
    assert.ok([401, 403].includes(r.status), r.text);
    r = await admin(server, 'GET', '/buckets/shared/rules');
    assert.deepEqual(r.body, { select: "auth.role == 'authenticated'" });
  });

  test('user A owns what A uploads; user B can neither read nor overwrite it', async () => {
    const pa = A.storage.from('priv');
    const pb = B.storage.from('priv');
    let r = await pa.upload(`${idA}/secret.txt`, 'A private');
    assert.equal(r.error, null);
    const info = await pa.info(`${idA}/secret.txt`);
    assert.equal(info.data.owner, idA);
    assert.equal(await (await pa.download(`${idA}/secret.txt`)).data.text(), 'A private');
    // B: cannot read, sign, list, overwrite, upload into A's folder, delete, move or copy
    assert.equal((await pb.download(`${idA}/secret.txt`)).error.status, 404);
    assert.equal((await pb.info(`${idA}/secret.txt`)).error.status, 404);
    assert.equal((await pb.exists(`${idA}/secret.txt`)).data, false);
    assert.equal((await pb.createSignedUrl(`${idA}/secret.txt`, 60)).error.status, 404);
    assert.deepEqual((await pb.list(idA)).data, []);
    assert.equal((await pb.upload(`${idA}/secret.txt`, 'B overwrites', { upsert: true })).error.status, 403);
    assert.equal((await pb.update(`${idA}/secret.txt`, new Blob(['B overwrites']))).error.status, 403);
    assert.equal((await pb.upload(`${idA}/planted.txt`, 'B plants')).error.status, 403);
    assert.deepEqual((await pb.remove([`${idA}/secret.txt`])).data, []);
    assert.equal((await pb.move(`${idA}/secret.txt`, `${idB}/stolen.txt`)).error.status, 404);
    assert.equal((await pb.copy(`${idA}/secret.txt`, `${idB}/stolen.txt`)).error.status, 404);
    assert.equal(await (await pa.download(`${idA}/secret.txt`)).data.text(), 'A private');
    // anon sees nothing either
    assert.equal((await anon.storage.from('priv').download(`${idA}/secret.txt`)).error.status, 404);
    // B works in B's own folder
    r = await pb.upload(`${idB}/mine.txt`, new Blob(['B private']));
    assert.equal(r.error, null);
    assert.deepEqual((await pb.list(idB)).data.map((o) => o.name), ['mine.txt']);
    assert.deepEqual((await pa.list()).data.map((o) => o.name), [idA]);
    assert.deepEqual((await pb.list()).data.map((o) => o.name), [idB]);
    // A may overwrite and delete A's own file
    assert.equal((await pa.upload(`${idA}/secret.txt`, 'A v2', { upsert: true })).error, null);
    assert.equal(await (await pa.download(`${idA}/secret.txt`)).data.text(), 'A v2');
    const signed = await pa.createSignedUrl(`${idA}/secret.txt`, 60);
    assert.equal(await (await fetch(signed.data.signedUrl)).text(), 'A v2');
    const del = await pa.remove([`${idA}/secret.txt`]);
    assert.deepEqual(del.data.map((o) => o.name), [`${idA}/secret.txt`]);
    // the signed upload URL needs the insert rule
    assert.equal((await pb.createSignedUploadUrl(`${idA}/x.txt`)).error.status, 403);
    const su = await pb.createSignedUploadUrl(`${idB}/via-url.txt`);
    assert.equal(su.error, null);
    assert.equal((await anon.storage.from('priv').uploadToSignedUrl(`${idB}/via-url.txt`, su.data.token, 'signed')).error, null);
    assert.equal((await pb.info(`${idB}/via-url.txt`)).data.owner, idB);
  });

  test('a rule on auth.role: any signed-in user reads, anon does not', async () => {
    await service.storage.from('shared').upload('doc.txt', 'shared doc');
    assert.equal(await (await A.storage.from('shared').download('doc.txt')).data.text(), 'shared doc');
    assert.equal(await (await B.storage.from('shared').download('doc.txt')).data.text(), 'shared doc');
    assert.equal((await anon.storage.from('shared').download('doc.txt')).error.status, 404);
    assert.equal((await A.storage.from('shared').upload('a.txt', 'x')).error.status, 403);
  });

  test('rules on size, content type and metadata', async () => {
    await service.storage.createBucket('typed');
    const r = await admin(server, 'POST', '/buckets/typed/rules', {
      insert: "object.size <= 10 && object.content_type == 'text/csv' && object.metadata.kind == 'report'",
      select: 'true',
    });
    assert.equal(r.status, 200, r.text);
    const t = A.storage.from('typed');
    assert.equal((await t.upload('ok.csv', 'a,b', { contentType: 'text/csv', metadata: { kind: 'report' } })).error, null);
    assert.equal((await t.upload('big.csv', 'a,b,c,d,e,f,g', { contentType: 'text/csv', metadata: { kind: 'report' } })).error.status, 403);
    assert.equal((await t.upload('t.txt', 'a', { contentType: 'text/plain', metadata: { kind: 'report' } })).error.status, 403);
    assert.equal((await t.upload('m.csv', 'a', { contentType: 'text/csv', metadata: { kind: 'other' } })).error.status, 403);
    // multipart: the size is known only at the end; still refused, and nothing is left behind
    assert.equal((await t.upload('big2.csv', new Blob(['0123456789abc'], { type: 'text/csv' }), { metadata: { kind: 'report' } })).error.status, 403);
    assert.deepEqual((await t.list()).data.map((o) => o.name), ['ok.csv']);
    assert.deepEqual(fs.readdirSync(path.join(server.dataDir, 'storage', 'tmp')), []);
  });

  test('paths are decoded exactly once: "50% off.txt" stays, "a%2520b.txt" is a%20b.txt', async () => {
    const f = service.storage.from('shared');
    let r = await f.upload('50% off.txt', 'fifty');
    assert.equal(r.error, null);
    assert.equal(r.data.fullPath, 'shared/50% off.txt');
    assert.equal(await (await f.download('50% off.txt')).data.text(), 'fifty');
    r = await f.upload('a%2520b.txt', 'encoded');
    assert.equal(r.error, null);
    assert.equal(r.data.fullPath, 'shared/a%20b.txt');
    assert.equal((await f.info('a%2520b.txt')).data.name, 'a%20b.txt');
  });
});

describe('migrations and restarts', () => {
  test('app migrations create buckets and set their rules', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-mig-'));
    fs.writeFileSync(path.join(dir, '0001_buckets.sql'),
      `SELECT basalt_create_bucket('migr', '{"public":false,"file_size_limit":"1KB"}');
       SELECT basalt_set_bucket_rules('migr', '{"select":"auth.role == ''authenticated''"}');`);
    const server = await startServer({ args: ['--migrations-dir', dir] });
    try {
      const { service, anon } = clients(server);
      const b = await service.storage.getBucket('migr');
      assert.equal(b.data.file_size_limit, 1000);
      assert.deepEqual((await admin(server, 'GET', '/buckets/migr/rules')).body, { select: "auth.role == 'authenticated'" });
      await service.storage.from('migr').upload('m.txt', 'migrated');
      const A = userClient(server, mint(server, { sub: crypto.randomUUID() }));
      assert.equal(await (await A.storage.from('migr').download('m.txt')).data.text(), 'migrated');
      assert.equal((await anon.storage.from('migr').download('m.txt')).error.status, 404);
    } finally {
      await server.stop({ expectExit0: true });
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // a bad rule stops the migration with a message naming it
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-mig-'));
    fs.writeFileSync(path.join(bad, '0001_bad.sql'), `SELECT basalt_create_bucket('b2'); SELECT basalt_set_bucket_rules('b2', '{"select":"auth.uid =="}');`);
    await assert.rejects(startServer({ args: ['--migrations-dir', bad], timeoutMs: 5000 }), /basalt_set_bucket_rules: rule for select/);
    fs.rmSync(bad, { recursive: true, force: true });
  });

  test('a crash mid-upload leaves no object and no orphan after restart', async () => {
    const server = await startServer();
    const { service } = clients(server);
    await service.storage.createBucket('crash');
    await service.storage.from('crash').upload('kept.txt', 'kept');
    // an upload that never finishes: 10 MB announced, 1 MB sent
    const sock = net.connect(server.port, '127.0.0.1');
    await new Promise((r) => sock.on('connect', r));
    sock.write(`POST /storage/v1/object/crash/partial.bin HTTP/1.1\r\nHost: x\r\napikey: ${server.serviceKey}\r\n` +
      `Content-Type: application/octet-stream\r\nContent-Length: 10000000\r\n\r\n`);
    sock.write(Buffer.alloc(1000000, 7));
    sock.on('error', () => {});
    const tmp = path.join(server.dataDir, 'storage', 'tmp');
    for (let i = 0; i < 100 && fs.readdirSync(tmp).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(fs.readdirSync(tmp).length, 1, 'the upload is in progress in tmp/');
    // and an orphan: a blob file that no row names (as after a crash between rename and commit)
    const orphanDir = path.join(server.dataDir, 'storage', 'ab', 'cd');
    fs.mkdirSync(orphanDir, { recursive: true });
    fs.writeFileSync(path.join(orphanDir, 'abcd0000-0000-4000-8000-000000000000'), 'orphan');
    server.proc.kill('SIGKILL');
    await server.exited;
    sock.destroy();
    const again = await startServer({ dataDir: server.dataDir, removeDataDir: true });
    try {
      assert.deepEqual(fs.readdirSync(tmp), []);
      assert.ok(!fs.existsSync(path.join(orphanDir, 'abcd0000-0000-4000-8000-000000000000')));
      const s2 = clients(again).service.storage.from('crash');
      assert.equal(await (await s2.download('kept.txt')).data.text(), 'kept');
      assert.equal((await s2.info('partial.bin')).error.status, 404);
      assert.match(again.logs(), /removed 1 unfinished upload\(s\) and 1 orphaned object file\(s\)/);
    } finally {
      await again.stop({ expectExit0: true });
    }
  });
});
