// rules_form.js - the form that edits a set of access rules (one textarea
// per operation) against an admin endpoint that answers GET with the set
// and PUT with the new one: storage buckets and realtime channels.  A rule
// the server refuses is marked at its operation, with the server's caret.
import { api } from './api.js';
import { busy, errorBox, field, h, toast } from './ui.js';

// base: the endpoint; ops: operation names; id/label: the form's (title:
// its heading, label when absent); prefix:
// the textareas' name prefix; hint: a node or text under the fields;
// saved: the toast text.  Resolves to the form element.
export async function rulesForm({ base, ops, id, label, title, prefix, hint, saved }) {
  const panel = h('form', { class: 'panel', id, 'aria-label': label }, h('h2', null, title || label));
  let rules = {};
  try {
    const r = await api(base);
    rules = r.rules || r || {};
  } catch (e) {
    panel.append(errorBox(e));
    return panel;
  }
  const areas = {};
  for (const op of ops) {
    const ta = h('textarea', { name: `${prefix}-${op}`, rows: 2, class: 'mono', spellcheck: 'false', placeholder: 'closed (no rule)' });
    ta.value = typeof rules[op] === 'string' ? rules[op] : '';
    areas[op] = ta;
    panel.append(field(`${op} rule`, ta));
  }
  const err = h('div', { 'aria-live': 'polite' });
  const save = h('button', { type: 'submit' }, 'Save rules');
  panel.append(h('p', { class: 'muted small' }, ...[].concat(hint)), err, save);
  panel.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {};
    for (const op of ops) body[op] = areas[op].value.trim() || null;
    for (const ta of Object.values(areas)) ta.setAttribute('aria-invalid', 'false');
    const r = await busy(save, async () => {
      try {
        return await api(base, { method: 'PUT', json: body });
      } catch (ex) {
        const m = /rule for (\w+):.*position (\d+)/.exec(ex.body?.message || ex.message);
        if (m && areas[m[1]]) { areas[m[1]].setAttribute('aria-invalid', 'true'); areas[m[1]].focus(); }
        const box = errorBox(ex);
        if (ex.body?.details) box.append(h('pre', null, ex.body.details));
        err.replaceChildren(box);
        return undefined;
      }
    }, null);
    if (r) { err.replaceChildren(h('p', { class: 'ok', role: 'status' }, 'Rules saved.')); toast(saved); }
  });
  return panel;
}
