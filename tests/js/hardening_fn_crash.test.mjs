// A trigger that crashes the server must not crash it again on every
// restart: the attempt is recorded before the handler runs, so a job whose
// attempts ended with the process is retried with backoff up to its retries
// and then dead-lettered, and the server comes up for good.  The plugin is
// the test fixture tests/js/fixtures/crash_plugin.c (abort() on a document
// with "crash": true).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, startServer, request, admin, createCollection, sleep } from './lib/server.mjs';
import { functionsDir, buildPlugin, eventually, rows } from './lib/fnplugins.mjs';

const FIXTURE = path.join(ROOT, 'tests/js/fixtures/crash_plugin.c');
const RETRIES = 2; // the fixture's manifest: 1 try + 2 retries

/** 'died' if the server exits within ms, else 'up'. */
async function outcome(server, ms) {
  let timer;
  const r = await Promise.race([
    server.exited.then(() => 'died'),
    new Promise((res) => { timer = setTimeout(() => res('up'), ms); }),
  ]);
  clearTimeout(timer);
  return r;
}

test('a poisoned document crashes the server at most retries + 1 times, then is dead-lettered', async () => {
  const fdir = functionsDir([]);
  buildPlugin(fs.readFileSync(FIXTURE, 'utf8'), path.join(fdir, 'crash.so'));
  const opts = { args: ['--functions-dir', fdir], env: { BASALT_FN_BACKOFF_MS: '100' } };
  let s = await startServer(opts);
  const dataDir = s.dataDir;
  let up = null;
  try {
    await createCollection(s, 'poison');
    const ok = await request(s, 'POST', '/rest/v1/poison', { json: { id: 'before', crash: false } });
    assert.equal(ok.status, 201, ok.text);
    await eventually(async () => (await rows(s, 'poison_done')).length === 1, 8000, 'the healthy job before');

    // The insert commits before its job runs: the reply may or may not make
    // it out before the process aborts.
    await request(s, 'POST', '/rest/v1/poison', { json: { id: 'bad', crash: true } }).catch(() => null);
    assert.equal(await outcome(s, 10000), 'died', 'the poisoned job kills the server');
    let deaths = 1;

    // Restart on the same data dir until the server stays up (bounded: a
    // crash loop fails the test).
    for (let i = 0; i < 2 * (RETRIES + 2) && !up; i++) {
      let s2;
      try {
        s2 = await startServer({ ...opts, dataDir });
      } catch (e) {
        if (!/exited during start-up/.test(e.message)) throw e;
        deaths++;
        continue;
      }
      if ((await outcome(s2, 3000)) === 'died') deaths++;
      else up = s2;
    }
    assert.ok(up, `the server never stayed up (${deaths} deaths)`);
    assert.equal(deaths, RETRIES + 1, 'one death per allowed attempt, no more');

    const dlq = await eventually(async () => {
      const r = await admin(up, 'GET', '/functions/dlq?function=crash');
      return r.status === 200 && r.body.length === 1 ? r.body : null;
    }, 8000, 'the dead letter');
    assert.equal(dlq[0].attempts, RETRIES + 1);
    assert.match(dlq[0].last_error, /process died during the attempt/);
    assert.equal(dlq[0].event.new.id, 'bad');

    // A healthy job inserted after still runs, and the server stays up.
    const good = await request(up, 'POST', '/rest/v1/poison', { json: { id: 'after', crash: false } });
    assert.equal(good.status, 201, good.text);
    const done = await eventually(async () => {
      const r = await rows(up, 'poison_done', 'id=eq.after');
      return r.length === 1 ? r : null;
    }, 8000, 'the healthy job after');
    assert.equal(done[0].attempt, 1);
    await sleep(300);
    assert.equal(up.exitCode, undefined, 'still running');
  } finally {
    if (up) await up.stop({ expectExit0: true, removeDataDir: true });
    else fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(fdir, { recursive: true, force: true });
  }
});

test('a job killed mid-run counts the attempt: ctx->attempt is 2 after the restart', async () => {
  const fdir = functionsDir(['flaky']);
  const opts = { args: ['--functions-dir', fdir, '--function-workers', '1'], env: { BASALT_FN_BACKOFF_MS: '100' } };
  const s = await startServer(opts);
  let r;
  try {
    r = await admin(s, 'POST', '/functions/flaky/invoke', { type: 'async', payload: { sleep_ms: 900, key: 'slow' } });
    assert.equal(r.status, 202, r.text);
    // the attempt is on disk while the handler runs
    const job = await eventually(() => {
      const t = execFileSync('sqlite3', ['-json', path.join(s.dataDir, 'basalt.db'),
        'SELECT attempt, last_error FROM _basalt_fn_jobs'], { encoding: 'utf8' }).trim();
      const j = t ? JSON.parse(t) : [];
      return j.length === 1 && j[0].attempt === 1 ? j[0] : null;
    }, 5000, 'the attempt recorded before the handler runs');
    assert.match(job.last_error, /process died during the attempt/);
  } finally {
    s.proc.kill('SIGKILL');
    await s.exited;
  }
  const s2 = await startServer({ ...opts, dataDir: s.dataDir });
  try {
    const done = await eventually(async () => {
      const d = await rows(s2, 'flaky_done', 'id=eq.slow');
      return d.length === 1 ? d : null;
    }, 10000, 'the job after the restart');
    assert.equal(done[0].attempts, 2, 'the killed try was attempt 1');
    assert.equal(done[0].job_id, r.body.job_id);
  } finally {
    await s2.stop({ expectExit0: true, removeDataDir: true });
    fs.rmSync(fdir, { recursive: true, force: true });
  }
});
