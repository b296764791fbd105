// Console operations against the real subsystems: invoke a function,
// re-drive a dead-lettered job, create and ban a user, and upload an image
// whose preview shows and whose thumbnail the example function produces.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, createCollection } from '../js/lib/server.mjs';
import { functionsDir, eventually } from '../js/lib/fnplugins.mjs';
import { confirm, launch, newPage, noPageErrors, shot, signInKey, skipReason, startServerRetry } from './lib/browser.mjs';

const skip = skipReason() || false;
let server, browser, page;

before(async () => {
  if (skip) return;
  const fdir = functionsDir(['hello', 'flaky', 'thumbnail']);
  server = await startServerRetry({ args: ['--functions-dir', fdir, '--function-workers', '2'] });
  await createCollection(server, 'images');
  browser = await launch();
  page = await newPage(browser);
  await signInKey(page, server);
});
after(async () => {
  await browser?.close();
  await server?.stop({ expectExit0: true });
});

test('invoke a function and see its answer', { skip }, async () => {
  await page.getByRole('link', { name: 'Functions' }).click();
  await page.locator('#functions tr[data-name="hello"]').waitFor();
  assert.match(await page.locator('#functions tr[data-name="thumbnail"]').textContent(), /storage: .*images.*prefix uploads\/ suffix \.jpg/);
  await shot(page, 'functions-list');
  await page.getByRole('link', { name: 'hello', exact: true }).click();
  const form = page.locator('#invoke');
  await form.getByLabel('Payload (JSON)').fill('{"name": "Ada"}');
  await form.getByRole('button', { name: 'Invoke' }).click();
  const out = page.locator('#invoke-result');
  await out.locator('pre').waitFor();
  assert.match(await out.textContent(), /^HTTP 200 in [0-9.,]+ ms round trip/);
  assert.deepEqual(JSON.parse(await out.locator('pre').textContent()).message, 'Hello, Ada!');
  // a bad payload never leaves the page
  await form.getByLabel('Payload (JSON)').fill('{oops');
  await form.getByRole('button', { name: 'Invoke' }).click();
  await form.getByText(/Invalid JSON/).waitFor();
  await shot(page, 'functions-invoke');
  noPageErrors(page);
});

test('re-drive a dead-lettered job', { skip }, async () => {
  let r = await request(server, 'PATCH', '/admin/v1/functions/flaky', { json: { retries: 0 } });
  assert.equal(r.status, 200, r.text);
  r = await request(server, 'POST', '/admin/v1/functions/flaky/invoke', { json: { type: 'async', payload: { fail: -1 } } });
  assert.equal(r.status, 202, r.text);
  const job = r.body.job_id;
  await eventually(async () => (await request(server, 'GET', '/admin/v1/functions/dlq')).body.some((j) => j.id === job), 8000, 'the job in the DLQ');
  await page.goto(`${server.url}/console#/functions`);
  const row = page.locator(`#dlq-table tr[data-id="${job}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), /FlakyFailure: failing attempt 1 on purpose/);
  await shot(page, 'functions-dlq');
  await row.getByRole('button', { name: `Re-drive job ${job}` }).click();
  await confirm(page, 'Re-drive');
  await page.getByText(`Job ${job} queued again`).waitFor();
  // it ran a second time (and, failing on purpose, came back to the DLQ)
  await eventually(async () => {
    const f = (await request(server, 'GET', '/admin/v1/functions/flaky')).body;
    return f.metrics.invocations === 2;
  }, 8000, 'the second invocation');
  noPageErrors(page);
});

test('create a user, revoke their sessions, ban them', { skip }, async () => {
  await page.getByRole('link', { name: 'Users' }).click();
  const form = page.locator('#create-user');
  await form.getByLabel('Email', { exact: true }).fill('bob@example.com');
  await form.getByLabel('Password').fill('bob-password-1');
  await form.getByRole('button', { name: 'Create user' }).click();
  const detail = page.locator('#user-detail');
  await detail.getByRole('heading', { name: 'bob@example.com' }).waitFor();
  const row = page.locator('#users tr', { hasText: 'bob@example.com' });
  await row.getByText('active').waitFor();
  // sign out everywhere: the user's refresh token stops working
  const s = await request(server, 'POST', '/auth/v1/token?grant_type=password', { key: 'anon', json: { email: 'bob@example.com', password: 'bob-password-1' } });
  assert.equal(s.status, 200, s.text);
  await detail.getByRole('button', { name: 'Sign out everywhere' }).click();
  await confirm(page, 'Sign out');
  await page.getByText('Sessions revoked').waitFor();
  const rr = await request(server, 'POST', '/auth/v1/token?grant_type=refresh_token', { key: 'anon', json: { refresh_token: s.body.refresh_token } });
  assert.equal(rr.status, 400, rr.text);
  await detail.getByRole('button', { name: 'Ban' }).click();
  await confirm(page, 'Ban');
  await row.getByText('banned').waitFor();
  const id = await row.getAttribute('data-id');
  const u = await request(server, 'GET', `/auth/v1/admin/users/${id}`);
  assert.equal(u.status, 200);
  assert.ok(new Date(u.body.banned_until).getTime() > Date.now() + 365 * 86400e3, `banned_until ${u.body.banned_until}`);
  const signIn = await request(server, 'POST', '/auth/v1/token?grant_type=password', { key: 'anon', json: { email: 'bob@example.com', password: 'bob-password-1' } });
  assert.equal(signIn.status, 400, signIn.text);
  await shot(page, 'users-banned');
  noPageErrors(page);
});

test('upload an image with progress and see its preview', { skip }, async () => {
  await page.getByRole('link', { name: 'Storage' }).click();
  const form = page.locator('#create-bucket');
  await form.getByLabel('Name').fill('images');
  await form.getByLabel('Allowed MIME types').fill('image/*');
  await form.getByRole('button', { name: 'Create bucket' }).click();
  await page.getByRole('heading', { name: 'Bucket images' }).waitFor();
  // a 640x480 JPEG made by the browser itself
  const jpeg = Buffer.from(await page.evaluate(async () => {
    const c = new OffscreenCanvas(640, 480);
    const g = c.getContext('2d');
    const grad = g.createLinearGradient(0, 0, 640, 480);
    grad.addColorStop(0, '#3b5bdb');
    grad.addColorStop(1, '#f59f00');
    g.fillStyle = grad;
    g.fillRect(0, 0, 640, 480);
    const blob = await c.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
    return [...new Uint8Array(await blob.arrayBuffer())];
  }));
  await page.getByLabel('Upload into folder').fill('uploads');
  await page.locator('#upload-input').setInputFiles([{ name: 'cat.jpg', mimeType: 'image/jpeg', buffer: jpeg }]);
  const up = page.locator('li.upload', { hasText: 'cat.jpg' });
  await up.getByText('done').waitFor();
  assert.equal(await up.locator('progress').evaluate((p) => p.value), 100);
  await page.goto(`${server.url}/console#/storage/images/uploads`);
  const row = page.locator('#objects tr[data-name="cat.jpg"]');
  await row.waitFor();
  await row.getByRole('button', { name: 'Preview cat.jpg' }).click();
  const img = page.locator('#preview img');
  await img.waitFor();
  await page.waitForFunction(() => document.querySelector('#preview img').naturalWidth > 0);
  assert.deepEqual(await img.evaluate((i) => [i.naturalWidth, i.naturalHeight]), [640, 480]);
  await shot(page, 'storage-preview');
  // a signed link works without any key
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await row.getByRole('button', { name: 'Copy a signed link to cat.jpg' }).click();
  await page.getByText('Copied to the clipboard').waitFor();
  const link = await page.evaluate(() => navigator.clipboard.readText());
  assert.match(link, new RegExp(`^${server.url}/storage/v1/object/sign/images/uploads/cat\\.jpg\\?token=`));
  const got = await fetch(link);
  assert.equal(got.status, 200);
  assert.deepEqual(Buffer.from(await got.arrayBuffer()), jpeg);
  noPageErrors(page);
});

// The thumbnail example reads the upload above through the functions host's
// storage API (object_read/object_write) and writes thumbnails/cat.jpg.
test('the thumbnail made by the example function shows in the browser', { skip }, async () => {
  // the thumbnail function writes thumbnails/cat.jpg (320x240)
  await eventually(async () => {
    const r = await request(server, 'POST', '/storage/v1/object/list/images', { json: { prefix: 'thumbnails/' } });
    return r.status === 200 && r.body.some((o) => o.name === 'cat.jpg');
  }, 10000, 'the thumbnail');
  await page.goto(`${server.url}/console#/storage/images/thumbnails`);
  const trow = page.locator('#objects tr[data-name="cat.jpg"]');
  await trow.waitFor();
  await trow.getByRole('button', { name: 'Preview cat.jpg' }).click();
  await page.waitForFunction(() => document.querySelector('#preview img')?.naturalWidth > 0);
  assert.deepEqual(await page.locator('#preview img').evaluate((i) => [i.naturalWidth, i.naturalHeight]), [320, 240]);
  await shot(page, 'storage-thumbnail');
  await page.setViewportSize({ width: 375, height: 800 });
  await shot(page, 'storage-thumbnail-375');
  noPageErrors(page);
});
