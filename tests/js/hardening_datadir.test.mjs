// The data directory: one server per directory, private files, and a
// `basalt keys` that never rewrites what a running server uses (issue
// "Hardening", items 9 (lock), 14 (modes) and 16).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { createClient } from '@supabase/supabase-js';
import { startServer, basaltBin, request, clients } from './lib/server.mjs';

function run(args, env = {}) {
  return new Promise((resolve) => {
    execFile(basaltBin(), args, { timeout: 15000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...walk(p));
  }
  return out;
}

describe('one server per data directory', () => {
  test('a second serve on the same directory stops with a message naming the first', async () => {
    const server = await startServer();
    try {
      const r = await run(['serve', '--port', '0', '--data', server.dataDir]);
      assert.notEqual(r.code, 0, 'the second server refused to start');
      assert.match(r.stderr, /in use by another basalt server \(pid \d+\)/);
      assert.match(r.stderr, new RegExp(`pid ${server.proc.pid}\\b`));
      // the first one is untouched
      assert.equal((await request(server, 'GET', '/health', { key: null })).status, 200);
    } finally {
      await server.stop({ expectExit0: true });
    }
  });

  test('the lock goes with the process, even when it is killed', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-lock-'));
    const a = await startServer({ dataDir });
    a.proc.kill('SIGKILL');
    await a.exited;
    const b = await startServer({ dataDir });
    await b.stop({ expectExit0: true, removeDataDir: true });
  });
});

describe('changes made by another process', () => {
  test('rules changed by basalt migrate beside a running server take effect without a restart', async () => {
    const server = await startServer();
    const mdir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-mig-'));
    try {
      const c = await request(server, 'POST', '/admin/v1/collections', { json: { name: 'notes' } });
      assert.equal(c.status, 201, c.text);
      await request(server, 'POST', '/rest/v1/notes', { json: { title: 'hello' } });
      const { anon } = clients(server);
      const closed = await anon.from('notes').select('title');
      assert.ok(closed.error, 'closed until a rule opens it');
      fs.writeFileSync(path.join(mdir, '0001_open_notes.sql'),
        `UPDATE _basalt_collections SET rules = '{"select":"true"}' WHERE name = 'notes';\n`);
      const m = await run(['migrate', '--data', server.dataDir, '--migrations-dir', mdir]);
      assert.equal(m.code, 0, m.stderr);
      let data;
      for (let i = 0; i < 40; i++) {
        const r = await anon.from('notes').select('title');
        if (!r.error) { data = r.data; break; }
        await new Promise((res) => setTimeout(res, 100));
      }
      assert.deepEqual(data, [{ title: 'hello' }], 'the new rule is in force');
      assert.match(server.logs(), /changed by another process/);
    } finally {
      fs.rmSync(mdir, { recursive: true, force: true });
      await server.stop({ expectExit0: true });
    }
  });
});

test('realtime channel rules changed by basalt migrate beside a running server take effect', async () => {
  const server = await startServer();
  const mdir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-mig-rt-'));
  const c = createClient(server.url, server.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false }, realtime: { transport: WebSocket } });
  const join = async () => {
    const ch = c.channel('lobby', { config: { private: true } });
    const r = await new Promise((res) => ch.subscribe((status) => { if (status !== 'CLOSED') res(status); }));
    await c.removeChannel(ch);
    return r;
  };
  try {
    assert.equal(await join(), 'CHANNEL_ERROR', 'private channels are closed until a rule opens them');
    fs.writeFileSync(path.join(mdir, '0001_open_lobby.sql'),
      `UPDATE _basalt_realtime_rules SET rules = '{"select":"realtime.topic == ''lobby''"}' WHERE id = 1;\n`);
    const m = await run(['migrate', '--data', server.dataDir, '--migrations-dir', mdir]);
    assert.equal(m.code, 0, m.stderr);
    let status;
    for (let i = 0; i < 30 && status !== 'SUBSCRIBED'; i++) {
      status = await join();
      if (status !== 'SUBSCRIBED') await new Promise((res) => setTimeout(res, 150));
    }
    assert.equal(status, 'SUBSCRIBED', 'the migrated rule is in force');
  } finally {
    c.realtime.disconnect();
    fs.rmSync(mdir, { recursive: true, force: true });
    await server.stop({ expectExit0: true });
  }
});

describe('private files', () => {
  test('everything the server creates in a pre-existing, open directory is 0600 / 0700', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-modes-'));
    fs.chmodSync(dataDir, 0o755);
    const server = await startServer({ dataDir });
    try {
      const { anon } = clients(server);
      const { error } = await anon.auth.signUp({ email: 'modes@example.com', password: 'correct-horse-1' });
      assert.equal(error, null);
      await request(server, 'POST', '/storage/v1/bucket', { json: { id: 'm', name: 'm' } });
      const up = await request(server, 'POST', '/storage/v1/object/m/a/b.txt', { body: 'hello', headers: { 'Content-Type': 'text/plain' } });
      assert.equal(up.status, 200, up.text);
      for (const p of walk(dataDir)) {
        const st = fs.statSync(p);
        const mode = st.mode & 0o777;
        if (st.isDirectory()) assert.equal(mode & 0o077, 0, `${p} is a directory open to others: ${mode.toString(8)}`);
        else assert.equal(mode & 0o077, 0, `${p} is readable by others: ${mode.toString(8)}`);
      }
      assert.match(server.logs(), /data directory .* is open to others/);
    } finally {
      await server.stop({ expectExit0: true, removeDataDir: true });
    }
  });

  test('database files left readable by an older version are tightened at start', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-modes2-'));
    const first = await startServer({ dataDir });
    await first.stop({ expectExit0: true });
    fs.chmodSync(path.join(dataDir, 'basalt.db'), 0o644);
    fs.chmodSync(path.join(dataDir, 'jwt_secret'), 0o644);
    const server = await startServer({ dataDir });
    try {
      assert.equal(fs.statSync(path.join(dataDir, 'basalt.db')).mode & 0o777, 0o600);
      assert.equal(fs.statSync(path.join(dataDir, 'jwt_secret')).mode & 0o777, 0o600);
      assert.match(server.logs(), /basalt\.db was readable by others/);
    } finally {
      await server.stop({ expectExit0: true, removeDataDir: true });
    }
  });
});

describe('basalt keys beside a server', () => {
  const secret = 'a-secret-from-the-environment-0123456789abcdef';

  test('without the secret it refuses and writes nothing; with it, it prints keys that work', async () => {
    const server = await startServer({ env: { BASALT_JWT_SECRET: secret } });
    try {
      const keysFile = path.join(server.dataDir, 'api_keys.json');
      const before = fs.readFileSync(keysFile, 'utf8');
      assert.equal(fs.existsSync(path.join(server.dataDir, 'jwt_secret')), false);
      const env = { BASALT_JWT_SECRET: '' };
      const r = await run(['keys', '--data', server.dataDir, '--json'], env);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /no JWT secret/);
      assert.equal(fs.existsSync(path.join(server.dataDir, 'jwt_secret')), false, 'no secret file was made');
      assert.equal(fs.readFileSync(keysFile, 'utf8'), before, 'api_keys.json untouched');

      const ok = await run(['keys', '--data', server.dataDir, '--json'], { BASALT_JWT_SECRET: secret });
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stderr, /secret: --jwt-secret \/ BASALT_JWT_SECRET/);
      const keys = JSON.parse(ok.stdout);
      assert.equal(keys.service_role, server.serviceKey);
      assert.equal((await request(server, 'GET', '/admin/v1/config', { key: keys.service_role })).status, 200);

      // a wrong secret: keys are printed for it (they would not work here) and nothing is rewritten
      const wrong = await run(['keys', '--data', server.dataDir, '--json', '--jwt-secret', 'another-secret-entirely-0123456789abcdef']);
      assert.equal(wrong.code, 0);
      assert.match(wrong.stderr, /does not hold keys of this secret/);
      assert.equal(fs.readFileSync(keysFile, 'utf8'), before, 'api_keys.json untouched');
    } finally {
      await server.stop({ expectExit0: true });
    }
  });

  test('with the data directory secret it says which file it used', async () => {
    const server = await startServer();
    try {
      const r = await run(['keys', '--data', server.dataDir], { BASALT_JWT_SECRET: '' });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`secret: ${server.dataDir}/jwt_secret`));
      assert.match(r.stdout, new RegExp(server.anonKey.replace(/[.]/g, '\\.')));
    } finally {
      await server.stop({ expectExit0: true });
    }
  });
});
