// Console sign-in: an admin account made with `basalt admin create` (password
// on stdin), the service_role key, a refused password, and sign-out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAdmin, launch, newPage, noPageErrors, shot, signInAdmin, signInKey, skipReason, startServerRetry } from './lib/browser.mjs';

const skip = skipReason() || false;
const EMAIL = 'admin@example.com';
const PASSWORD = 'e2e-password-123';
let server, browser;

before(async () => {
  if (skip) return;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-test-'));
  await createAdmin(dataDir, EMAIL, PASSWORD);
  server = await startServerRetry({ dataDir, removeDataDir: true });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop({ expectExit0: true });
});

test('sign in with an admin account, see the overview, sign out', { skip }, async () => {
  const page = await newPage(browser);
  await signInAdmin(page, server, EMAIL, PASSWORD);
  await assert.doesNotReject(page.getByRole('heading', { name: 'Overview' }).waitFor());
  assert.equal(await page.locator('.topbar .who').textContent(), EMAIL);
  await page.locator('[data-stat=collections] .value').waitFor();
  assert.equal(await page.locator('[data-stat=collections] .value').textContent(), '0');
  assert.equal(await page.locator('[data-stat=version] .value').textContent(), '0.1.0');
  // the session is in sessionStorage, with the admin token and the project key
  const s = JSON.parse(await page.evaluate(() => sessionStorage.getItem('basalt.console.session')));
  assert.equal(s.kind, 'admin');
  assert.equal(s.apikey, server.serviceKey);
  assert.equal(JSON.parse(Buffer.from(s.token.split('.')[1], 'base64url')).admin, true);
  // charts are drawn after two polls
  await page.waitForFunction(() => document.querySelectorAll('.chart polyline').length >= 1, null, { timeout: 10000 });
  await shot(page, 'signin-overview');
  await page.setViewportSize({ width: 375, height: 800 });
  await shot(page, 'signin-overview-375');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('basalt.console.session')), null);
  noPageErrors(page);
  await page.context().close();
});

test('a wrong password shows the server\'s message', { skip }, async () => {
  const page = await newPage(browser);
  await page.goto(`${server.url}/console`);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: 'Invalid login credentials' }).waitFor();
  await shot(page, 'signin-refused');
  await page.context().close();
});

test('sign in with the service_role key', { skip }, async () => {
  const page = await newPage(browser);
  await signInKey(page, server);
  assert.equal(await page.locator('.topbar .who').textContent(), 'service_role key');
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.locator('#key-service').waitFor();
  assert.equal(await page.locator('#key-service').inputValue(), server.serviceKey);
  assert.equal(await page.locator('#key-anon').inputValue(), server.anonKey);
  await page.locator('#config').waitFor();
  await shot(page, 'signin-key-settings');
  noPageErrors(page);
  await page.context().close();
});
