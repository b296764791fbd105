// A 1 GiB object through the unmodified supabase-js storage client:
// generated on the fly (AES-CTR keystream, never held in memory), uploaded
// as a stream, downloaded as a stream, compared by SHA-256; the server's
// peak RSS must stay bounded while it streams.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { startServer, clients } from './lib/server.mjs';

const SIZE = 1024 * 1024 * 1024;
const CHUNK = 1024 * 1024;

let server, service;

before(async () => {
  server = await startServer();
  ({ service } = clients(server));
  assert.equal((await service.storage.createBucket('big')).error, null);
});

after(async () => {
  await server?.stop({ expectExit0: true });
});

/** A ReadableStream of `size` pseudo-random bytes; `hash` sees every byte. */
function generated(size, hash) {
  const cipher = crypto.createCipheriv('aes-128-ctr', Buffer.alloc(16, 1), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(CHUNK);
  let sent = 0;
  return new ReadableStream({
    pull(ctrl) {
      if (sent >= size) {
        ctrl.close();
        return;
      }
      const n = Math.min(CHUNK, size - sent);
      const chunk = cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n));
      hash.update(chunk);
      sent += n;
      ctrl.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    },
  });
}

const hwm = () => Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${server.proc.pid}/status`, 'utf8'))[1]) * 1024;

test('1 GiB upload and download, streamed both ways, same SHA-256', { timeout: 300000 }, async () => {
  const before = hwm();
  const up = crypto.createHash('sha256');
  const r = await service.storage.from('big').upload('one-gib.bin', generated(SIZE, up), { contentType: 'application/octet-stream' });
  assert.equal(r.error, null, r.error?.message);
  assert.equal(r.data.fullPath, 'big/one-gib.bin');
  const upHash = up.digest('hex');
  const grown = hwm() - before;
  assert.ok(grown < 64 * 1024 * 1024, `server peak RSS grew by ${(grown / 1048576).toFixed(1)} MiB during a 1 GiB upload`);

  const info = await service.storage.from('big').info('one-gib.bin');
  assert.equal(info.data.size, SIZE);

  const dl = await service.storage.from('big').download('one-gib.bin').asStream();
  assert.equal(dl.error, null, dl.error?.message);
  const down = crypto.createHash('sha256');
  let got = 0;
  for await (const chunk of dl.data) {
    down.update(chunk);
    got += chunk.byteLength;
  }
  assert.equal(got, SIZE);
  assert.equal(down.digest('hex'), upHash);
});
