// Collections in the console: create one with an index, a rule refused at
// its position then accepted, documents added and edited in the JSON
// editor, and a document inserted through the API appearing live.
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

test('create a collection with an index', { skip }, async () => {
  await page.getByRole('link', { name: 'Collections' }).click();
  const form = page.getByRole('form', { name: 'Create a collection' });
  await form.getByLabel('Name').fill('todos');
  await form.getByLabel('Indexes').fill('owner_id; !slug');
  await form.getByRole('button', { name: 'Create collection' }).click();
  await page.getByRole('heading', { name: 'Collection todos' }).waitFor();
  await page.locator('#collection-list a', { hasText: 'todos' }).waitFor();
  const r = await request(server, 'GET', '/admin/v1/collections/todos');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.indexes.map((i) => [i.fields, !!i.unique]), [[['owner_id'], false], [['slug'], true]]);
  // a duplicate shows the server's message
  await page.locator('summary', { hasText: 'New collection' }).click(); // the form folds away once a collection is open
  await form.getByLabel('Name').fill('todos');
  await form.getByRole('button', { name: 'Create collection' }).click();
  await form.getByRole('alert').filter({ hasText: 'already exists' }).waitFor();
});

test('a rule with an error is shown at its position, then saved', { skip }, async () => {
  const rules = page.locator('#rules-form');
  const select = rules.getByLabel('select rule');
  await select.fill('auth.uid == == doc.owner_id');
  await rules.getByRole('button', { name: 'Save rules' }).click();
  const alert = rules.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /rule for select: .* at position 13/);
  assert.equal(await select.getAttribute('aria-invalid'), 'true');
  // the caret under the offending token
  assert.match(await rules.locator('pre.caret').textContent(), /^auth\.uid == == doc\.owner_id\n {12}\^$/);
  const sel = await select.evaluate((t) => [t.selectionStart, t.selectionEnd]);
  assert.deepEqual(sel, [12, 13]);
  await shot(page, 'collections-rule-error');
  await select.fill('auth.uid == doc.owner_id || doc.public == true');
  await rules.getByRole('button', { name: 'Save rules' }).click();
  await rules.getByText('Rules saved.').waitFor();
  assert.equal(await select.getAttribute('aria-invalid'), 'false');
  const r = await request(server, 'GET', '/admin/v1/collections/todos');
  assert.deepEqual(r.body.rules, { select: 'auth.uid == doc.owner_id || doc.public == true' });
});

test('add and edit a document', { skip }, async () => {
  await page.getByRole('button', { name: 'New document' }).click();
  const editor = page.locator('#doc-editor');
  const ta = editor.getByRole('textbox');
  await ta.fill('{"title": "first", ');
  await editor.getByText(/Invalid JSON/).waitFor();
  assert.equal(await ta.getAttribute('aria-invalid'), 'true');
  await ta.fill('{"id": "doc-1", "title": "first", "done": false, "owner_id": "u1"}');
  await editor.getByRole('button', { name: 'Insert' }).click();
  const row = page.locator('#docs tr[data-id="doc-1"]');
  await row.waitFor();
  assert.match(await row.textContent(), /first/);
  await row.getByRole('button', { name: 'Edit document doc-1' }).click();
  const ta2 = page.locator('#doc-editor').getByRole('textbox');
  const doc = JSON.parse(await ta2.inputValue());
  assert.equal(doc.title, 'first');
  doc.title = 'edited';
  doc.done = true;
  await ta2.fill(JSON.stringify(doc, null, 2));
  await page.locator('#doc-editor').getByRole('button', { name: 'Save' }).click();
  await page.locator('#docs tr[data-id="doc-1"]', { hasText: 'edited' }).waitFor();
  const r = await request(server, 'GET', '/rest/v1/todos?id=eq.doc-1');
  assert.equal(r.body.length, 1);
  assert.equal(r.body[0].title, 'edited');
  assert.equal(r.body[0].done, true);
  noPageErrors(page);
});

test('a document inserted through the API appears live', { skip }, async () => {
  await page.locator('#live-state', { hasText: /^live$/ }).waitFor({ timeout: 10000 });
  const r = await request(server, 'POST', '/rest/v1/todos', { json: { id: 'from-api', title: 'pushed by the API', owner_id: 'u2' } });
  assert.equal(r.status, 201, r.text);
  await page.locator('#docs tr[data-id="from-api"]', { hasText: 'pushed by the API' }).waitFor({ timeout: 5000 });
  assert.match(await page.locator('#last-change').textContent(), /^last change: insert from-api at /);
  assert.equal(await page.locator('#docs tbody tr').count(), 2);
  await shot(page, 'collections-documents');
  await page.setViewportSize({ width: 375, height: 800 });
  await shot(page, 'collections-documents-375');
  await page.setViewportSize({ width: 1200, height: 900 });
  // a filter narrows the table
  await page.getByLabel('Filter', { exact: true }).fill('title=eq.edited');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#docs tbody tr').length === 1);
  assert.equal(await page.locator('#docs tbody tr').getAttribute('data-id'), 'doc-1');
  noPageErrors(page);
});

test('delete a document and the collection after confirming', { skip }, async () => {
  await page.getByLabel('Filter', { exact: true }).fill('');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.getByRole('button', { name: 'Delete document from-api' }).click();
  await page.locator('dialog[open]').getByRole('button', { name: 'Delete' }).click();
  await page.locator('#docs tr[data-id="from-api"]').waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Delete collection' }).click();
  const dlg = page.locator('dialog[open]');
  assert.match(await dlg.textContent(), /Delete collection todos and all its documents\?/);
  await dlg.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('heading', { name: 'Collections', exact: true }).waitFor();
  const r = await request(server, 'GET', '/admin/v1/collections/todos');
  assert.equal(r.status, 404);
});
