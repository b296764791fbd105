// functions.js - deployed function plugins through /admin/v1/functions:
// list (triggers, version, status, invocation sparkline), invoke form,
// live log tail, settings and configuration values, dead-letter queue
// with re-drive.
//   #/functions          list + dead-letter queue
//   #/functions/NAME     one function
import { api, request } from '../api.js';
import { sparkline } from '../chart.js';
import { busy, checkJson, checkbox, confirmDialog, errorBox, field, fmtNum, fmtTime, h, loading, toast } from '../ui.js';

const A = '/admin/v1/functions';
const POLL_MS = 4000;
const LOG_POLL_MS = 2000;
const history = new Map(); // name -> [{t, inv}] (kept while the tab lives)

const asList = (r, ...keys) => (Array.isArray(r) ? r : keys.map((k) => r && r[k]).find(Array.isArray) || []);
const metricsOf = (f) => f.metrics || {};
const settingsOf = (f) => f.settings || f;
const p99Of = (m) => (m.duration_ms && m.duration_ms.p99 !== undefined ? m.duration_ms.p99 : m.p99_ms);
const MASK = '********';

function triggerText(t) {
  if (typeof t === 'string') return t;
  const kind = t.kind || t.type || 'trigger';
  const detail = [t.methods && [].concat(t.methods).join(','), t.ops && [].concat(t.ops).join(','), t.collection, t.bucket, t.prefix && `prefix ${t.prefix}`, t.suffix && `suffix ${t.suffix}`, t.schedule || t.cron || t.rate, t.event, t.path].filter(Boolean).join(' ');
  return detail ? `${kind}: ${detail}` : kind;
}

function statusBadge(f) {
  const s = f.status || (f.loaded === false ? 'not loaded' : settingsOf(f).enabled === false ? 'disabled' : f.error || f.last_error ? 'error' : 'ready');
  return h('span', { class: `badge ${/ready|ok|active|loaded/.test(s) ? 'on' : /error|fail/.test(s) ? 'off' : 'warn'}` }, s);
}

function record(f) {
  const m = metricsOf(f);
  const arr = history.get(f.name) || [];
  arr.push({ t: Date.now(), inv: Number(m.invocations || 0) });
  if (arr.length > 30) arr.shift();
  history.set(f.name, arr);
  const rates = [];
  for (let i = 1; i < arr.length; i++) rates.push(Math.max(0, (arr[i].inv - arr[i - 1].inv) / ((arr[i].t - arr[i - 1].t) / 1000 || 1)));
  return rates;
}

export async function render(main, { args, go }) {
  const name = args[0] || null;
  main.append(h('h1', null, name ? `Function ${name}` : 'Functions'));
  if (name) return renderOne(main, name, go);
  const err = h('div', { 'aria-live': 'polite' });
  const tableEl = h('div', { class: 'table-wrap' }, loading());
  const dlqEl = h('section', { class: 'panel', id: 'dlq', 'aria-label': 'Dead-letter queue' }, h('h2', null, 'Dead-letter queue'), loading());
  main.append(err, tableEl, dlqEl);
  let timer = null, stopped = false;
  async function tick() {
    try {
      const fns = asList(await api(A), 'functions');
      if (stopped) return;
      tableEl.replaceChildren(fns.length ? h('table', { id: 'functions' },
        h('thead', null, h('tr', null, ['Name', 'Version', 'Status', 'Triggers', 'Invocations', 'Errors', 'p99', 'Activity'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, fns.map((f) => {
          const m = metricsOf(f);
          return h('tr', { 'data-name': f.name },
            h('td', null, h('a', { href: `#/functions/${encodeURIComponent(f.name)}` }, f.name)),
            h('td', null, String(f.version ?? '—')),
            h('td', null, statusBadge(f)),
            h('td', null, (f.triggers || []).map((t) => h('div', { class: 'small' }, triggerText(t)))),
            h('td', null, fmtNum(m.invocations)),
            h('td', null, fmtNum(Number(m.errors || 0) + Number(m.timeouts || 0))),
            h('td', null, p99Of(m) !== undefined ? `${fmtNum(p99Of(m), 1)} ms` : '—'),
            h('td', null, sparkline(record(f), `${f.name} invocations per second`)));
        }))) : h('p', { class: 'muted' }, 'No functions are deployed. Drop a plugin (.so) into the functions directory.'));
      err.replaceChildren();
    } catch (e) {
      if (!stopped) { err.replaceChildren(errorBox(e)); tableEl.replaceChildren(); }
    }
    if (!stopped) timer = setTimeout(tick, POLL_MS);
  }
  await tick();
  await dlq(dlqEl, null);
  return () => { stopped = true; clearTimeout(timer); };
}

// ---- dead-letter queue (all functions, or one) ----
async function dlq(panel, fname) {
  const body = h('div');
  panel.replaceChildren(h('h2', null, 'Dead-letter queue'), body);
  async function load() {
    try {
      const items = asList(await api(`${A}/dlq${fname ? `?function=${encodeURIComponent(fname)}` : ''}`), 'jobs', 'items', 'dead_letters');
      const mine = fname ? items.filter((j) => !j.function || j.function === fname) : items;
      body.replaceChildren(mine.length ? h('div', { class: 'table-wrap' }, h('table', { id: 'dlq-table' },
        h('thead', null, h('tr', null, ['Job', 'Function', 'Attempts', 'Last error', 'Failed', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, mine.map((j) => {
          const id = j.uid || j.id || j.job_id;
          const btn = h('button', { type: 'button', class: 'small', 'aria-label': `Re-drive job ${id}` }, 'Re-drive');
          btn.addEventListener('click', async () => {
            if (!(await confirmDialog(`Run job ${id} of ${j.function} again?`, { confirmLabel: 'Re-drive', danger: false }))) return;
            const r = await busy(btn, () => request(`${A}/dlq/${encodeURIComponent(id)}/redrive`, { method: 'POST' }));
            if (r) { toast(`Job ${id} queued again`); load(); }
          });
          return h('tr', { 'data-id': id },
            h('td', { class: 'mono small' }, id),
            h('td', null, j.function || ''),
            h('td', null, String(j.attempts ?? '')),
            h('td', { class: 'json' }, j.last_error || ''),
            h('td', null, fmtTime(j.failed_ms || j.failed_at)),
            h('td', null, btn));
        })))) : h('p', { class: 'muted', id: 'dlq-empty' }, 'No dead letters.'));
    } catch (e) {
      body.replaceChildren(errorBox(e));
    }
  }
  await load();
  return load;
}

// ---- one function ----
async function renderOne(main, name, go) {
  const url = `${A}/${encodeURIComponent(name)}`;
  let f;
  try { f = await api(url); } catch (e) { main.append(errorBox(e), h('p', null, h('a', { href: '#/functions' }, 'All functions'))); return undefined; }
  const m = metricsOf(f);
  const st = settingsOf(f);
  main.append(h('p', null, h('a', { href: '#/functions' }, '‹ All functions')),
    f.description ? h('p', { class: 'muted' }, f.description) : null,
    h('div', { class: 'cards' }, [
      ['Version', f.version ?? '—'], ['Status', statusBadge(f)], ['Invocations', fmtNum(m.invocations)],
      ['Errors', fmtNum(m.errors)], ['Timeouts', fmtNum(m.timeouts)], ['Throttles', fmtNum(m.throttles)],
      ['Cold starts', fmtNum(m.cold_starts)], ['p99', p99Of(m) !== undefined ? `${fmtNum(p99Of(m), 1)} ms` : '—'],
      ['Queued', fmtNum(m.queue_depth)], ['Dead letters', fmtNum(m.dead_letters)],
    ].map(([l, v]) => h('div', { class: 'card' }, h('div', { class: 'label' }, l), h('div', { class: 'value' }, v)))),
    h('section', { class: 'panel', 'aria-label': 'Triggers' }, h('h2', null, 'Triggers'),
      (f.triggers || []).length ? h('ul', null, f.triggers.map((t) => h('li', null, triggerText(t)))) : h('p', { class: 'muted' }, 'None.')));

  // invoke
  const payload = h('textarea', { class: 'code', name: 'payload', spellcheck: 'false' });
  payload.value = '{\n  \n}';
  const pMsg = h('div');
  const sync = h('input', { type: 'radio', name: 'invoke-type', value: 'sync', checked: true, id: 'invoke-sync' });
  const async_ = h('input', { type: 'radio', name: 'invoke-type', value: 'async', id: 'invoke-async' });
  const out = h('div', { 'aria-live': 'polite', id: 'invoke-result' });
  const go_ = h('button', { type: 'submit' }, 'Invoke');
  const inv = h('form', { class: 'panel', id: 'invoke', 'aria-label': 'Invoke' }, h('h2', null, 'Invoke'),
    h('fieldset', null, h('legend', null, 'Type'),
      h('label', { class: 'check', for: 'invoke-sync' }, sync, 'Sync: wait for the result'),
      h('label', { class: 'check', for: 'invoke-async' }, async_, 'Async: queue a job (retries, then dead letter)')),
    field('Payload (JSON)', payload), pMsg, go_, out);
  payload.addEventListener('input', () => checkJson(payload, pMsg, { object: false }));
  inv.addEventListener('submit', async (e) => {
    e.preventDefault();
    const j = checkJson(payload, pMsg, { object: false });
    if (!j.ok) return;
    const t0 = performance.now();
    const r = await busy(go_, () => request(`${url}/invoke`, { method: 'POST', json: { type: sync.checked ? 'sync' : 'async', payload: j.value } }), out);
    if (r) {
      const ms = performance.now() - t0;
      const server = r.data && (r.data.duration_ms ?? r.data.duration);
      out.replaceChildren(h('p', { class: 'small' }, `HTTP ${r.status} in ${fmtNum(ms, 1)} ms round trip`, server !== undefined ? ` · ${fmtNum(server, 2)} ms in the function` : ''),
        h('pre', null, typeof r.data === 'string' ? r.data : JSON.stringify(r.data, null, 2)));
    }
  });

  // logs
  const log = h('div', { class: 'log', id: 'log', role: 'log', 'aria-label': `Log of ${name}`, tabindex: '0' }, 'Waiting for log lines…');
  const follow = checkbox('Follow', { checked: true, name: 'follow' });
  let logTimer = null, stopped = false;
  async function tail() {
    try {
      const r = await api(`${url}/logs`);
      const lines = asList(r, 'logs', 'lines', 'entries').map((l) => (typeof l === 'string' ? l : `${l.time || l.at || l.ts ? `${fmtTime(l.time || l.at || l.ts)} ` : ''}${l.level ? `${l.level} ` : ''}${l.message || l.line || JSON.stringify(l)}`));
      if (!stopped && follow.input.checked) {
        log.textContent = lines.length ? lines.slice(-500).join('\n') : 'No log lines yet.';
        log.scrollTop = log.scrollHeight;
      }
    } catch (e) {
      if (!stopped) log.textContent = `Cannot read the log: ${e.message}`;
    }
    if (!stopped) logTimer = setTimeout(tail, LOG_POLL_MS);
  }

  // settings and configuration values
  const timeout = h('input', { type: 'number', name: 'timeout_ms', min: 1, value: st.timeout_ms ?? '' });
  const conc = h('input', { type: 'number', name: 'concurrency', min: 1, value: st.concurrency ?? '' });
  const retries = h('input', { type: 'number', name: 'retries', min: 0, value: st.retries ?? '' });
  const enabled = checkbox('Enabled', { checked: st.enabled !== false, name: 'enabled' });
  const cfg = h('textarea', { class: 'code', name: 'config', spellcheck: 'false' });
  cfg.value = JSON.stringify(f.config || {}, null, 2);
  const cMsg = h('div');
  const sErr = h('div');
  const save = h('button', { type: 'submit' }, 'Save settings');
  const settings = h('form', { class: 'panel', id: 'fn-settings', 'aria-label': 'Settings' }, h('h2', null, 'Settings'),
    h('div', { class: 'row' }, h('div', { class: 'grow' }, field('Timeout (ms)', timeout)), h('div', { class: 'grow' }, field('Reserved concurrency', conc)), h('div', { class: 'grow' }, field('Async retries', retries))),
    h('div', { class: 'field' }, enabled.el),
    field('Configuration values (JSON object)', cfg, 'Secret values come back masked; keep a masked value as it is to leave it unchanged.'), cMsg, sErr, save);
  cfg.addEventListener('input', () => checkJson(cfg, cMsg));
  settings.addEventListener('submit', async (e) => {
    e.preventDefault();
    const c = checkJson(cfg, cMsg);
    if (!c.ok) return;
    // masked values stay as they are; removed keys are deleted (null)
    const config = {};
    for (const [k, v] of Object.entries(c.value)) if (v !== MASK) config[k] = v;
    for (const k of Object.keys(f.config || {})) if (!(k in c.value)) config[k] = null;
    const body = { enabled: enabled.input.checked, config };
    for (const [k, el] of [['timeout_ms', timeout], ['concurrency', conc], ['retries', retries]]) body[k] = el.value === '' ? null : Number(el.value);
    const r = await busy(save, () => api(url, { method: 'PATCH', json: body }), sErr);
    if (r) { f = r.name ? r : f; toast('Function settings saved'); }
  });

  const dlqPanel = h('section', { class: 'panel', id: 'dlq', 'aria-label': 'Dead-letter queue' });
  main.append(inv, h('section', { class: 'panel', 'aria-label': 'Log' }, h('div', { class: 'row' }, h('h2', null, 'Log'), h('span', { class: 'right' }, follow.el)), log), settings, dlqPanel);
  tail();
  await dlq(dlqPanel, name);
  void go;
  return () => { stopped = true; clearTimeout(logTimer); };
}
