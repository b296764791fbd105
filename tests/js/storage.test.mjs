// Storage (/storage/v1) with the unmodified supabase-js storage client:
// buckets, uploads (Blob → multipart, Buffer/string → raw), downloads with
// their headers, Range, 304, info, list, remove, move, copy, signed URLs,
// public access, path tricks, size and MIME limits, error shapes, and the
// change log.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startServer, clients, request } from './lib/server.mjs';

let server, anon, service;

before(async () => {
  server = await startServer({ args: ['--storage-max-file', String(4 * 1024 * 1024)] });
  ({ anon, service } = clients(server));
});

after(async () => {
  await server?.stop({ expectExit0: true });
});

// ETag: the first 128 bits of the SHA-256 of the bytes, quoted
const md5 = (b) => `"${crypto.createHash('sha256').update(b).digest('hex').slice(0, 32)}"`;
const S = (p) => `/storage/v1${p}`;

/** Assert a storage-api error body: statusCode is a string equal to the HTTP status. */
function assertStorageError(res, status, error, what = '') {
  const label = `${what} → ${res.status} ${res.text}`;
  assert.equal(res.status, status, label);
  assert.equal(res.body?.statusCode, String(status), label);
  assert.equal(typeof res.body.message, 'string', label);
  if (error) assert.equal(res.body.error, error, label);
}

/** Every file under dir (recursively), relative names. */
function filesUnder(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p).map((x) => path.join(e.name, x)));
    else out.push(e.name);
  }
  return out;
}

function sql(q) {
  return execFileSync('sqlite3', ['-json', path.join(server.dataDir, 'basalt.db'), q], { encoding: 'utf8' });
}

describe('buckets', () => {
  test('create, get, list, update, delete', async () => {
    let { data, error } = await service.storage.createBucket('docs', { public: false, fileSizeLimit: '1MB', allowedMimeTypes: ['text/*', 'application/json'] });
    assert.equal(error, null);
    assert.deepEqual(data, { name: 'docs' });
    ({ data, error } = await service.storage.getBucket('docs'));
    assert.equal(error, null);
    assert.equal(data.id, 'docs');
    assert.equal(data.name, 'docs');
    assert.equal(data.public, false);
    assert.equal(data.file_size_limit, 1000000);
    assert.deepEqual(data.allowed_mime_types, ['text/*', 'application/json']);
    assert.equal(data.type, 'STANDARD');
    assert.match(data.created_at, /^\d{4}-\d\d-\d\dT/);
    ({ data, error } = await service.storage.updateBucket('docs', { public: true, fileSizeLimit: 2048, allowedMimeTypes: null }));
    assert.equal(error, null);
    assert.deepEqual(data, { message: 'Successfully updated' });
    ({ data } = await service.storage.getBucket('docs'));
    assert.equal(data.public, true);
    assert.equal(data.file_size_limit, 2048);
    assert.equal(data.allowed_mime_types, null);
    ({ data, error } = await service.storage.listBuckets());
    assert.equal(error, null);
    assert.ok(data.some((b) => b.id === 'docs'));
    ({ data, error } = await service.storage.deleteBucket('docs'));
    assert.equal(error, null);
    assert.deepEqual(data, { message: 'Successfully deleted' });
    ({ error } = await service.storage.getBucket('docs'));
    assert.equal(error.status, 404);
    assert.equal(error.message, 'Bucket not found');
  });

  test('sizes as strings: 1.5GB and 10MB', async () => {
    const { error } = await service.storage.createBucket('sized', { fileSizeLimit: '1.5GB' });
    assert.equal(error, null);
    const { data } = await service.storage.getBucket('sized');
    assert.equal(data.file_size_limit, 1500000000);
    await service.storage.updateBucket('sized', { fileSizeLimit: '10MB' });
    assert.equal((await service.storage.getBucket('sized')).data.file_size_limit, 10000000);
    const bad = await request(server, 'POST', S('/bucket'), { json: { id: 'sized2', file_size_limit: '10 parsecs' } });
    assertStorageError(bad, 400, undefined, 'bad size');
  });

  test('duplicate → 409, bad names → 400, anon may not create', async () => {
    await service.storage.createBucket('dup');
    const { error } = await service.storage.createBucket('dup');
    assert.equal(error.status, 409);
    assert.equal(error.message, 'The resource already exists');
    for (const id of ['a/b', '', '..', 'public', 'x y', 'a'.repeat(101)]) {
      const r = await request(server, 'POST', S('/bucket'), { json: { id, name: id } });
      assertStorageError(r, 400, undefined, `bucket name ${JSON.stringify(id)}`);
    }
    const r = await anon.storage.createBucket('anons');
    assert.equal(r.error.status, 403);
  });

  test('delete refused while not empty; empty, then delete', async () => {
    await service.storage.createBucket('full');
    await service.storage.from('full').upload('a.txt', 'x');
    await service.storage.from('full').upload('d/b.txt', 'y');
    let { error } = await service.storage.deleteBucket('full');
    assert.equal(error.status, 409);
    assert.equal(error.message, 'The bucket you tried to delete is not empty');
    const e = await service.storage.emptyBucket('full');
    assert.equal(e.error, null);
    assert.deepEqual(e.data, { message: 'Successfully emptied' });
    ({ error } = await service.storage.deleteBucket('full'));
    assert.equal(error, null);
  });

  test('anon lists only public buckets', async () => {
    await service.storage.createBucket('pubvis', { public: true });
    await service.storage.createBucket('privvis', { public: false });
    const { data } = await anon.storage.listBuckets();
    assert.ok(data.some((b) => b.id === 'pubvis'));
    assert.ok(!data.some((b) => b.id === 'privvis'));
    assert.equal((await anon.storage.getBucket('privvis')).error.status, 404);
  });
});

describe('objects', () => {
  before(async () => {
    await service.storage.createBucket('files', { public: false });
    await service.storage.createBucket('pub', { public: true });
  });

  test('raw upload (Buffer) → {Id, Key}; download bytes and headers', async () => {
    const bytes = crypto.randomBytes(5000);
    const { data, error } = await service.storage.from('files').upload('dir/a b.bin', bytes, { contentType: 'application/x-test', cacheControl: '120', metadata: { k: 'v' } });
    assert.equal(error, null);
    assert.equal(data.path, 'dir/a b.bin');
    assert.equal(data.fullPath, 'files/dir/a b.bin');
    assert.match(data.id, /^[0-9a-f-]{36}$/);
    const dl = await service.storage.from('files').download('dir/a b.bin');
    assert.equal(dl.error, null);
    assert.deepEqual(Buffer.from(await dl.data.arrayBuffer()), bytes);
    assert.equal(dl.data.type, 'application/x-test');
    const r = await fetch(server.url + S('/object/files/dir/a%20b.bin'), { headers: { apikey: server.serviceKey, Authorization: `Bearer ${server.serviceKey}` } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/x-test');
    assert.equal(r.headers.get('content-length'), '5000');
    assert.equal(r.headers.get('etag'), md5(bytes));
    assert.equal(r.headers.get('cache-control'), 'max-age=120');
    assert.match(r.headers.get('last-modified'), /^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/);
    await r.arrayBuffer();
    const info = await service.storage.from('files').info('dir/a b.bin');
    assert.equal(info.error, null);
    assert.equal(info.data.id, data.id);
    assert.equal(info.data.size, 5000);
    assert.equal(info.data.contentType, 'application/x-test');
    assert.equal(info.data.cacheControl, 'max-age=120');
    assert.equal(info.data.etag, md5(bytes));
    assert.deepEqual(info.data.metadata, { k: 'v' });
    assert.equal(info.data.bucketId, 'files');
  });

  test('string upload is raw with the default text/plain type', async () => {
    const { error } = await service.storage.from('files').upload('s.txt', 'hello world');
    assert.equal(error, null);
    const dl = await service.storage.from('files').download('s.txt');
    assert.equal(await dl.data.text(), 'hello world');
    assert.equal(dl.data.type, 'text/plain;charset=utf-8');
  });

  test('Blob upload is multipart: file part, cacheControl and metadata parts', async () => {
    const blob = new Blob(['<p>hi</p>'], { type: 'text/html' });
    const { data, error } = await service.storage.from('files').upload('page.html', blob, { cacheControl: '60', metadata: { owner: 'me' } });
    assert.equal(error, null);
    assert.equal(data.fullPath, 'files/page.html');
    const info = await service.storage.from('files').info('page.html');
    assert.equal(info.data.contentType, 'text/html');
    assert.equal(info.data.cacheControl, 'max-age=60');
    assert.equal(info.data.size, 9);
    assert.deepEqual(info.data.metadata, { owner: 'me' });
    const dl = await service.storage.from('files').download('page.html');
    assert.equal(await dl.data.text(), '<p>hi</p>');
    // a caller-built FormData with its own field name, cacheControl appended after the file
    const fd = new FormData();
    fd.append('upload', new Blob([Buffer.from([0, 1, 2, 255])], { type: 'application/octet-stream' }), 'raw.bin');
    const r2 = await service.storage.from('files').upload('fd.bin', fd);
    assert.equal(r2.error, null);
    const dl2 = await service.storage.from('files').download('fd.bin');
    assert.deepEqual(Buffer.from(await dl2.data.arrayBuffer()), Buffer.from([0, 1, 2, 255]));
  });

  test('upload onto an existing key: 409 without upsert, replaced with upsert; update PUT', async () => {
    const f = service.storage.from('files');
    await f.upload('up.txt', 'one');
    const first = await f.info('up.txt');
    const again = await f.upload('up.txt', 'two');
    assert.equal(again.error.status, 409);
    assert.equal(again.error.message, 'The resource already exists');
    assert.equal(await (await f.download('up.txt')).data.text(), 'one');
    const ups = await f.upload('up.txt', 'three', { upsert: true });
    assert.equal(ups.error, null);
    assert.equal(ups.data.id, first.data.id, 'the object keeps its id');
    assert.equal(await (await f.download('up.txt')).data.text(), 'three');
    const upd = await f.update('up.txt', new Blob(['four']));
    assert.equal(upd.error, null);
    assert.equal(upd.data.fullPath, 'files/up.txt');
    assert.equal(await (await f.download('up.txt')).data.text(), 'four');
    // the overwritten blobs are gone: one file per object
    const objects = JSON.parse(sql("SELECT count(*) AS n FROM _basalt_objects"))[0].n;
    const blobs = filesUnder(path.join(server.dataDir, 'storage')).filter((p) => !p.startsWith('tmp'));
    assert.equal(blobs.length, objects);
  });

  test('missing objects and buckets → 404 with storage-api bodies', async () => {
    const r = await request(server, 'GET', S('/object/files/nope.txt'));
    assert.deepEqual(r.body, { statusCode: '404', error: 'not_found', message: 'Object not found' });
    assert.equal(r.status, 404);
    const b = await request(server, 'GET', S('/object/nobucket/x.txt'));
    assertStorageError(b, 404, 'Bucket not found');
    const dl = await service.storage.from('files').download('nope.txt');
    assert.equal(dl.error.status, 404);
    assert.equal((await service.storage.from('files').exists('nope.txt')).data, false);
    assert.equal((await service.storage.from('files').exists('s.txt')).data, true);
  });

  test('Range → 206 with Content-Range; unsatisfiable → 416; If-None-Match → 304; HEAD', async () => {
    const bytes = Buffer.from('0123456789abcdef');
    await service.storage.from('files').upload('r.txt', bytes, { contentType: 'text/plain' });
    const h = { apikey: server.serviceKey, Authorization: `Bearer ${server.serviceKey}` };
    const u = server.url + S('/object/files/r.txt');
    let r = await fetch(u, { headers: { ...h, Range: 'bytes=2-5' } });
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-range'), 'bytes 2-5/16');
    assert.equal(r.headers.get('content-length'), '4');
    assert.equal(await r.text(), '2345');
    r = await fetch(u, { headers: { ...h, Range: 'bytes=-3' } });
    assert.equal(r.status, 206);
    assert.equal(await r.text(), 'def');
    r = await fetch(u, { headers: { ...h, Range: 'bytes=10-' } });
    assert.equal(await r.text(), 'abcdef');
    r = await fetch(u, { headers: { ...h, Range: 'bytes=10-100' } });
    assert.equal(r.headers.get('content-range'), 'bytes 10-15/16');
    assert.equal(await r.text(), 'abcdef');
    r = await fetch(u, { headers: { ...h, Range: 'bytes=16-20' } });
    assert.equal(r.status, 416);
    assert.equal(r.headers.get('content-range'), 'bytes */16');
    await r.arrayBuffer();
    r = await fetch(u, { headers: { ...h, 'If-None-Match': md5(bytes) } });
    assert.equal(r.status, 304);
    assert.equal(r.headers.get('etag'), md5(bytes));
    assert.equal(await r.text(), '');
    r = await fetch(u, { headers: { ...h, 'If-None-Match': '"other"' } });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    r = await fetch(u, { method: 'HEAD', headers: h });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-length'), '16');
    assert.equal(await r.text(), '');
  });

  test('?download → Content-Disposition: attachment', async () => {
    const h = { apikey: server.serviceKey, Authorization: `Bearer ${server.serviceKey}` };
    let r = await fetch(server.url + S('/object/files/dir/a%20b.bin?download'), { headers: h });
    assert.equal(r.headers.get('content-disposition'), `attachment; filename="a b.bin"; filename*=UTF-8''a%20b.bin`);
    await r.arrayBuffer();
    r = await fetch(server.url + S('/object/files/r.txt?download=report.txt'), { headers: h });
    assert.equal(r.headers.get('content-disposition'), `attachment; filename="report.txt"; filename*=UTF-8''report.txt`);
    await r.arrayBuffer();
  });

  test('public bucket: getPublicUrl works with no key at all; private bucket does not', async () => {
    await service.storage.from('pub').upload('img/p.txt', 'public bytes');
    const { data } = anon.storage.from('pub').getPublicUrl('img/p.txt');
    const r = await fetch(data.publicUrl);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'public bytes');
    const dl = anon.storage.from('pub').getPublicUrl('img/p.txt', { download: true });
    const r2 = await fetch(dl.data.publicUrl);
    assert.match(r2.headers.get('content-disposition'), /^attachment; filename="p.txt"/);
    await r2.arrayBuffer();
    const priv = await fetch(server.url + S('/object/public/files/s.txt'));
    assert.equal(priv.status, 404);
    await priv.arrayBuffer();
    // anon can read a public bucket through the authenticated path too, but not a private one
    assert.equal(await (await anon.storage.from('pub').download('img/p.txt')).data.text(), 'public bytes');
    assert.equal((await anon.storage.from('files').download('s.txt')).error.status, 404);
    // and needs a key for everything else
    const nokey = await fetch(server.url + S('/object/files/s.txt'));
    assert.equal(nokey.status, 401);
    assert.equal((await nokey.json()).statusCode, '401');
    const authn = await fetch(server.url + S('/object/authenticated/pub/img/p.txt'), { headers: { apikey: server.anonKey } });
    assert.equal(await authn.text(), 'public bytes');
  });

  test('anon may not upload to a bucket without rules', async () => {
    const r = await anon.storage.from('pub').upload('anon.txt', 'x');
    assert.equal(r.error.status, 403);
    const l = await service.storage.from('pub').list();
    assert.ok(!l.data.some((o) => o.name === 'anon.txt'));
  });

  test('list: folders with null id, prefix, limit/offset, sortBy, search', async () => {
    await service.storage.createBucket('lst');
    const f = service.storage.from('lst');
    for (const k of ['a.txt', 'b.txt', 'c-1.txt', 'dir/x.txt', 'dir/y.txt', 'dir/sub/z.txt', 'dir2/q.txt', 'Apple.txt']) {
      assert.equal((await f.upload(k, k)).error, null);
    }
    let { data, error } = await f.list();
    assert.equal(error, null);
    assert.deepEqual(data.map((o) => o.name), ['Apple.txt', 'a.txt', 'b.txt', 'c-1.txt', 'dir', 'dir2']);
    const folder = data.find((o) => o.name === 'dir');
    assert.deepEqual(folder, { name: 'dir', id: null, updated_at: null, created_at: null, last_accessed_at: null, metadata: null });
    const file = data.find((o) => o.name === 'a.txt');
    assert.match(file.id, /^[0-9a-f-]{36}$/);
    assert.equal(file.metadata.size, 5);
    assert.equal(file.metadata.mimetype, 'text/plain;charset=UTF-8');
    assert.equal(file.metadata.eTag, md5('a.txt'));
    assert.equal(file.metadata.cacheControl, 'max-age=3600');
    assert.equal(file.metadata.httpStatusCode, 200);
    ({ data } = await f.list('dir'));
    assert.deepEqual(data.map((o) => o.name), ['sub', 'x.txt', 'y.txt']);
    ({ data } = await f.list('dir/'));
    assert.deepEqual(data.map((o) => o.name), ['sub', 'x.txt', 'y.txt']);
    ({ data } = await f.list('', { limit: 2, offset: 1 }));
    assert.deepEqual(data.map((o) => o.name), ['a.txt', 'b.txt']);
    ({ data } = await f.list('', { sortBy: { column: 'name', order: 'desc' } }));
    assert.deepEqual(data.map((o) => o.name), ['dir2', 'dir', 'c-1.txt', 'b.txt', 'a.txt', 'Apple.txt']);
    ({ data } = await f.list('', { search: 'a' }));
    assert.deepEqual(data.map((o) => o.name), ['Apple.txt', 'a.txt']);
    ({ data } = await f.list('', { sortBy: { column: 'created_at', order: 'asc' } }));
    assert.deepEqual(data.map((o) => o.name), ['a.txt', 'b.txt', 'c-1.txt', 'Apple.txt', 'dir', 'dir2']);
    ({ data } = await f.list('nothing-here'));
    assert.deepEqual(data, []);
  });

  test('remove returns the deleted rows; missing names are skipped', async () => {
    const f = service.storage.from('lst');
    const { data, error } = await f.remove(['a.txt', 'dir/x.txt', 'missing.txt']);
    assert.equal(error, null);
    assert.deepEqual(data.map((o) => o.name).sort(), ['a.txt', 'dir/x.txt']);
    assert.equal(data[0].bucket_id, 'lst');
    assert.match(data[0].id, /^[0-9a-f-]{36}$/);
    assert.equal((await f.download('a.txt')).error.status, 404);
    const again = await f.remove(['a.txt']);
    assert.deepEqual(again.data, []);
  });

  test('move and copy, also across buckets', async () => {
    const f = service.storage.from('lst');
    let r = await f.move('b.txt', 'moved/b.txt');
    assert.equal(r.error, null);
    assert.deepEqual(r.data, { message: 'Successfully moved' });
    assert.equal((await f.download('b.txt')).error.status, 404);
    assert.equal(await (await f.download('moved/b.txt')).data.text(), 'b.txt');
    r = await f.copy('moved/b.txt', 'copied/b.txt');
    assert.equal(r.error, null);
    assert.equal(r.data.path, 'lst/copied/b.txt');
    assert.equal(await (await f.download('copied/b.txt')).data.text(), 'b.txt');
    assert.equal(await (await f.download('moved/b.txt')).data.text(), 'b.txt');
    r = await f.copy('moved/b.txt', 'other/b.txt', { destinationBucket: 'files' });
    assert.equal(r.error, null);
    assert.equal(r.data.path, 'files/other/b.txt');
    r = await f.move('moved/b.txt', 'moved-away.txt', { destinationBucket: 'files' });
    assert.equal(r.error, null);
    assert.equal(await (await service.storage.from('files').download('moved-away.txt')).data.text(), 'b.txt');
    r = await f.move('copied/b.txt', 'c-1.txt');
    assert.equal(r.error.status, 409);
    r = await f.copy('nope.txt', 'x.txt');
    assert.equal(r.error.status, 404);
    // removing one copy leaves the other readable
    await f.remove(['copied/b.txt']);
    assert.equal(await (await service.storage.from('files').download('other/b.txt')).data.text(), 'b.txt');
  });

  test('signed URLs: download by token alone, exact path, expiry, download name', async () => {
    const f = service.storage.from('files');
    await f.upload('sig/a b.txt', 'signed bytes');
    const { data, error } = await f.createSignedUrl('sig/a b.txt', 60);
    assert.equal(error, null);
    assert.match(data.signedUrl, /\/storage\/v1\/object\/sign\/files\/sig\/a%20b\.txt\?token=/);
    let r = await fetch(data.signedUrl);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'signed bytes');
    const raw = await request(server, 'POST', S('/object/sign/files/sig/a b.txt'), { json: { expiresIn: 60 } });
    assert.match(raw.body.signedURL, /^\/object\/sign\/files\/sig\/a b\.txt\?token=[\w-]+\.[\w-]+\.[\w-]+$/);
    const token = new URL(data.signedUrl).searchParams.get('token');
    r = await fetch(server.url + S(`/object/sign/files/s.txt?token=${token}`));
    assert.equal(r.status, 400, 'a token for another path');
    await r.arrayBuffer();
    r = await fetch(server.url + S('/object/sign/files/sig/a%20b.txt?token=garbage'));
    assert.equal(r.status, 400);
    await r.arrayBuffer();
    const dl = await f.createSignedUrl('sig/a b.txt', 60, { download: 'x.txt' });
    r = await fetch(dl.data.signedUrl);
    assert.match(r.headers.get('content-disposition'), /filename="x.txt"/);
    await r.arrayBuffer();
    const short = await f.createSignedUrl('sig/a b.txt', 1);
    await new Promise((res) => setTimeout(res, 2100));
    r = await fetch(short.data.signedUrl);
    assert.equal(r.status, 400);
    assert.equal((await r.json()).message, 'jwt expired');
    const missing = await f.createSignedUrl('nope.txt', 60);
    assert.equal(missing.error.status, 404);
    const many = await f.createSignedUrls(['sig/a b.txt', 'nope.txt'], 60);
    assert.equal(many.error, null);
    assert.equal(many.data.length, 2);
    assert.equal(many.data[0].error, null);
    assert.equal(many.data[0].path, 'sig/a b.txt');
    assert.equal(await (await fetch(many.data[0].signedUrl)).text(), 'signed bytes');
    assert.equal(many.data[1].signedUrl, null);
    assert.equal(typeof many.data[1].error, 'string');
  });

  test('signed upload URLs', async () => {
    const f = service.storage.from('files');
    const { data, error } = await f.createSignedUploadUrl('su/new file.txt');
    assert.equal(error, null);
    assert.ok(data.token);
    assert.equal(data.path, 'su/new file.txt');
    const up = await anon.storage.from('files').uploadToSignedUrl('su/new file.txt', data.token, 'via signed url');
    assert.equal(up.error, null);
    assert.equal(up.data.fullPath, 'files/su/new file.txt');
    assert.equal(await (await f.download('su/new file.txt')).data.text(), 'via signed url');
    // the token names one key
    const other = await anon.storage.from('files').uploadToSignedUrl('su/other.txt', data.token, 'x');
    assert.equal(other.error.status, 400);
    // without upsert the key cannot be overwritten
    const again = await anon.storage.from('files').uploadToSignedUrl('su/new file.txt', data.token, new Blob(['y']));
    assert.equal(again.error.status, 409);
    const ups = await f.createSignedUploadUrl('su/new file.txt', { upsert: true });
    const over = await anon.storage.from('files').uploadToSignedUrl('su/new file.txt', ups.data.token, new Blob(['z']), { upsert: true });
    assert.equal(over.error, null);
    assert.equal(await (await f.download('su/new file.txt')).data.text(), 'z');
    // anon cannot create signed upload URLs on a bucket without rules
    assert.equal((await anon.storage.from('files').createSignedUploadUrl('su/x.txt')).error.status, 403);
  });

  test('path tricks → 400 and nothing written outside the storage dir', async () => {
    const before = new Set(filesUnder(server.dataDir));
    // raw requests: fetch would normalise ../ and ./ before sending
    const bad = ['../evil.txt', '..%2fevil.txt', '%2e%2e/evil.txt', '%2E%2E%2Fevil.txt', 'a/../evil.txt', 'a/./evil.txt',
      'a/%2e%2e/evil.txt', './evil.txt', '%2Fevil.txt', 'a//evil.txt', 'evil%01.txt', 'evil%0A.txt',
      'evil%7F.txt', 'evil%FF.txt', 'evil/', 'x'.repeat(1025),
      // %00 used to end the name there ("evil%00.txt" stored as "evil")
      'evil%00.txt', 'evil%00/x.txt', '%00evil.txt'];
    for (const k of bad) {
      const res = await rawRequest('POST', `/storage/v1/object/files/${k}`, { apikey: server.serviceKey, 'Content-Type': 'text/plain' }, 'evil');
      assert.equal(res.status, 400, `${k}: ${res.head}\n${res.body}`);
      const body = JSON.parse(res.body);
      assert.equal(body.statusCode, '400', k);
      assert.equal(body.error, 'InvalidKey', k);
    }
    const after = filesUnder(server.dataDir).filter((p) => !before.has(p));
    assert.ok(after.every((p) => p.startsWith('storage/') || p.startsWith('basalt.db')), `new files: ${after}`);
    assert.ok(!fs.existsSync(path.join(server.dataDir, 'evil.txt')));
    assert.ok(!fs.existsSync(path.join(server.dataDir, '..', 'evil.txt')));
    assert.equal(JSON.parse(sql("SELECT count(*) AS n FROM _basalt_objects WHERE name LIKE '%evil%'"))[0].n, 0);
    // the same through the client's JSON bodies (move/copy/remove/sign)
    const f = service.storage.from('files');
    assert.equal((await f.copy('s.txt', '../evil.txt')).error.status, 400);
    assert.equal((await f.move('s.txt', 'a/./evil.txt')).error.status, 400);
    assert.equal((await f.copy('s.txt', 'evil\u0000.txt')).error.status, 400);
    assert.equal((await f.copy('s.txt', 'evil\u0007.txt')).error.status, 400);
    assert.equal((await f.copy('s.txt', '/evil.txt')).error?.status, undefined, 'a leading / is stripped as the client does');
    await f.remove(['evil.txt']);
    // a valid unusual key works and comes back decoded
    const ok = await f.upload('ünï/ça va.txt', 'ok');
    assert.equal(ok.error, null);
    assert.equal(ok.data.fullPath, 'files/ünï/ça va.txt');
    assert.equal(await (await f.download('ünï/ça va.txt')).data.text(), 'ok');
  });

  test('size limits: bucket limit and --storage-max-file → 413 while streaming', async () => {
    await service.storage.createBucket('small', { fileSizeLimit: 1000 });
    const f = service.storage.from('small');
    assert.equal((await f.upload('ok.bin', Buffer.alloc(1000, 1))).error, null);
    let r = await f.upload('big.bin', Buffer.alloc(1001, 1));
    assert.equal(r.error.status, 413);
    assert.equal(r.error.message, 'The object exceeded the maximum allowed size');
    r = await f.upload('big2.bin', new Blob([Buffer.alloc(5000, 2)]));
    assert.equal(r.error.status, 413);
    // global cap of this server: 4 MiB, chunked (no Content-Length) so it trips mid-stream
    const chunks = async function* () { for (let i = 0; i < 16; i++) yield Buffer.alloc(512 * 1024, i); };
    const res = await fetch(server.url + S('/object/files/huge.bin'), {
      method: 'POST', duplex: 'half', body: ReadableStreamFrom(chunks()),
      headers: { apikey: server.serviceKey, Authorization: `Bearer ${server.serviceKey}`, 'Content-Type': 'application/octet-stream' },
    }).catch((e) => e);
    if (!(res instanceof Error)) {
      assert.equal(res.status, 413);
      assert.equal(res.headers.get('connection'), 'close');
      assert.equal((await res.json()).statusCode, '413');
    }
    assert.equal((await service.storage.from('files').info('huge.bin')).error.status, 404);
    assert.equal((await f.info('big.bin')).error.status, 404);
    assert.deepEqual(fs.readdirSync(path.join(server.dataDir, 'storage', 'tmp')), []);
  });

  test('MIME limits: allowed types with wildcards → 415 otherwise', async () => {
    await service.storage.createBucket('imgs', { allowedMimeTypes: ['image/*', 'application/pdf'] });
    const f = service.storage.from('imgs');
    assert.equal((await f.upload('a.png', Buffer.from([1]), { contentType: 'image/png' })).error, null);
    assert.equal((await f.upload('b.pdf', new Blob([Buffer.from([1])], { type: 'application/pdf' }))).error, null);
    let r = await f.upload('c.txt', 'text');
    assert.equal(r.error.status, 415);
    assert.equal(r.error.message, 'mime type text/plain;charset=UTF-8 is not supported');
    r = await f.upload('d.html', new Blob(['<p>'], { type: 'text/html' }));
    assert.equal(r.error.status, 415);
    assert.equal((await f.info('c.txt')).error.status, 404);
  });

  test('object creates and deletes are in the change log', async () => {
    await service.storage.createBucket('logged');
    const f = service.storage.from('logged');
    const up = await f.upload('x/y.txt', 'abc', { metadata: { a: 1 } });
    await f.remove(['x/y.txt']);
    const rows = JSON.parse(sql(`SELECT op, doc_id, old, new FROM _basalt_changes WHERE collection='storage.objects' AND doc_id='${up.data.id}' ORDER BY seq`));
    assert.deepEqual(rows.map((r) => r.op), ['INSERT', 'DELETE']);
    const n = JSON.parse(rows[0].new);
    assert.deepEqual(n, { id: up.data.id, bucket: 'logged', name: 'x/y.txt', size: 3, content_type: 'text/plain;charset=UTF-8', owner: null, metadata: { a: 1 } });
    assert.deepEqual(JSON.parse(rows[1].old), n);
    assert.equal(rows[1].new, null);
  });
});

/** One HTTP/1.1 request over a raw socket, path bytes sent exactly as given. */
async function rawRequest(method, p, headers, body = '') {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.connect(server.port, '127.0.0.1', () => {
      let h = `${method} ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
      for (const [k, v] of Object.entries(headers)) h += `${k}: ${v}\r\n`;
      s.write(h + '\r\n' + body);
    });
    const chunks = [];
    s.on('data', (d) => chunks.push(d));
    s.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const i = text.indexOf('\r\n\r\n');
      resolve({ status: Number(text.slice(9, 12)), head: text.slice(0, i), body: text.slice(i + 4) });
    });
    s.on('error', reject);
  });
}

/** A web ReadableStream from an async iterator (fetch wants one for duplex bodies). */
function ReadableStreamFrom(it) {
  return new ReadableStream({
    async pull(ctrl) {
      const { value, done } = await it.next();
      if (done) ctrl.close();
      else ctrl.enqueue(value);
    },
  });
}
