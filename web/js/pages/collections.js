// collections.js - collections (admin API), their access rules, and their
// documents (the PostgREST /rest/v1 API with the admin's token, live
// through realtime).
//   #/collections            list + create
//   #/collections/NAME       one collection: documents, rules, indexes
import { api, request } from '../api.js';
import { watchCollection } from '../realtime.js';
import { busy, checkJson, confirmDialog, errorBox, field, fmtTime, h, loading, toast } from '../ui.js';

const OPS = ['select', 'insert', 'update', 'delete'];
const PAGE = 20;

function parseIndexes(text) {
  // "owner_id; status,created_at; !email" -> [{fields:[owner_id]}, {fields:[status,created_at]}, {fields:[email],unique:true}]
  return text.split(';').map((s) => s.trim()).filter(Boolean).map((s) => {
    const unique = s.startsWith('!');
    return { fields: s.replace(/^!/, '').split(',').map((f) => f.trim()).filter(Boolean), unique };
  });
}

function indexText(indexes) {
  return (indexes || []).map((i) => `${i.unique ? '!' : ''}${(i.fields || []).join(',')}`).join('; ');
}

export async function render(main, { args, session, go }) {
  const name = args[0] || null;
  main.append(h('h1', null, name ? `Collection ${name}` : 'Collections'));
  const layout = h('div', { class: 'split' });
  const side = h('section', { 'aria-label': 'Collections' });
  const body = h('section', { 'aria-label': name ? `Collection ${name}` : 'Details' });
  layout.append(side, body);
  main.append(layout);

  // ---- list + create ----
  const listEl = h('div', null, loading());
  const listErr = h('div');
  async function loadList() {
    try {
      const cols = await api('/admin/v1/collections');
      const arr = Array.isArray(cols) ? cols : cols.collections || [];
      listEl.replaceChildren(arr.length
        ? h('ul', { class: 'list panel', id: 'collection-list' }, arr.map((c) => h('li', null,
          h('a', { href: `#/collections/${encodeURIComponent(c.name)}`, 'aria-current': c.name === name ? 'page' : null },
            h('span', null, c.name), h('span', { class: 'muted small' }, `${(c.indexes || []).length} idx`)))))
        : h('p', { class: 'muted' }, 'No collections yet.'));
      return arr;
    } catch (e) {
      listEl.replaceChildren(errorBox(e));
      return [];
    }
  }
  const newName = h('input', { type: 'text', name: 'name', required: true, pattern: '[A-Za-z_][A-Za-z0-9_]{0,62}', autocomplete: 'off' });
  const newIdx = h('input', { type: 'text', name: 'indexes', placeholder: 'owner_id; !email', autocomplete: 'off' });
  const createBtn = h('button', { type: 'submit' }, 'Create collection');
  const createForm = h('form', { class: 'panel', 'aria-label': 'Create a collection' },
    h('h2', null, 'New collection'),
    field('Name', newName, 'Letters, digits and underscores.'),
    field('Indexes', newIdx, 'Fields separated by commas, indexes by semicolons; ! makes it unique.'),
    listErr, createBtn);
  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await busy(createBtn, () => api('/admin/v1/collections', { method: 'POST', json: { name: newName.value.trim(), indexes: parseIndexes(newIdx.value) } }), listErr);
    if (r) {
      toast(`Created collection ${r.name}`);
      go('collections', r.name);
    }
  });
  side.append(listEl, name ? h('details', { class: 'panel' }, h('summary', null, 'New collection'), createForm) : createForm);
  await loadList();

  if (!name) {
    body.append(h('p', { class: 'muted' }, 'Choose a collection to see its documents and rules.'));
    return undefined;
  }

  // ---- one collection ----
  let coll;
  try {
    coll = await api(`/admin/v1/collections/${encodeURIComponent(name)}`);
  } catch (e) {
    body.append(errorBox(e));
    return undefined;
  }
  const cleanups = [];
  body.append(await documentsPanel(name, session, cleanups), rulesPanel(coll), indexesPanel(coll), dangerPanel(name, go));
  return () => cleanups.forEach((f) => f());
}

// ---- rules editor ----
function rulesPanel(coll) {
  const rules = coll.rules || {};
  const err = h('div', { 'aria-live': 'polite' });
  const areas = {};
  const fields = OPS.map((op) => {
    const ta = h('textarea', { name: `rule-${op}`, rows: 2, class: 'mono', spellcheck: 'false', placeholder: 'closed (no rule)' });
    ta.value = rules[op] || '';
    areas[op] = ta;
    return field(`${op} rule`, ta);
  });
  const save = h('button', { type: 'submit' }, 'Save rules');
  const form = h('form', { class: 'panel', id: 'rules-form', 'aria-label': 'Access rules' },
    h('h2', null, 'Access rules'),
    h('p', { class: 'muted small' }, 'One expression per operation, e.g. ', h('code', null, 'auth.uid == doc.owner_id || doc.public == true'),
      '. Empty means closed for everyone but the service role.'),
    fields, err, save);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const ta of Object.values(areas)) ta.setAttribute('aria-invalid', 'false');
    const body = {};
    for (const op of OPS) body[op] = areas[op].value.trim() ? areas[op].value.trim() : null;
    const r = await busy(save, async () => {
      try {
        return await api(`/admin/v1/collections/${encodeURIComponent(coll.name)}`, { method: 'PATCH', json: { rules: body } });
      } catch (ex) {
        // "rule for select: unexpected token at position 12" + a caret in details
        const m = /rule for (\w+):.*position (\d+)/.exec(ex.body?.message || ex.message);
        if (m && areas[m[1]]) {
          const ta = areas[m[1]], pos = Number(m[2]);
          ta.setAttribute('aria-invalid', 'true');
          ta.focus();
          ta.setSelectionRange(Math.max(0, pos - 1), Math.min(ta.value.length, pos));
        }
        const box = h('div', { class: 'error', role: 'alert' }, ex.body?.message || ex.message);
        if (ex.body?.details) box.append(h('pre', { class: 'caret' }, ex.body.details));
        err.replaceChildren(box);
        return undefined;
      }
    }, null);
    if (r) {
      err.replaceChildren(h('p', { class: 'ok', role: 'status' }, 'Rules saved.'));
      toast('Rules saved');
    }
  });
  return form;
}

function indexesPanel(coll) {
  const inp = h('input', { type: 'text', name: 'indexes', autocomplete: 'off' });
  inp.value = indexText(coll.indexes);
  const err = h('div');
  const save = h('button', { type: 'submit', class: 'secondary' }, 'Save indexes');
  const form = h('form', { class: 'panel', 'aria-label': 'Indexes' }, h('h2', null, 'Indexes'),
    field('Indexes', inp, 'Replaces the whole set. Fields by commas, indexes by semicolons, ! for unique.'), err, save);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await busy(save, () => api(`/admin/v1/collections/${encodeURIComponent(coll.name)}`, { method: 'PATCH', json: { indexes: parseIndexes(inp.value) } }), err);
    if (r) toast('Indexes saved');
  });
  return form;
}

function dangerPanel(name, go) {
  const err = h('div');
  const del = h('button', { type: 'button', class: 'danger' }, 'Delete collection');
  del.addEventListener('click', async () => {
    if (!(await confirmDialog(`Delete collection ${name} and all its documents?`, { detail: 'This cannot be undone.' }))) return;
    const ok = await busy(del, () => request(`/admin/v1/collections/${encodeURIComponent(name)}`, { method: 'DELETE' }), err);
    if (ok) { toast(`Deleted ${name}`); go('collections'); }
  });
  return h('section', { class: 'panel', 'aria-label': 'Danger zone' }, h('h2', null, 'Danger zone'), err, del);
}

// ---- documents ----
async function documentsPanel(name, session, cleanups) {
  const base = `/rest/v1/${encodeURIComponent(name)}`;
  let offset = 0, total = null, rows = [];
  const filter = h('input', { type: 'text', name: 'filter', placeholder: 'status=eq.open&age=gt.30', autocomplete: 'off', spellcheck: 'false' });
  const order = h('input', { type: 'text', name: 'order', placeholder: 'created_at.desc', autocomplete: 'off', spellcheck: 'false' });
  const apply = h('button', { type: 'submit', class: 'secondary' }, 'Apply');
  const err = h('div', { 'aria-live': 'polite' });
  const live = h('span', { class: 'badge', id: 'live-state' }, 'live: connecting');
  const lastChange = h('span', { class: 'muted small', id: 'last-change', 'aria-live': 'polite' });
  const tableEl = h('div', { class: 'table-wrap' }, loading());
  const pageInfo = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', class: 'secondary small' }, '‹ Previous');
  const next = h('button', { type: 'button', class: 'secondary small' }, 'Next ›');
  const editor = h('div');
  const newBtn = h('button', { type: 'button' }, 'New document');

  async function load(flashId) {
    const q = new URLSearchParams(filter.value.trim());
    q.set('limit', String(PAGE));
    q.set('offset', String(offset));
    if (order.value.trim()) q.set('order', order.value.trim());
    try {
      const r = await request(`${base}?${q}`, { headers: { Prefer: 'count=exact' } });
      rows = Array.isArray(r.data) ? r.data : [];
      const cr = r.headers.get('Content-Range');
      total = cr && /\/(\d+)$/.test(cr) ? Number(cr.split('/')[1]) : null;
      err.replaceChildren();
      draw(flashId);
    } catch (e) {
      err.replaceChildren(errorBox(e));
    }
  }

  function draw(flashId) {
    const cols = ['id'];
    for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
    const shown = cols.slice(0, 8);
    if (!rows.length) {
      tableEl.replaceChildren(h("p", { class: "muted" }, offset ? 'No more documents.' : 'No documents match.'));
    } else {
      tableEl.replaceChildren(h('table', { id: 'docs' },
        h('caption', { class: 'hidden' }, `Documents of ${name}`),
        h('thead', null, h('tr', null, shown.map((c) => h('th', { scope: 'col' }, c)), h('th', { scope: 'col' }, 'Actions'))),
        h('tbody', null, rows.map((r) => h('tr', { 'data-id': r.id, class: r.id === flashId ? 'flash' : null },
          shown.map((c) => {
            const v = r[c];
            const t = v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
            return h('td', { class: 'json' }, t.length > 120 ? `${t.slice(0, 120)}…` : t);
          }),
          h('td', null, h('div', { class: 'actions' },
            h('button', { type: 'button', class: 'secondary small', onclick: () => edit(r), 'aria-label': `Edit document ${r.id}` }, 'Edit'),
            h('button', { type: 'button', class: 'danger small', onclick: (e) => remove(r, e.currentTarget), 'aria-label': `Delete document ${r.id}` }, 'Delete'))))))));
    }
    const end = offset + rows.length;
    pageInfo.textContent = rows.length ? `${offset + 1}–${end}${total !== null ? ` of ${total}` : ''}` : total !== null ? `0 of ${total}` : '';
    prev.disabled = offset === 0;
    next.disabled = total !== null ? end >= total : rows.length < PAGE;
  }

  function edit(doc) {
    const isNew = !doc;
    const ta = h('textarea', { class: 'code', name: 'document', spellcheck: 'false', 'aria-label': isNew ? 'New document JSON' : `Document ${doc.id} JSON` });
    ta.value = JSON.stringify(isNew ? {} : doc, null, 2);
    const msg = h('div', { 'aria-live': 'polite' });
    const save = h('button', { type: 'submit' }, isNew ? 'Insert' : 'Save');
    const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => editor.replaceChildren() }, 'Cancel');
    const form = h('form', { class: 'panel', id: 'doc-editor', 'aria-label': 'Document editor' },
      h('h3', null, isNew ? 'New document' : `Edit ${doc.id}`),
      isNew ? h('p', { class: 'muted small' }, 'Leave out "id" to get a generated one.') : h('p', { class: 'muted small' }, 'Top-level fields are replaced; the id cannot change.'),
      ta, msg, h('div', { class: 'actions' }, save, cancel));
    ta.addEventListener('input', () => checkJson(ta, msg));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const j = checkJson(ta, msg);
      if (!j.ok) { ta.focus(); return; }
      const r = await busy(save, async () => {
        if (isNew) return api(base, { method: 'POST', json: j.value, headers: { Prefer: 'return=representation' } });
        const patch = { ...j.value };
        delete patch.id;
        return api(`${base}?id=eq.${encodeURIComponent(doc.id)}`, { method: 'PATCH', json: patch, headers: { Prefer: 'return=representation' } });
      }, msg);
      if (r) {
        const saved = Array.isArray(r) ? r[0] : r;
        toast(isNew ? 'Document inserted' : 'Document saved');
        editor.replaceChildren();
        await load(saved && saved.id);
      }
    });
    editor.replaceChildren(form);
    ta.focus();
  }

  async function remove(doc, btn) {
    if (!(await confirmDialog(`Delete document ${doc.id}?`))) return;
    const ok = await busy(btn, () => request(`${base}?id=eq.${encodeURIComponent(doc.id)}`, { method: 'DELETE' }), err);
    if (ok) { toast('Document deleted'); load(); }
  }

  const form = h('form', { class: 'row', 'aria-label': 'Filter documents' },
    h('div', { class: 'grow' }, field('Filter', filter, 'PostgREST filters, e.g. status=eq.open or name=ilike.*ann*')),
    h('div', { class: 'grow' }, field('Order', order)),
    h('div', { class: 'field' }, apply));
  form.addEventListener('submit', (e) => { e.preventDefault(); offset = 0; load(); });
  prev.addEventListener('click', () => { offset = Math.max(0, offset - PAGE); load(); });
  next.addEventListener('click', () => { offset += PAGE; load(); });
  newBtn.addEventListener('click', () => edit(null));

  // live updates: reload the page (debounced) and flash the changed row
  let pending = null;
  const w = watchCollection(session, name, {
    onChange: (d) => {
      const id = (d.record && d.record.id) || (d.old_record && d.old_record.id);
      clearTimeout(pending);
      pending = setTimeout(() => load(id), 150);
      lastChange.textContent = `last change: ${String(d.type || 'change').toLowerCase()} ${id || ''} at ${fmtTime(d.commit_timestamp)}`;
    },
    onState: (s, detail) => {
      live.className = `badge ${s === 'joined' ? 'on' : s === 'error' ? 'off' : 'warn'}`;
      live.textContent = s === 'joined' ? 'live' : `live: ${s}${detail ? ` (${detail})` : ''}`;
    },
  });
  cleanups.push(() => { clearTimeout(pending); w.close(); });

  await load();
  return h('section', { class: 'panel', 'aria-label': 'Documents' },
    h('div', { class: 'row' }, h('h2', null, 'Documents'), h('span', { class: 'right' }, lastChange, ' ', live)),
    form, err, h('div', { class: 'actions' }, newBtn), editor, tableEl,
    h('div', { class: 'pager' }, prev, next, pageInfo));
}

export { parseIndexes, indexText };
