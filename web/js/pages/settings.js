// settings.js - the project's API keys (GET /admin/v1/keys) with copy
// buttons, the rules of private realtime channels (/admin/v1/realtime/rules)
// and the effective configuration (GET /admin/v1/config, secrets already
// masked by the server).
import { api } from '../api.js';
import { rulesForm } from '../rules_form.js';
import { copyText, errorBox, h, loading } from '../ui.js';

function keyRow(label, value, id) {
  const input = h('input', { type: 'password', readonly: true, value, id, class: 'grow', autocomplete: 'off' });
  const show = h('button', { type: 'button', class: 'secondary small', 'aria-controls': id }, 'Show');
  show.addEventListener('click', () => {
    const hidden = input.type === 'password';
    input.type = hidden ? 'text' : 'password';
    show.textContent = hidden ? 'Hide' : 'Show';
  });
  const copy = h('button', { type: 'button', class: 'small', 'aria-label': `Copy the ${label}` }, 'Copy');
  copy.addEventListener('click', () => copyText(value));
  return h('div', { class: 'field' }, h('label', { for: id }, label), h('div', { class: 'keybox' }, input, show, copy));
}

function flatten(obj, prefix = '', out = []) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, key, out);
    else out.push([key, v]);
  }
  return out;
}

export async function render(main) {
  main.append(h('h1', null, 'Settings'));
  const keys = h('section', { class: 'panel', 'aria-label': 'API keys' }, h('h2', null, 'API keys'), loading());
  const conf = h('section', { class: 'panel', 'aria-label': 'Configuration' }, h('h2', null, 'Effective configuration'), loading());
  const rt = h('div', null, loading());
  main.append(keys, rt, conf);
  rt.replaceChildren(await rulesForm({
    base: '/admin/v1/realtime/rules', ops: ['select', 'insert'], id: 'realtime-rules', label: 'Realtime channel rules',
    prefix: 'realtime-rule', saved: 'Realtime rules saved',
    hint: ['Private channels (config.private): select lets a caller join and receive, insert send and track presence; over realtime.topic, realtime.extension, realtime.presence_key and auth.*, e.g. ',
      h('code', null, "realtime.topic == auth.uid")],
  }));
  try {
    const k = await api('/admin/v1/keys');
    keys.replaceChildren(h('h2', null, 'API keys'),
      h('p', { class: 'muted small' }, 'The anon key is safe in apps (rules decide what it may do); the service_role key bypasses every rule: keep it on servers.'),
      keyRow('anon key', k.anon, 'key-anon'), keyRow('service_role key', k.service_role, 'key-service'),
      h('p', { class: 'small' }, 'Project URL: ', h('code', null, location.origin)));
  } catch (e) {
    keys.replaceChildren(h('h2', null, 'API keys'), errorBox(e));
  }
  try {
    const c = await api('/admin/v1/config');
    const rows = flatten(c);
    conf.replaceChildren(h('h2', null, 'Effective configuration'),
      h('p', { class: 'muted small' }, 'Command-line flags and BASALT_* environment variables as the server applied them; secrets are masked.'),
      h('div', { class: 'table-wrap' }, h('table', { id: 'config' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Option'), h('th', { scope: 'col' }, 'Value'))),
        h('tbody', null, rows.map(([k, v]) => h('tr', null, h('td', { class: 'mono' }, k), h('td', { class: 'mono json' }, v === null ? '—' : typeof v === 'string' ? v : JSON.stringify(v))))))));
  } catch (e) {
    conf.replaceChildren(h('h2', null, 'Effective configuration'), errorBox(e));
  }
  return undefined;
}
