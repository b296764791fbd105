// Helpers for the function tests: the example plugins built next to the
// binary, and test plugins compiled on the fly with cc against the public
// header only (-fvisibility=hidden, like a plugin author would).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, basaltBin, request, sleep } from './server.mjs';

export const EXAMPLES = path.join(path.dirname(basaltBin()), 'functions', 'examples');
export const INCLUDE = path.join(ROOT, 'functions', 'include');

/** A fresh functions dir with copies of the named example plugins. */
export function functionsDir(examples = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-fn-'));
  for (const e of examples) fs.copyFileSync(path.join(EXAMPLES, `${e}.so`), path.join(dir, `${e}.so`));
  return dir;
}

/** Compile C source to outPath (atomically: build beside it, then rename). */
export function buildPlugin(source, outPath) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-fnsrc-'));
  const src = path.join(dir, 'p.c');
  fs.writeFileSync(src, source);
  const tmp = path.join(dir, 'p.so');
  execFileSync('cc', ['-std=c11', '-O1', '-shared', '-fPIC', '-fvisibility=hidden', `-I${INCLUDE}`, '-o', tmp, src]);
  fs.renameSync(tmp, outPath);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Poll fn() until it returns a truthy value (or throw after ms). */
export async function eventually(fn, ms = 8000, what = 'condition') {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Rows of a collection as service_role ([] when it does not exist yet). */
export async function rows(server, coll, query = '') {
  const r = await request(server, 'GET', `/rest/v1/${coll}${query ? `?${query}` : ''}`);
  return r.status === 200 ? r.body : [];
}
