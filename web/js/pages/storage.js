// storage.js - buckets and objects through the storage API (/storage/v1)
// and bucket rules through /admin/v1/buckets/NAME/rules.
//   #/storage                 buckets + create
//   #/storage/BUCKET[/a/b]    folder browser of BUCKET at prefix a/b/
import { api, encodePath, request, uploadWithProgress } from '../api.js';
import { rulesForm } from '../rules_form.js';
import { busy, checkbox, confirmDialog, copyText, errorBox, field, fmtBytes, fmtTime, h, loading, toast } from '../ui.js';

const OPS = ['select', 'insert', 'update', 'delete'];
const S = '/storage/v1';

function parseSize(s) {
  s = String(s || '').trim();
  if (!s) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(s);
  if (!m) throw new Error(`"${s}" is not a size (use e.g. 500KB or 10MB)`);
  const mult = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] || 'b').toLowerCase()];
  return Math.round(Number(m[1]) * mult);
}

const isImage = (o) => /^image\//.test(o.metadata?.mimetype || '') || /\.(png|jpe?g|gif|webp|svg)$/i.test(o.name);

export async function render(main, { args, go }) {
  const bucket = args[0] || null;
  const prefix = args.slice(1).join('/');
  main.append(h('h1', null, bucket ? `Bucket ${bucket}` : 'Storage'));
  const layout = h('div', { class: 'split' });
  const side = h('section', { 'aria-label': 'Buckets' });
  const body = h('section', { 'aria-label': bucket ? `Bucket ${bucket}` : 'Details' });
  layout.append(side, body);
  main.append(layout);

  // ---- buckets ----
  const listEl = h('div', null, loading());
  try {
    const buckets = await api(`${S}/bucket`);
    listEl.replaceChildren(buckets.length
      ? h('ul', { class: 'list panel', id: 'bucket-list' }, buckets.map((b) => h('li', null,
        h('a', { href: `#/storage/${encodeURIComponent(b.id)}`, 'aria-current': b.id === bucket ? 'page' : null },
          h('span', null, b.name || b.id), h('span', { class: `badge ${b.public ? 'warn' : ''}` }, b.public ? 'public' : 'private')))))
      : h('p', { class: 'muted' }, 'No buckets yet.'));
  } catch (e) {
    listEl.replaceChildren(errorBox(e));
  }
  const id = h('input', { type: 'text', name: 'bucket', required: true, autocomplete: 'off' });
  const pub = checkbox('Public (objects readable without a key)', { name: 'public' });
  const size = h('input', { type: 'text', name: 'file_size_limit', placeholder: 'e.g. 10MB', autocomplete: 'off' });
  const mimes = h('input', { type: 'text', name: 'allowed_mime_types', placeholder: 'image/*, application/pdf', autocomplete: 'off' });
  const cErr = h('div');
  const cBtn = h('button', { type: 'submit' }, 'Create bucket');
  const create = h('form', { class: 'panel', id: 'create-bucket', 'aria-label': 'Create a bucket' }, h('h2', null, 'New bucket'),
    field('Name', id), h('div', { class: 'field' }, pub.el), field('Size limit per file', size), field('Allowed MIME types', mimes, 'Comma separated; empty allows any.'), cErr, cBtn);
  create.addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await busy(cBtn, () => {
      const body = { id: id.value.trim(), name: id.value.trim(), public: pub.input.checked };
      const lim = parseSize(size.value);
      if (lim !== undefined) body.file_size_limit = lim;
      const m = mimes.value.split(',').map((x) => x.trim()).filter(Boolean);
      if (m.length) body.allowed_mime_types = m;
      return api(`${S}/bucket`, { method: 'POST', json: body });
    }, cErr);
    if (r) { toast(`Created bucket ${r.name || id.value}`); go('storage', id.value.trim()); }
  });
  side.append(listEl, bucket ? h('details', { class: 'panel' }, h('summary', null, 'New bucket'), create) : create);

  if (!bucket) {
    body.append(h('p', { class: 'muted' }, 'Choose a bucket to browse its files.'));
    return undefined;
  }
  let b;
  try { b = await api(`${S}/bucket/${encodeURIComponent(bucket)}`); } catch (e) { body.append(errorBox(e)); return undefined; }
  const urls = [];
  body.append(browser(b, prefix, go, urls), await rulesPanel(b), settingsPanel(b, go));
  return () => urls.forEach((u) => URL.revokeObjectURL(u));
}

// ---- folder browser, upload, preview ----
function browser(b, prefix, go, urls) {
  const panel = h('section', { class: 'panel', 'aria-label': 'Files' });
  const dir = prefix ? `${prefix.replace(/\/+$/, '')}/` : '';
  const segs = dir.split('/').filter(Boolean);
  const crumbs = h('nav', { class: 'crumbs', 'aria-label': 'Folder' },
    h('a', { href: `#/storage/${encodeURIComponent(b.id)}` }, b.id),
    segs.map((s, i) => [' / ', h('a', { href: `#/storage/${[b.id, ...segs.slice(0, i + 1)].map(encodeURIComponent).join('/')}` }, s)]));
  const err = h('div', { 'aria-live': 'polite' });
  const tableEl = h('div', { class: 'table-wrap' }, loading());
  const preview = h('div', { 'aria-live': 'polite' });

  async function list() {
    try {
      const items = await api(`${S}/object/list/${encodeURIComponent(b.id)}`, { method: 'POST', json: { prefix: dir, limit: 1000, offset: 0, sortBy: { column: 'name', order: 'asc' } } });
      draw(items || []);
    } catch (e) {
      err.replaceChildren(errorBox(e));
      tableEl.replaceChildren();
    }
  }

  async function blobOf(path) {
    const res = await request(`${S}/object/${encodeURIComponent(b.id)}/${encodePath(path)}`, { raw: true });
    const blob = await res.blob();
    const u = URL.createObjectURL(blob);
    urls.push(u);
    return u;
  }

  function draw(items) {
    if (!items.length) { tableEl.replaceChildren(h('p', { class: 'muted' }, 'This folder is empty.')); return; }
    tableEl.replaceChildren(h('table', { id: 'objects' },
      h('thead', null, h('tr', null, ['Name', 'Size', 'Type', 'Updated', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, items.map((o) => {
        const path = dir + o.name;
        if (o.id === null || !o.metadata) {
          return h('tr', { 'data-folder': o.name },
            h('td', null, h('a', { href: `#/storage/${[b.id, ...path.split('/')].map(encodeURIComponent).join('/')}` }, `📁 ${o.name}/`)),
            h('td', null, ''), h('td', null, 'folder'), h('td', null, ''), h('td', null, ''));
        }
        const thumbCell = h('td', null);
        const row = h('tr', { 'data-name': o.name },
          h('td', null, thumbCell, ' ', o.name),
          h('td', null, fmtBytes(o.metadata.size)),
          h('td', null, o.metadata.mimetype || ''),
          h('td', null, fmtTime(o.updated_at)),
          h('td', null, h('div', { class: 'actions' },
            isImage(o) ? h('button', { type: 'button', class: 'secondary small', onclick: (e) => show(path, o, e.currentTarget), 'aria-label': `Preview ${o.name}` }, 'Preview') : null,
            h('button', { type: 'button', class: 'secondary small', onclick: (e) => download(path, o, e.currentTarget), 'aria-label': `Download ${o.name}` }, 'Download'),
            h('button', { type: 'button', class: 'secondary small', onclick: (e) => sign(path, e.currentTarget), 'aria-label': `Copy a signed link to ${o.name}` }, 'Signed link'),
            h('button', { type: 'button', class: 'danger small', onclick: (e) => remove(path, e.currentTarget), 'aria-label': `Delete ${o.name}` }, 'Delete'))));
        if (isImage(o) && (o.metadata.size || 0) < 2 * 1024 * 1024) {
          blobOf(path).then((u) => thumbCell.replaceChildren(h('img', { class: 'thumb', src: u, alt: '' }))).catch(() => {});
        }
        return row;
      }))));
  }

  async function show(path, o, btn) {
    const u = await busy(btn, () => blobOf(path), err);
    if (!u) return;
    preview.replaceChildren(h('figure', { class: 'panel', id: 'preview' },
      h('img', { class: 'preview', src: u, alt: `Preview of ${o.name}` }),
      h('figcaption', { class: 'muted small' }, `${path} · ${fmtBytes(o.metadata.size)} · ${o.metadata.mimetype}`),
      h('button', { type: 'button', class: 'link', onclick: () => preview.replaceChildren() }, 'Close preview')));
  }

  async function download(path, o, btn) {
    const u = await busy(btn, () => blobOf(path), err);
    if (!u) return;
    const a = h('a', { href: u, download: o.name, class: 'hidden' });
    document.body.append(a);
    a.click();
    a.remove();
  }

  async function sign(path, btn) {
    const r = await busy(btn, () => api(`${S}/object/sign/${encodeURIComponent(b.id)}/${encodePath(path)}`, { method: 'POST', json: { expiresIn: 3600 } }), err);
    if (r && r.signedURL) await copyText(`${location.origin}${S}${r.signedURL}`);
  }

  async function remove(path, btn) {
    if (!(await confirmDialog(`Delete ${path}?`))) return;
    const r = await busy(btn, () => api(`${S}/object/${encodeURIComponent(b.id)}`, { method: 'DELETE', json: { prefixes: [path] } }), err);
    if (r) { toast(`Deleted ${path}`); list(); }
  }

  // upload: several files, drag and drop, one progress bar per file
  const files = h('input', { type: 'file', multiple: true, name: 'files', id: 'upload-input' });
  const folder = h('input', { type: 'text', name: 'folder', autocomplete: 'off', value: dir });
  const upsert = checkbox('Overwrite existing files', { name: 'upsert' });
  const progressList = h('ul', { class: 'list', 'aria-label': 'Uploads' });
  const zone = h('div', { class: 'dropzone', id: 'dropzone' }, 'Drop files here, or ', h('label', { for: files.id, class: 'button secondary small' }, 'choose files'));
  files.classList.add('hidden');
  async function uploadAll(list) {
    const target = folder.value.trim().replace(/^\/+/, '');
    const base = target && !target.endsWith('/') ? `${target}/` : target;
    for (const f of list) {
      const bar = h('progress', { max: 100, value: 0, 'aria-label': `Upload of ${f.name}` });
      const state = h('span', { class: 'small' }, 'waiting');
      progressList.append(h('li', { class: 'upload' }, h('div', { class: 'row' }, h('span', { class: 'grow' }, f.name), state), bar));
      try {
        await uploadWithProgress(`${S}/object/${encodeURIComponent(b.id)}/${encodePath(base + f.name)}`, f, {
          headers: { 'Content-Type': f.type || 'application/octet-stream', 'x-upsert': upsert.input.checked ? 'true' : 'false', 'cache-control': 'max-age=3600' },
          onProgress: (done, total) => { bar.value = Math.round((done / total) * 100); state.textContent = `${fmtBytes(done)} / ${fmtBytes(total)}`; },
        });
        bar.value = 100;
        state.textContent = 'done';
        state.className = 'small ok';
      } catch (e) {
        state.replaceChildren(h('span', { class: 'error' }, e.message));
      }
    }
    list.length && toast(`Uploaded ${list.length} file${list.length > 1 ? 's' : ''}`);
    await list_();
  }
  const list_ = list;
  files.addEventListener('change', () => { uploadAll([...files.files]); files.value = ''; });
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => { e.preventDefault(); zone.classList.remove('over'); uploadAll([...e.dataTransfer.files]); });

  panel.append(h('h2', null, 'Files'), crumbs,
    h('div', { class: 'row' }, h('div', { class: 'grow' }, field('Upload into folder', folder)), h('div', { class: 'field' }, upsert.el)),
    zone, files, progressList, err, preview, tableEl);
  list();
  return panel;
}

// ---- bucket rules ----
function rulesPanel(b) {
  return rulesForm({
    base: `/admin/v1/buckets/${encodeURIComponent(b.id)}/rules`, ops: OPS, id: 'bucket-rules', label: 'Bucket rules', title: 'Access rules',
    prefix: 'bucket-rule', saved: 'Bucket rules saved',
    hint: ['Over object.* (bucket, name, owner, size, content_type), e.g. ', h('code', null, 'auth.uid == object.owner')],
  });
}

function settingsPanel(b, go) {
  const err = h('div');
  const pub = checkbox('Public', { checked: !!b.public, name: 'public' });
  const size = h('input', { type: 'text', name: 'file_size_limit', value: b.file_size_limit ? String(b.file_size_limit) : '', autocomplete: 'off' });
  const mimes = h('input', { type: 'text', name: 'allowed_mime_types', value: (b.allowed_mime_types || []).join(', '), autocomplete: 'off' });
  const save = h('button', { type: 'submit', class: 'secondary' }, 'Save settings');
  const form = h('form', { 'aria-label': 'Bucket settings' }, h('div', { class: 'field' }, pub.el), field('Size limit per file (bytes or 10MB)', size), field('Allowed MIME types', mimes), save);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await busy(save, () => {
      const m = mimes.value.split(',').map((x) => x.trim()).filter(Boolean);
      return api(`${S}/bucket/${encodeURIComponent(b.id)}`, { method: 'PUT', json: { id: b.id, name: b.id, public: pub.input.checked, file_size_limit: parseSize(size.value) ?? null, allowed_mime_types: m.length ? m : null } });
    }, err);
    if (r) toast('Bucket settings saved');
  });
  const del = h('button', { type: 'button', class: 'danger' }, 'Empty and delete bucket');
  del.addEventListener('click', async () => {
    if (!(await confirmDialog(`Delete bucket ${b.id} and every file in it?`, { detail: 'This cannot be undone.' }))) return;
    const r = await busy(del, async () => {
      await api(`${S}/bucket/${encodeURIComponent(b.id)}/empty`, { method: 'POST', json: {} });
      return api(`${S}/bucket/${encodeURIComponent(b.id)}`, { method: 'DELETE', json: {} });
    }, err);
    if (r) { toast(`Deleted bucket ${b.id}`); go('storage'); }
  });
  return h('section', { class: 'panel', 'aria-label': 'Bucket settings' }, h('h2', null, 'Settings'), err, form, h('h3', null, 'Danger zone'), del);
}

export { parseSize };
