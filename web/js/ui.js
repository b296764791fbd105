// ui.js - small DOM helpers shared by the pages: an element builder,
// toasts, confirmation dialogs, busy buttons, error boxes, formatting.
// Everything builds real elements (never innerHTML with data), so server
// text can never become markup.

// h('button', {class: 'x', onclick: fn, 'aria-label': 'Close'}, 'text', child…)
export function h(tag, attrs, ...children) {
  const el = tag === 'svg' || tag === 'path' || tag === 'polyline' || tag === 'line' || tag === 'rect' || tag === 'text'
    ? document.createElementNS('http://www.w3.org/2000/svg', tag)
    : document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.setAttribute('class', v);
      else if (k === 'text') el.textContent = v;
      else if (k === 'value' && 'value' in el) el.value = v;
      else if (k === 'checked' || k === 'disabled' || k === 'selected') el[k] = !!v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let idSeq = 0;
export const uid = (p = 'f') => `${p}-${++idSeq}`;

// A labelled control: field('Name', h('input', {...})).  Gives the control
// an id when it has none and ties the label to it.
export function field(label, control, hint) {
  if (!control.id) control.id = uid();
  const parts = [h('label', { for: control.id }, label), control];
  if (hint) {
    const hid = uid('hint');
    control.setAttribute('aria-describedby', hid);
    parts.push(h('div', { id: hid, class: 'muted small' }, hint));
  }
  return h('div', { class: 'field' }, parts);
}

export function checkbox(label, attrs = {}) {
  const input = h('input', { type: 'checkbox', ...attrs });
  return { input, el: h('label', { class: 'check' }, input, label) };
}

export function toast(message, bad = false) {
  const box = document.getElementById('toasts');
  if (!box) return;
  const t = h('div', { class: `toast${bad ? ' bad' : ''}`, role: bad ? 'alert' : null }, message);
  box.append(t);
  setTimeout(() => t.remove(), bad ? 8000 : 4000);
}

export function errorBox(err) {
  return h('div', { class: 'error', role: 'alert' }, err && err.message ? err.message : String(err));
}

// Show err in container (replacing what is there), or clear it.
export function showError(container, err) {
  container.replaceChildren(err ? errorBox(err) : '');
}

// Ask before a destructive action.  Resolves true when confirmed.
export function confirmDialog(message, { confirmLabel = 'Delete', danger = true, detail } = {}) {
  return new Promise((resolve) => {
    const ok = h('button', { class: danger ? 'danger' : '', type: 'button' }, confirmLabel);
    const cancel = h('button', { class: 'secondary', type: 'button' }, 'Cancel');
    const titleId = uid('dlg');
    const dlg = h('dialog', { 'aria-labelledby': titleId, class: 'confirm' },
      h('p', { id: titleId }, h('strong', null, message)),
      detail ? h('p', { class: 'muted small' }, detail) : null,
      h('div', { class: 'actions' }, ok, cancel));
    const done = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    ok.addEventListener('click', () => done(true));
    cancel.addEventListener('click', () => done(false));
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); done(false); });
    document.body.append(dlg);
    dlg.showModal();
    cancel.focus();
  });
}

// Run fn while the button shows progress; errors go to errEl (or a toast).
// Returns fn's result, or undefined after a failure.
export async function busy(button, fn, errEl) {
  const label = button ? button.textContent : '';
  if (button) {
    button.disabled = true;
    button.replaceChildren(h('span', { class: 'spinner', 'aria-hidden': 'true' }), label);
    button.setAttribute('aria-busy', 'true');
  }
  if (errEl) errEl.replaceChildren();
  try {
    return await fn();
  } catch (e) {
    if (errEl) errEl.replaceChildren(errorBox(e));
    else toast(e.message || String(e), true);
    return undefined;
  } finally {
    if (button) {
      button.disabled = false;
      button.textContent = label;
      button.removeAttribute('aria-busy');
    }
  }
}

export function loading(text = 'Loading…') {
  return h('p', { class: 'muted', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text);
}

export function fmtBytes(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '—';
  n = Number(n);
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(n < 10 ? 1 : 0) : n} ${u[i]}`;
}

export function fmtDuration(s) {
  s = Math.max(0, Math.floor(s));
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${hh}h`;
  if (hh) return `${hh}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

export function fmtTime(v) {
  if (v === null || v === undefined || v === '') return '—';
  const d = typeof v === 'number' ? new Date(v > 1e12 ? v : v * 1000) : new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return d.toLocaleString();
}

export function fmtNum(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '—';
  return Number(n).toLocaleString(undefined, { maximumFractionDigits: digits });
}

// Validate JSON text for an editor; marks the control and returns
// {ok, value, error}.
export function checkJson(textarea, msgEl, { object = true } = {}) {
  let value, error = null;
  try {
    value = JSON.parse(textarea.value);
    if (object && (value === null || typeof value !== 'object' || Array.isArray(value))) error = 'must be a JSON object';
  } catch (e) {
    error = e.message;
  }
  textarea.setAttribute('aria-invalid', error ? 'true' : 'false');
  if (msgEl) msgEl.replaceChildren(error ? h('span', { class: 'error' }, `Invalid JSON: ${error}`) : '');
  return { ok: !error, value, error };
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast('Copied to the clipboard');
    return true;
  } catch {
    // No clipboard permission (e.g. plain http on another host): select a
    // text field the user can copy by hand.
    const inp = h('input', { type: 'text', value: text, readonly: true, 'aria-label': 'Text to copy' });
    const dlg = h('dialog', null, h('p', null, 'Copy this text:'), inp,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => { dlg.close(); dlg.remove(); } }, 'Close')));
    document.body.append(dlg);
    dlg.showModal();
    inp.select();
    return false;
  }
}
