// Plugin lifecycle through a running server: hot reload under load with no
// failed request, ABI mismatch refused, init failure keeps the old version,
// removal unloads, schedules fire, and queued jobs survive SIGKILL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, request, admin, sleep } from './lib/server.mjs';
import { functionsDir, buildPlugin, eventually, rows } from './lib/fnplugins.mjs';

const versioned = (v, initOk = true) => `
#include <basalt/function.h>
static int init(basalt_ctx *ctx, void **state) { (void)ctx; (void)state; return ${initOk ? 'BASALT_OK' : '-1'}; }
static int handle(const basalt_event *ev, basalt_ctx *ctx, basalt_response *res)
{ (void)ev; return ctx->host->json(res, 200, "{\\"v\\":${v}}"); }
static const basalt_trigger t[] = { BASALT_ON_HTTP(0) };
BASALT_FUNCTION(.name = "ver", .triggers = t, .ntriggers = 1, .init = init, .handle = handle, .concurrency = 64);
`;

const badAbi = `
#include <basalt/function.h>
static int handle(const basalt_event *ev, basalt_ctx *ctx, basalt_response *res) { (void)ev; (void)ctx; (void)res; return 0; }
BASALT_EXPORT const basalt_function basalt_function_v1 = { .magic = BASALT_FUNCTION_MAGIC, .abi_version = 99,
  .struct_size = sizeof(basalt_function), .name = "badabi", .handle = handle };
`;

const ticker = `
#include <basalt/function.h>
#include <stdio.h>
static int handle(const basalt_event *ev, basalt_ctx *ctx, basalt_response *res)
{
    (void)res;
    char doc[200];
    snprintf(doc, sizeof doc, "{\\"scheduled_ms\\":%lld,\\"expr\\":\\"%s\\"}", (long long)ev->schedule->scheduled_ms, ev->schedule->expr);
    return ev->kind == BASALT_EVENT_SCHEDULE ? ctx->host->doc_insert(ctx, "ticks", doc, NULL) : BASALT_ERROR;
}
static const basalt_trigger t[] = { BASALT_ON_SCHEDULE("rate(1 second)") };
BASALT_FUNCTION(.name = "ticker", .triggers = t, .ntriggers = 1, .handle = handle);
`;

let server, fdir;

before(async () => {
  fdir = functionsDir([]);
  buildPlugin(versioned(1), path.join(fdir, 'ver.so'));
  buildPlugin(badAbi, path.join(fdir, 'badabi.so'));
  server = await startServer({ args: ['--functions-dir', fdir] });
});

after(async () => {
  await server?.stop({ expectExit0: true });
  fs.rmSync(fdir, { recursive: true, force: true });
});

test('ABI mismatch is refused with a clear log line', async () => {
  assert.match(server.logs(), /refusing .*badabi\.so: built for function ABI 99, this server speaks ABI 1/);
  const r = await admin(server, 'GET', '/functions');
  assert.deepEqual(r.body.map((f) => f.name), ['ver']);
});

test('hot reload under load: no failed request, new calls reach the new version', async () => {
  let stop = false;
  const seen = new Set();
  const failures = [];
  const loop = async () => {
    while (!stop) {
      const r = await request(server, 'GET', '/functions/v1/ver', { key: 'anon' });
      if (r.status !== 200) failures.push(`${r.status} ${r.text}`);
      else seen.add(r.body.v);
    }
  };
  const loops = [loop(), loop(), loop(), loop()];
  await sleep(200);
  for (let v = 2; v <= 4; v++) {
    buildPlugin(versioned(v), path.join(fdir, 'ver.so'));
    await sleep(300);
  }
  await eventually(async () => (await request(server, 'GET', '/functions/v1/ver', { key: 'anon' })).body?.v === 4, 5000, 'version 4');
  stop = true;
  await Promise.all(loops);
  assert.deepEqual(failures, []);
  assert.ok(seen.has(1) && seen.has(4), `versions seen: ${[...seen]}`);
  const fn = await admin(server, 'GET', '/functions/ver');
  assert.equal(fn.body.metrics.cold_starts, 4);
});

test('init failure keeps the old version live and reports why', async () => {
  buildPlugin(versioned(5, false), path.join(fdir, 'ver.so'));
  const fn = await eventually(async () => {
    const r = await admin(server, 'GET', '/functions/ver');
    return r.body.last_error ? r.body : null;
  }, 5000, 'last_error');
  assert.match(fn.body?.last_error ?? fn.last_error, /init of version \d+ .* failed with -1: the previous version stays live/);
  const r = await request(server, 'GET', '/functions/v1/ver', { key: 'anon' });
  assert.deepEqual(r.body, { v: 4 });
});

test('removing the file unloads the function', async () => {
  fs.rmSync(path.join(fdir, 'ver.so'));
  await eventually(async () => (await request(server, 'GET', '/functions/v1/ver', { key: 'anon' })).status === 404, 5000, '404');
  const fn = await admin(server, 'GET', '/functions/ver');
  assert.equal(fn.body.loaded, false);
});

test('a rate(1 second) schedule fires', async () => {
  buildPlugin(ticker, path.join(fdir, 'ticker.so'));
  const ticks = await eventually(async () => {
    const t = await rows(server, 'ticks', 'order=scheduled_ms.asc');
    return t.length >= 2 ? t : null;
  }, 6000, 'two ticks');
  assert.equal(ticks[0].expr, 'rate(1 second)');
  const gap = ticks[1].scheduled_ms - ticks[0].scheduled_ms;
  assert.equal(gap, 1000);
  fs.rmSync(path.join(fdir, 'ticker.so'));
});

test('SIGKILL with queued slow jobs: after restart every job runs', async () => {
  const dir2 = functionsDir(['flaky']);
  const s = await startServer({ args: ['--functions-dir', dir2, '--function-workers', '1'] });
  await admin(s, 'PATCH', '/functions/flaky', { concurrency: 1 });
  const ids = [];
  for (let i = 0; i < 6; i++) {
    const r = await admin(s, 'POST', '/functions/flaky/invoke', { type: 'async', payload: { sleep_ms: 300, key: `crash${i}` } });
    assert.equal(r.status, 202);
    ids.push(r.body.job_id);
  }
  await sleep(400); // the first job is running, the rest are queued
  s.proc.kill('SIGKILL');
  await s.exited;
  const s2 = await startServer({ dataDir: s.dataDir, removeDataDir: true, args: ['--functions-dir', dir2] });
  const done = await eventually(async () => {
    const r = await rows(s2, 'flaky_done', 'id=like.crash*');
    return r.length === 6 ? r : null;
  }, 15000, 'six jobs after restart');
  assert.deepEqual(done.map((d) => d.job_id).sort(), [...ids].sort());
  await s2.stop({ expectExit0: true });
  fs.rmSync(dir2, { recursive: true, force: true });
});
