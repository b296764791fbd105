// overview.js - the server at a glance, refreshed every few seconds:
// counts from GET /admin/v1/stats, and charts of request rate, p99
// latency (both from deltas between polls), realtime connections and
// function invocations/errors (GET /admin/v1/functions when present).
import { api } from '../api.js';
import { chartCard } from '../chart.js';
import { errorBox, fmtBytes, fmtDuration, fmtNum, h, loading } from '../ui.js';

const POLL_MS = 3000;
const POINTS = 40;

// p99 (ms) of the requests between two cumulative-per-bucket snapshots.
export function windowP99(prev, cur) {
  const bounds = cur.latency_bounds_ms;
  const d = cur.latency_counts.map((c, i) => c - (prev ? prev.latency_counts[i] || 0 : 0));
  const total = d.reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  const want = total - Math.floor(total / 100);
  let cum = 0;
  for (let i = 0; i < bounds.length; i++) {
    cum += d[i];
    if (cum >= want) return bounds[i];
  }
  return bounds[bounds.length - 1];
}

function fnTotals(list) {
  let inv = 0, err = 0;
  for (const f of list) {
    const m = f.metrics || f;
    inv += Number(m.invocations || 0);
    err += Number(m.errors || 0) + Number(m.timeouts || 0);
  }
  return { inv, err };
}

export async function render(main) {
  main.append(h('h1', null, 'Overview'));
  const status = h('div', { 'aria-live': 'polite' }, loading());
  const cards = h('div', { class: 'cards' });
  const charts = {
    rate: chartCard('Requests / s', { color: '#3b5bdb', format: (v) => fmtNum(v, 1) }),
    p99: chartCard('p99 latency', { color: '#e8590c', format: (v) => `≤ ${fmtNum(v, 1)} ms` }),
    rt: chartCard('Realtime connections', { color: '#2b8a3e', format: (v) => fmtNum(v) }),
    inv: chartCard('Function invocations / s', { color: '#7048e8', format: (v) => fmtNum(v, 2) }),
    err: chartCard('Function errors / s', { color: '#c92a2a', format: (v) => fmtNum(v, 2) }),
  };
  main.append(status, cards, h('h2', null, 'Live'), h('div', { class: 'charts' }, Object.values(charts).map((c) => c.el)));
  const series = { rate: [], p99: [], rt: [], inv: [], err: [] };
  let prev = null, prevFn = null, prevT = 0, timer = null, stopped = false;
  let fnAvailable = true;

  const push = (k, v) => { series[k].push(v); if (series[k].length > POINTS) series[k].shift(); charts[k].update(series[k]); };

  async function tick() {
    try {
      const st = await api('/admin/v1/stats');
      let fns = null;
      if (fnAvailable) {
        try {
          const r = await api('/admin/v1/functions');
          fns = Array.isArray(r) ? r : (r && r.functions) || [];
        } catch (e) {
          if (e.status === 404) fnAvailable = false;
        }
      }
      if (stopped) return;
      const now = st.now_ms || Date.now();
      const c = st.counts || {};
      cards.replaceChildren(...[
        ['Version', st.version],
        ['Uptime', fmtDuration(st.uptime_s)],
        ['Data size', fmtBytes(st.data?.total_bytes)],
        ['Collections', fmtNum(c.collections)],
        ['Users', fmtNum(c.users)],
        ['Buckets', fmtNum(c.buckets)],
        ['Objects', fmtNum(c.objects)],
        ['Functions', fmtNum(fns ? fns.length : c.functions)],
        ['Dead letters', fmtNum(c.dead_letters)],
        ['Requests', fmtNum(st.requests?.total)],
        ['Server errors', fmtNum(st.requests?.errors)],
      ].map(([label, value]) => h('div', { class: 'card', 'data-stat': label.toLowerCase().replace(/ /g, '-') },
        h('div', { class: 'label' }, label), h('div', { class: 'value' }, value ?? '—'))));
      const dt = prev ? (now - prevT) / 1000 : 0;
      push('rate', prev && dt > 0 ? Math.max(0, (st.requests.total - prev.total) / dt) : null);
      push('p99', prev ? windowP99(prev, st.requests) : st.requests.p99_ms || null);
      push('rt', st.realtime?.connections ?? 0);
      const ft = fns ? fnTotals(fns) : null;
      push('inv', ft && prevFn && dt > 0 ? Math.max(0, (ft.inv - prevFn.inv) / dt) : ft ? null : 0);
      push('err', ft && prevFn && dt > 0 ? Math.max(0, (ft.err - prevFn.err) / dt) : ft ? null : 0);
      prev = st.requests; prevFn = ft; prevT = now;
      status.replaceChildren(h('p', { class: 'muted small' }, `Updated ${new Date().toLocaleTimeString()} · every ${POLL_MS / 1000} s`,
        st.realtime?.enabled === false ? ' · realtime is off' : '', !fnAvailable ? ' · functions API not available' : ''));
    } catch (e) {
      if (!stopped) status.replaceChildren(errorBox(e));
    }
    if (!stopped) timer = setTimeout(tick, POLL_MS);
  }
  await tick();
  return () => { stopped = true; clearTimeout(timer); };
}
