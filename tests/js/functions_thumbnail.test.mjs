// The storage host API of functions (object_read/object_write through
// storage/'s C API) and BRIEF.md's thumbnail pipeline end to end: a .jpg
// uploaded with supabase-js under uploads/ in bucket images becomes a
// 320x320-bounded JPEG under thumbnails/ and a document in collection
// images; other uploads produce nothing, and thumbnails do not trigger
// thumbnails.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, clients, request, admin, ROOT, ISO_UTC, sleep } from './lib/server.mjs';
import { functionsDir, buildPlugin, eventually, rows } from './lib/fnplugins.mjs';

const FIX = path.join(ROOT, 'tests', 'js', 'fixtures');
const photo = (n) => fs.readFileSync(path.join(FIX, n));

// A test plugin that drives the host storage API from an invoke payload
// {"op":"w"|"r","bucket","name","type","n"} (writes n bytes i*7+1 mod 256,
// NULs included) and records storage events of bucket hostapi under in/
// into collection hostapi_seen (so a host write is seen to trigger).
const OBJIO = String.raw`
#include <basalt/function.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static long field(const char *j, const char *key, long dflt) {
    char pat[32]; snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *k = strstr(j, pat); if (!k) return dflt;
    const char *p = k + strlen(pat); while (*p == ' ' || *p == ':') p++;
    return strtol(p, NULL, 10);
}
static int str_field(const char *j, const char *key, char *out, size_t cap) {
    char pat[32]; snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *k = strstr(j, pat); out[0] = 0; if (!k) return 0;
    const char *p = strchr(k + strlen(pat), '"'); if (!p) return 0; p++;
    size_t n = 0; while (p[n] && p[n] != '"' && n + 1 < cap) n++;
    memcpy(out, p, n); out[n] = 0; return 1;
}
static int handle(const basalt_event *ev, basalt_ctx *ctx, basalt_response *res) {
    char out[512];
    if (ev->kind == BASALT_EVENT_STORAGE) {
        char id[300], doc[700]; size_t i;
        snprintf(id, sizeof id, "%s", ev->storage->name);
        for (i = 0; id[i]; i++) if (id[i] == '/') id[i] = '_';
        snprintf(doc, sizeof doc, "{\"id\":\"%s\",\"name\":\"%s\",\"size\":%lld,\"type\":\"%s\",\"op\":\"%s\"}",
                 id, ev->storage->name, (long long)ev->storage->size, ev->storage->content_type, ev->storage->op);
        int rc = ctx->host->doc_insert(ctx, "hostapi_seen", doc, NULL);
        if (rc == BASALT_EEXISTS) rc = ctx->host->doc_update(ctx, "hostapi_seen", id, doc, NULL);
        return rc == BASALT_OK ? BASALT_OK : BASALT_ERROR;
    }
    const char *in = ev->invoke->payload;
    char op[8], bucket[128], name[300], type[128];
    str_field(in, "op", op, sizeof op);
    str_field(in, "bucket", bucket, sizeof bucket);
    str_field(in, "name", name, sizeof name);
    int has_type = str_field(in, "type", type, sizeof type);
    if (op[0] == 'w') {
        long n = field(in, "n", 0);
        unsigned char *d = malloc(n > 0 ? (size_t)n : 1);
        for (long i = 0; i < n; i++) d[i] = (unsigned char)(i * 7 + 1);
        int rc = ctx->host->object_write(ctx, bucket, name, d, (size_t)n, has_type ? type : NULL);
        free(d);
        snprintf(out, sizeof out, "{\"rc\":%d}", rc);
    } else {
        void *d = (void *)1; size_t len = 7; char *ct = (char *)1;
        int rc = ctx->host->object_read(ctx, bucket, name, &d, &len, &ct);
        unsigned long sum = 0; int pattern = 1;
        for (size_t i = 0; d && i < len; i++) {
            sum = sum * 31 + ((unsigned char *)d)[i];
            if (((unsigned char *)d)[i] != (unsigned char)(i * 7 + 1)) pattern = 0;
        }
        snprintf(out, sizeof out, "{\"rc\":%d,\"len\":%zu,\"null\":%s,\"ctype\":%s%s%s,\"pattern\":%s,\"sum\":%lu}",
                 rc, len, d ? "false" : "true", ct ? "\"" : "", ct ? ct : "null", ct ? "\"" : "",
                 pattern ? "true" : "false", sum);
        ctx->host->free(d); ctx->host->free(ct);
    }
    return ctx->host->json(res, 200, out);
}
static const basalt_trigger triggers[] = { BASALT_ON_STORAGE("hostapi", BASALT_CREATED, "in/", NULL) };
BASALT_FUNCTION(.name = "objio", .description = "host storage API test", .triggers = triggers,
                .ntriggers = BASALT_COUNT(triggers), .timeout_ms = 5000, .concurrency = 4, .handle = handle);
`;

let server, fdir, anon, service;

before(async () => {
  fdir = functionsDir(['thumbnail']);
  buildPlugin(OBJIO, path.join(fdir, 'objio.so'));
  server = await startServer({ args: ['--functions-dir', fdir, '--function-workers', '2'],
    env: { BASALT_FN_BACKOFF_MS: '100' } });
  ({ anon, service } = clients(server));
  for (const [id, o] of [['images', { allowedMimeTypes: ['image/*', 'text/plain'] }], ['hostapi', {}],
    ['tiny', { fileSizeLimit: 100, allowedMimeTypes: ['image/*'] }]]) {
    const { error } = await service.storage.createBucket(id, o);
    assert.equal(error, null);
  }
});

after(async () => {
  await server?.stop({ expectExit0: true });
  fs.rmSync(fdir, { recursive: true, force: true });
});

const io = async (payload) => {
  const r = await admin(server, 'POST', '/functions/objio/invoke', { type: 'sync', payload });
  assert.equal(r.status, 200, r.text);
  return r.body;
};
const pattern = (n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 1) & 255));
const etagOf = (b) => `"${crypto.createHash('sha256').update(b).digest('hex').slice(0, 32)}"`;

function blobFiles() {
  const root = path.join(server.dataDir, 'storage');
  const out = [];
  for (const a of fs.readdirSync(root)) {
    if (!/^[0-9a-f]{2}$/.test(a)) continue;
    for (const b of fs.readdirSync(path.join(root, a))) out.push(...fs.readdirSync(path.join(root, a, b)));
  }
  return out.sort();
}

/** Width and height from a JPEG's SOF0/SOF2 header; asserts SOI and EOI. */
function jpegSize(buf) {
  assert.ok(buf.length > 4, 'a JPEG has bytes');
  assert.deepEqual([buf[0], buf[1]], [0xff, 0xd8], 'SOI');
  assert.deepEqual([buf[buf.length - 2], buf[buf.length - 1]], [0xff, 0xd9], 'EOI');
  let i = 2;
  while (i + 4 <= buf.length) {
    assert.equal(buf[i], 0xff, `marker at ${i}`);
    const m = buf[i + 1];
    const len = buf.readUInt16BE(i + 2);
    if (m === 0xc0 || m === 0xc2) return { width: buf.readUInt16BE(i + 7), height: buf.readUInt16BE(i + 5), sof: m };
    if (m === 0xda) break; // scan data before any SOF: not a JPEG we can size
    i += 2 + len;
  }
  throw new Error('no SOF0/SOF2 header');
}

describe('host storage API (object_read / object_write)', () => {
  test('write then read back, bytes and type kept, visible to storage clients', async () => {
    assert.deepEqual(await io({ op: 'w', bucket: 'hostapi', name: 'in/x.bin', type: 'application/x-test', n: 300 }), { rc: 0 });
    const got = await io({ op: 'r', bucket: 'hostapi', name: 'in/x.bin' });
    assert.equal(got.rc, 0);
    assert.equal(got.len, 300);
    assert.equal(got.ctype, 'application/x-test');
    assert.equal(got.pattern, true);
    // the HTTP side sees the same object (private bucket, anon sees nothing)
    const { data, error } = await service.storage.from('hostapi').download('in/x.bin');
    assert.equal(error, null);
    assert.deepEqual(Buffer.from(await data.arrayBuffer()), pattern(300));
    const r = await request(server, 'GET', '/storage/v1/object/hostapi/in/x.bin');
    assert.equal(r.headers.get('etag'), etagOf(pattern(300)));
    assert.equal(r.headers.get('content-type'), 'application/x-test');
    const an = await anon.storage.from('hostapi').download('in/x.bin');
    assert.notEqual(an.error, null, 'functions bypass rules, clients do not');
  });

  test('a host write is a storage event: it triggers functions', async () => {
    const seen = await eventually(async () => (await rows(server, 'hostapi_seen', 'id=eq.in_x.bin'))[0], 8000, 'the trigger');
    assert.equal(seen.name, 'in/x.bin');
    assert.equal(seen.size, 300);
    assert.equal(seen.type, 'application/x-test');
    assert.equal(seen.op, 'created');
  });

  test('overwrite: same id, new bytes, the old file removed', async () => {
    const before = await request(server, 'GET', '/storage/v1/object/info/hostapi/in/x.bin');
    assert.equal(before.status, 200, before.text);
    const filesBefore = blobFiles().length;
    assert.deepEqual(await io({ op: 'w', bucket: 'hostapi', name: 'in/x.bin', n: 10 }), { rc: 0 });
    const got = await io({ op: 'r', bucket: 'hostapi', name: 'in/x.bin' });
    assert.deepEqual([got.rc, got.len, got.ctype, got.pattern], [0, 10, 'application/octet-stream', true]);
    const after = await request(server, 'GET', '/storage/v1/object/info/hostapi/in/x.bin');
    assert.equal(after.body.id, before.body.id);
    assert.equal(blobFiles().length, filesBefore);
    await eventually(async () => (await rows(server, 'hostapi_seen', 'id=eq.in_x.bin'))[0]?.size === 10, 8000, 'the second event');
  });

  test('empty object: rc 0, length 0, a non-NULL pointer', async () => {
    assert.deepEqual(await io({ op: 'w', bucket: 'hostapi', name: 'empty', type: 'text/plain', n: 0 }), { rc: 0 });
    const got = await io({ op: 'r', bucket: 'hostapi', name: 'empty' });
    assert.deepEqual([got.rc, got.len, got.null, got.ctype], [0, 0, false, 'text/plain']);
  });

  test('missing object or bucket: BASALT_ENOTFOUND (-2), outputs cleared', async () => {
    const got = await io({ op: 'r', bucket: 'hostapi', name: 'nope' });
    assert.deepEqual([got.rc, got.len, got.null, got.ctype], [-2, 0, true, null]);
    assert.equal((await io({ op: 'r', bucket: 'nobucket', name: 'x' })).rc, -2);
    assert.deepEqual(await io({ op: 'w', bucket: 'nobucket', name: 'x', n: 1 }), { rc: -2 });
  });

  test('bad names and bucket limits: BASALT_EINVAL (-3), nothing stored', async () => {
    const files = blobFiles().length;
    for (const name of ['../x', 'a//b', '/abs', 'dir/']) {
      assert.deepEqual(await io({ op: 'w', bucket: 'hostapi', name, n: 1 }), { rc: -3 }, name);
    }
    assert.deepEqual(await io({ op: 'w', bucket: 'hostapi', name: 'x', type: 'not a type', n: 1 }), { rc: -3 });
    // tiny: at most 100 bytes of image/*
    assert.deepEqual(await io({ op: 'w', bucket: 'tiny', name: 'big.png', type: 'image/png', n: 101 }), { rc: -3 });
    assert.deepEqual(await io({ op: 'w', bucket: 'tiny', name: 'a.txt', type: 'text/plain', n: 5 }), { rc: -3 });
    assert.equal(blobFiles().length, files);
    assert.deepEqual(await io({ op: 'w', bucket: 'tiny', name: 'ok.png', type: 'image/png', n: 100 }), { rc: 0 });
    assert.equal(blobFiles().length, files + 1);
    const { data } = await service.storage.from('tiny').list();
    assert.deepEqual(data.map((o) => o.name), ['ok.png']);
  });
});

describe('thumbnail pipeline', () => {
  const cases = [
    // [fixture, key, thumbnail width, height]
    ['photo-800x600.jpg', 'uploads/cat.jpg', 320, 240],
    ['photo-450x1000.jpg', 'uploads/2024/tall.jpg', 144, 320],
    ['photo-200x100.jpg', 'uploads/small.jpg', 200, 100],
  ];

  test('uploads that must not trigger: not .jpg, or not under uploads/', async () => {
    const b = service.storage.from('images');
    for (const [key, body, type] of [['uploads/notes.txt', 'hello', 'text/plain'],
      ['uploads/cat.jpeg', photo('photo-200x100.jpg'), 'image/jpeg'],
      ['elsewhere/cat.jpg', photo('photo-200x100.jpg'), 'image/jpeg']]) {
      const { error } = await b.upload(key, body, { contentType: type });
      assert.equal(error, null, key);
    }
  });

  for (const [fixture, key, tw, th] of cases) {
    test(`${key} (${fixture}) → thumbnails/ ${tw}x${th} and a document`, async () => {
      const bytes = photo(fixture);
      const { data: up, error } = await service.storage.from('images').upload(key, bytes, { contentType: 'image/jpeg' });
      assert.equal(error, null);
      assert.equal(up.path, key);
      const base = path.posix.basename(key);
      const id = base.replace(/\.jpg$/, '');
      const doc = await eventually(async () => (await rows(server, 'images', `id=eq.${id}`))[0], 10000, `the document of ${key}`);
      assert.equal(doc.image_id, id);
      assert.equal(doc.original_key, key);
      assert.equal(doc.thumbnail_key, `thumbnails/${base}`);
      assert.equal(doc.original_size, bytes.length);
      assert.equal(doc.width, tw);
      assert.equal(doc.height, th);
      assert.match(doc.processed_at, ISO_UTC);
      assert.ok(Math.abs(Date.parse(doc.processed_at) - Date.now()) < 60000, doc.processed_at);
      assert.equal(typeof doc.remaining_ms, 'number');
      assert.ok(doc.remaining_ms > 0 && doc.remaining_ms <= 30000, String(doc.remaining_ms));
      // the thumbnail: a decodable JPEG of the size the document says
      const { data: blob, error: de } = await service.storage.from('images').download(`thumbnails/${base}`);
      assert.equal(de, null);
      assert.equal(blob.type, 'image/jpeg');
      const thumb = Buffer.from(await blob.arrayBuffer());
      const { width, height } = jpegSize(thumb);
      assert.deepEqual([width, height], [tw, th]);
      if (tw !== 200) assert.equal(Math.max(width, height), 320);
      const [ow, oh] = fixture.match(/(\d+)x(\d+)/).slice(1).map(Number);
      assert.ok(Math.abs(width / height - ow / oh) < 0.01, `aspect ${width}/${height} vs ${ow}/${oh}`);
    });
  }

  test('nothing else: no thumbnail of a thumbnail or of the other uploads, no extra calls', async () => {
    await sleep(500); // give a wrongly triggered job time to show
    const { data: thumbs } = await service.storage.from('images').list('thumbnails');
    assert.deepEqual(thumbs.map((o) => o.name).sort(), ['cat.jpg', 'small.jpg', 'tall.jpg']);
    const docs = await rows(server, 'images', 'select=id&order=id');
    assert.deepEqual(docs.map((d) => d.id), ['cat', 'small', 'tall']);
    const fn = await admin(server, 'GET', '/functions/thumbnail');
    assert.equal(fn.status, 200, fn.text);
    assert.equal(fn.body.metrics.invocations, 3);
    assert.equal(fn.body.metrics.errors, 0);
    assert.equal(fn.body.metrics.queue_depth, 0);
    const { data: top } = await service.storage.from('images').list('');
    assert.deepEqual(top.map((o) => o.name).sort(), ['elsewhere', 'thumbnails', 'uploads']);
  });

  test('re-upload (upsert) refreshes the thumbnail and the document', async () => {
    const { error } = await service.storage.from('images').upload('uploads/cat.jpg', photo('photo-450x1000.jpg'),
      { contentType: 'image/jpeg', upsert: true });
    assert.equal(error, null);
    const doc = await eventually(async () => {
      const d = (await rows(server, 'images', 'id=eq.cat'))[0];
      return d?.width === 144 ? d : null;
    }, 10000, 'the refreshed document');
    assert.equal(doc.height, 320);
    assert.equal(doc.original_size, photo('photo-450x1000.jpg').length);
    const { data } = await service.storage.from('images').download('thumbnails/cat.jpg');
    assert.deepEqual(jpegSize(Buffer.from(await data.arrayBuffer())), { width: 144, height: 320, sof: 0xc0 });
  });

  test('a corrupt .jpg fails with DecodeFailed and is dead-lettered', async () => {
    const p = await admin(server, 'PATCH', '/functions/thumbnail', { retries: 0 });
    assert.equal(p.status, 200, p.text);
    const bad = Buffer.concat([photo('photo-200x100.jpg').subarray(0, 200), Buffer.alloc(50)]);
    const { error } = await service.storage.from('images').upload('uploads/broken.jpg', bad, { contentType: 'image/jpeg' });
    assert.equal(error, null);
    const dl = await eventually(async () => {
      const r = await admin(server, 'GET', '/functions/dlq?function=thumbnail');
      return r.body?.find?.((d) => d.event?.name === 'uploads/broken.jpg');
    }, 10000, 'the dead letter');
    assert.equal(dl.function, 'thumbnail');
    assert.equal(dl.attempts, 1);
    assert.match(dl.last_error, /^DecodeFailed: /);
    assert.equal((await rows(server, 'images', 'id=eq.broken')).length, 0);
  });
});
