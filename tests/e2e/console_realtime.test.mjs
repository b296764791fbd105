// The realtime channel rules on the console's Settings page: a rule the
// server refuses is marked at its operation, a good set is saved and is
// what /admin/v1/realtime/rules then holds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from '../js/lib/server.mjs';
import { launch, newPage, noPageErrors, shot, signInKey, skipReason, startServerRetry } from './lib/browser.mjs';

const skip = skipReason() || false;
let server, browser, page;

before(async () => {
  if (skip) return;
  server = await startServerRetry();
  browser = await launch();
  page = await newPage(browser);
  await signInKey(page, server);
});
after(async () => {
  await browser?.close();
  await server?.stop({ expectExit0: true });
});

test('realtime rules: an error at its position, then saved', { skip }, async () => {
  await page.getByRole('link', { name: 'Settings' }).click();
  const form = page.getByRole('form', { name: 'Realtime channel rules' });
  const select = form.getByLabel('select rule');
  await select.fill('doc.owner == auth.uid');
  await form.getByRole('button', { name: 'Save rules' }).click();
  const alert = form.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /rule for select: .*doc\., new\. and object\. are not available at position 1/);
  assert.equal(await select.getAttribute('aria-invalid'), 'true');
  await select.fill('realtime.topic == auth.uid');
  await form.getByLabel('insert rule').fill("realtime.topic == auth.uid && realtime.extension == 'broadcast'");
  await form.getByRole('button', { name: 'Save rules' }).click();
  await form.getByText('Rules saved.').waitFor();
  await shot(page, 'settings-realtime-rules');
  const r = await request(server, 'GET', '/admin/v1/realtime/rules');
  assert.deepEqual(r.body, { select: 'realtime.topic == auth.uid', insert: "realtime.topic == auth.uid && realtime.extension == 'broadcast'" });
  // the page shows the stored set after a reload
  await page.reload();
  await page.getByRole('form', { name: 'Realtime channel rules' }).getByLabel('select rule').waitFor();
  assert.equal(await page.getByRole('form', { name: 'Realtime channel rules' }).getByLabel('select rule').inputValue(), 'realtime.topic == auth.uid');
  noPageErrors(page);
});
