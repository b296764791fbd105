// chart.js - plain-SVG line charts and sparklines (no library).
import { h } from './ui.js';

// A filled line of values (null = gap) in a width x height viewBox.
export function lineSvg(values, { width = 300, height = 70, cls = '', label = '', color = '#3b5bdb', min = 0 } = {}) {
  const vals = values.map((v) => (v === null || v === undefined || Number.isNaN(v) ? null : Number(v)));
  const real = vals.filter((v) => v !== null);
  const max = Math.max(min + 1e-9, ...real);
  const n = Math.max(vals.length, 2);
  const pad = 2;
  const x = (i) => pad + (i * (width - 2 * pad)) / (n - 1);
  const y = (v) => height - pad - ((v - min) / (max - min || 1)) * (height - 2 * pad);
  const pts = vals.map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean);
  const svg = h('svg', { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', class: cls, role: 'img', 'aria-label': label });
  svg.append(h('line', { x1: 0, y1: height - pad, x2: width, y2: height - pad, stroke: '#d9dce5', 'stroke-width': 1 }));
  if (pts.length > 1) {
    const firstX = pts[0].split(',')[0], lastX = pts[pts.length - 1].split(',')[0];
    svg.append(h('path', { d: `M${firstX},${height - pad} L${pts.join(' L')} L${lastX},${height - pad} Z`, fill: color, 'fill-opacity': '0.12', stroke: 'none' }));
    svg.append(h('polyline', { points: pts.join(' '), fill: 'none', stroke: color, 'stroke-width': 2, 'vector-effect': 'non-scaling-stroke', 'stroke-linejoin': 'round' }));
  } else if (pts.length === 1) {
    const [px, py] = pts[0].split(',');
    svg.append(h('line', { x1: 0, y1: py, x2: width, y2: py, stroke: color, 'stroke-width': 2, 'vector-effect': 'non-scaling-stroke' }));
    void px;
  }
  return svg;
}

// A titled chart card whose values can be updated in place.
export function chartCard(title, { color, format = (v) => String(v) } = {}) {
  const valueEl = h('span', null, '—');
  const holder = h('div');
  const el = h('figure', { class: 'chart' }, h('h3', null, title, valueEl), holder);
  el.style.margin = '0';
  return {
    el,
    update(values) {
      const last = [...values].reverse().find((v) => v !== null && v !== undefined);
      valueEl.textContent = last === undefined ? '—' : format(last);
      holder.replaceChildren(lineSvg(values, { color, label: `${title}: ${valueEl.textContent}` }));
    },
  };
}

export function sparkline(values, label) {
  return lineSvg(values, { width: 90, height: 24, cls: 'spark', label });
}
