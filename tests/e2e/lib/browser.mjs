// Browser-test helpers: Debian's headless Chromium driven by playwright-core
// (no downloaded browser), a page signed in to the console, screenshots in
// tests/out/e2e/.
//
//   const b = await launch();                 // null when Chromium is missing
//   const page = await b.newPage({ viewport: { width: 1200, height: 900 } });
//   await signInAdmin(page, server, email, password);
//   await shot(page, 'name');                 // tests/out/e2e/name.png
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { ROOT, basaltBin } from '../../js/lib/server.mjs';

export const CHROMIUM = process.env.BASALT_CHROMIUM || '/usr/bin/chromium';
export const OUT = path.join(ROOT, 'tests', 'out', 'e2e');

// Without the background-networking flags Chromium keeps trying to reach
// Google's services, which this machine's closed network punishes.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-extensions', '--metrics-recording-only', '--no-default-browser-check'];

/** Why the browser tests cannot run here, or null. */
export function skipReason() {
  if (!fs.existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (scripts/deps.sh test installs it)`;
  if (!fs.existsSync(path.join(ROOT, 'node_modules', 'playwright-core'))) return 'playwright-core is not installed (npm ci)';
  return null;
}

export async function launch() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30000 });
}

/** A page that fails the test on uncaught page errors and logs console errors. */
export async function newPage(browser, width = 1200, height = 900) {
  const ctx = await browser.newContext({ viewport: { width, height } });
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(`console: ${m.text()}`); });
  page.setDefaultTimeout(10000);
  return page;
}

export async function shot(page, name) {
  fs.mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
}

/** `basalt admin create EMAIL --data DIR` with the password on stdin. */
export function createAdmin(dataDir, email, password) {
  return new Promise((resolve, reject) => {
    const p = spawn(basaltBin(), ['admin', 'create', email, '--data', dataDir], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    p.stdin.on('error', () => {});
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`basalt admin create exited ${code}: ${err}`))));
    p.stdin.end(`${password}\n`);
  });
}

export async function signInAdmin(page, server, email, password) {
  await page.goto(`${server.url}/console`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('navigation', { name: 'Sections' }).waitFor();
}

export async function signInKey(page, server) {
  await page.goto(`${server.url}/console`);
  await page.getByRole('tab', { name: 'Service key' }).click();
  await page.locator('textarea[name=service_key]').fill(server.serviceKey);
  await page.getByRole('button', { name: 'Sign in with key' }).click();
  await page.getByRole('navigation', { name: 'Sections' }).waitFor();
}

/** Accept the confirmation dialog the console opens before destructive actions. */
export async function confirm(page, label) {
  const dlg = page.locator('dialog[open]');
  await dlg.waitFor();
  await dlg.getByRole('button', { name: label }).click();
}

export function noPageErrors(page) {
  assert.deepEqual(page.errors.filter((e) => !/Failed to load resource/.test(e)), [], 'no errors in the page');
}

/** startServer, tried again when the free port it picked was taken before
 * the server bound it (test files run in parallel; the pick is racy). */
export async function startServerRetry(opts = {}) {
  const { startServer } = await import('../../js/lib/server.mjs');
  for (let i = 0; ; i++) {
    try {
      return await startServer(opts);
    } catch (e) {
      if (i >= 2 || !/Address already in use|cannot listen/.test(e.message)) throw e;
    }
  }
}
