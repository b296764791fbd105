// app.js - the console shell: sign-in screen, navigation, hash router.
//
// Routes are #/page[/arg…]; each page module exports
// render(main, {args, session, go}) and may return a cleanup function
// (timers, sockets) that runs when the page is left.
import { ApiError, loginAdmin, loginServiceKey, session, setUnauthorizedHandler } from './api.js';
import { busy, field, h, toast } from './ui.js';

const PAGES = [
  ['overview', 'Overview'],
  ['collections', 'Collections'],
  ['users', 'Users'],
  ['storage', 'Storage'],
  ['functions', 'Functions'],
  ['settings', 'Settings'],
];

const root = document.getElementById('app');
let cleanup = null;
let renderSeq = 0;

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter((x) => x !== '').map(decodeURIComponent);
  const page = PAGES.some(([p]) => p === parts[0]) ? parts[0] : 'overview';
  return { page, args: parts.slice(1) };
}

export function go(...parts) {
  location.hash = `#/${parts.map(encodeURIComponent).join('/')}`;
}

function signOut(reason) {
  session.clear();
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  renderLogin(reason);
}

setUnauthorizedHandler((err) => signOut(`Your session ended: ${err.message}`));

function renderLogin(message) {
  root.removeAttribute('aria-busy');
  document.title = 'Sign in · Basalt console';
  const err = h('div', { 'aria-live': 'assertive' });
  if (message) err.append(h('div', { class: 'notice' }, message));

  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const pw = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const adminBtn = h('button', { type: 'submit' }, 'Sign in');
  const adminForm = h('form', { 'aria-label': 'Sign in with an admin account', id: 'login-admin' },
    field('Email', email), field('Password', pw), adminBtn);
  adminForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const s = await busy(adminBtn, () => loginAdmin(email.value.trim(), pw.value), err);
    if (s) start();
  });

  const key = h('textarea', { name: 'service_key', rows: 3, class: 'mono', required: true, spellcheck: 'false' });
  const keyBtn = h('button', { type: 'submit' }, 'Sign in with key');
  const keyForm = h('form', { 'aria-label': 'Sign in with the service_role key', id: 'login-key', class: 'hidden' },
    field('service_role key', key, 'Printed by `basalt serve` and `basalt keys`. It never leaves this tab.'), keyBtn);
  keyForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const s = await busy(keyBtn, async () => {
      try {
        return await loginServiceKey(key.value);
      } catch (ex) {
        if (ex instanceof ApiError && (ex.status === 401 || ex.status === 403)) throw new Error(`This key was refused: ${ex.message}`);
        throw ex;
      }
    }, err);
    if (s) start();
  });

  const tabA = h('button', { type: 'button', role: 'tab', 'aria-selected': 'true', 'aria-controls': 'login-admin', id: 'tab-admin' }, 'Admin account');
  const tabK = h('button', { type: 'button', role: 'tab', 'aria-selected': 'false', 'aria-controls': 'login-key', id: 'tab-key' }, 'Service key');
  const select = (admin) => {
    tabA.setAttribute('aria-selected', String(admin));
    tabK.setAttribute('aria-selected', String(!admin));
    adminForm.classList.toggle('hidden', !admin);
    keyForm.classList.toggle('hidden', admin);
    (admin ? email : key).focus();
  };
  tabA.addEventListener('click', () => select(true));
  tabK.addEventListener('click', () => select(false));

  root.replaceChildren(h('div', { class: 'login' },
    h('h1', null, 'Basalt console'),
    h('div', { class: 'panel' },
      h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'How to sign in' }, tabA, tabK),
      err, adminForm, keyForm),
    h('p', { class: 'muted small' }, 'Create an admin account with ', h('code', null, 'basalt admin create EMAIL'), '.')));
  email.focus();
}

function shell(s) {
  const nav = h('nav', { class: 'side', 'aria-label': 'Sections' },
    h('ul', null, PAGES.map(([p, label]) => h('li', null, h('a', { href: `#/${p}`, 'data-page': p }, label)))));
  const main = h('main', { id: 'main', tabindex: '-1' });
  const out = h('button', { type: 'button', class: 'small', onclick: () => signOut('You signed out.') }, 'Sign out');
  const bar = h('header', { class: 'topbar' },
    h('div', { class: 'brand' }, h('img', { src: '/console/favicon.svg', alt: '', width: 22, height: 22 }), 'Basalt'),
    h('span', { class: 'who', title: s.email }, s.kind === 'admin' ? s.email : 'service_role key'),
    out);
  root.replaceChildren(h('div', { class: 'shell' }, bar, nav, main));
  return { nav, main };
}

let frame = null;

async function route() {
  const s = session.get();
  if (!s) { renderLogin(); return; }
  if (!frame || !root.contains(frame.main)) frame = shell(s);
  const { page, args } = parseHash();
  for (const a of frame.nav.querySelectorAll('a')) {
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  const seq = ++renderSeq;
  const main = frame.main;
  main.replaceChildren();
  document.title = `${PAGES.find(([p]) => p === page)[1]} · Basalt console`;
  try {
    const mod = await import(`./pages/${page}.js`);
    if (seq !== renderSeq) return;
    const c = await mod.render(main, { args, session: s, go });
    if (seq !== renderSeq) { if (typeof c === 'function') c(); return; }
    cleanup = typeof c === 'function' ? c : null;
  } catch (e) {
    if (seq !== renderSeq) return;
    main.append(h('div', { class: 'error', role: 'alert' }, `This page failed to load: ${e.message}`));
  }
  root.removeAttribute('aria-busy');
}

function start() {
  frame = null;
  if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/overview';
  route();
}

window.addEventListener('hashchange', () => { if (session.get()) route(); });
window.addEventListener('unhandledrejection', (e) => { toast(e.reason?.message || String(e.reason), true); });
start();
