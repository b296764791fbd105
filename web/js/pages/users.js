// users.js - app users through GoTrue's admin API (/auth/v1/admin/users):
// list with paging and search, create, edit metadata, ban/unban, delete.
import { api, request } from '../api.js';
import { busy, checkJson, checkbox, confirmDialog, errorBox, field, fmtTime, h, loading, toast } from '../ui.js';

const PER_PAGE = 25;
const SEARCH_SCAN = 1000; // the admin API has no search: scan this many users
const BAN_FOREVER = '876000h';

const isBanned = (u) => !!u.banned_until && new Date(u.banned_until).getTime() > Date.now();

export async function render(main) {
  main.append(h('h1', null, 'Users'));
  let page = 1, total = null;
  const search = h('input', { type: 'search', name: 'search', placeholder: 'email or id contains…', autocomplete: 'off' });
  const searchForm = h('form', { class: 'row', role: 'search', 'aria-label': 'Search users' },
    h('div', { class: 'grow' }, field('Search', search)), h('div', { class: 'field' }, h('button', { type: 'submit', class: 'secondary' }, 'Search')));
  const err = h('div', { 'aria-live': 'polite' });
  const tableEl = h('div', { class: 'table-wrap' }, loading());
  const info = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', class: 'secondary small' }, '‹ Previous');
  const next = h('button', { type: 'button', class: 'secondary small' }, 'Next ›');
  const detail = h('div');

  async function load() {
    const q = search.value.trim().toLowerCase();
    try {
      if (q) {
        const r = await api(`/auth/v1/admin/users?page=1&per_page=${SEARCH_SCAN}`);
        const users = (r.users || []).filter((u) => (u.email || '').toLowerCase().includes(q) || u.id.includes(q));
        draw(users);
        info.textContent = `${users.length} match${users.length === 1 ? '' : 'es'}`;
        prev.disabled = next.disabled = true;
      } else {
        const r = await request(`/auth/v1/admin/users?page=${page}&per_page=${PER_PAGE}`);
        const users = r.data.users || [];
        total = Number(r.headers.get('X-Total-Count') || NaN);
        draw(users);
        const first = (page - 1) * PER_PAGE;
        info.textContent = users.length ? `${first + 1}–${first + users.length}${Number.isFinite(total) ? ` of ${total}` : ''}` : 'No users.';
        prev.disabled = page === 1;
        next.disabled = Number.isFinite(total) ? first + users.length >= total : users.length < PER_PAGE;
      }
      err.replaceChildren();
    } catch (e) {
      err.replaceChildren(errorBox(e));
      tableEl.replaceChildren();
    }
  }

  function draw(users) {
    if (!users.length) { tableEl.replaceChildren(h('p', { class: 'muted' }, 'No users.')); return; }
    tableEl.replaceChildren(h('table', { id: 'users' },
      h('thead', null, h('tr', null, ['Email', 'Created', 'Last sign-in', 'Status', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, users.map((u) => h('tr', { 'data-id': u.id },
        h('td', null, u.email || h('span', { class: 'muted' }, u.is_anonymous ? 'anonymous' : '(no email)'), h('div', { class: 'muted small mono' }, u.id)),
        h('td', null, fmtTime(u.created_at)),
        h('td', null, fmtTime(u.last_sign_in_at)),
        h('td', null, isBanned(u) ? h('span', { class: 'badge off' }, 'banned') : h('span', { class: 'badge on' }, 'active'),
          u.email_confirmed_at ? '' : h('span', { class: 'badge warn' }, 'unconfirmed')),
        h('td', null, h('button', { type: 'button', class: 'secondary small', onclick: () => open(u.id), 'aria-label': `Manage ${u.email || u.id}` }, 'Manage')))))));
  }

  async function open(id) {
    detail.replaceChildren(loading());
    let u;
    try { u = await api(`/auth/v1/admin/users/${encodeURIComponent(id)}`); } catch (e) { detail.replaceChildren(errorBox(e)); return; }
    const msg = h('div', { 'aria-live': 'polite' });
    const um = h('textarea', { class: 'code', name: 'user_metadata', spellcheck: 'false' });
    um.value = JSON.stringify(u.user_metadata || {}, null, 2);
    const am = h('textarea', { class: 'code', name: 'app_metadata', spellcheck: 'false' });
    am.value = JSON.stringify(u.app_metadata || {}, null, 2);
    const umMsg = h('div'), amMsg = h('div');
    um.addEventListener('input', () => checkJson(um, umMsg));
    am.addEventListener('input', () => checkJson(am, amMsg));
    const save = h('button', { type: 'submit' }, 'Save metadata');
    const form = h('form', { 'aria-label': 'User metadata' }, field('User metadata (JSON)', um), umMsg, field('App metadata (JSON)', am), amMsg, save);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const a = checkJson(um, umMsg), b = checkJson(am, amMsg);
      if (!a.ok || !b.ok) return;
      const r = await busy(save, () => api(`/auth/v1/admin/users/${encodeURIComponent(id)}`, { method: 'PUT', json: { user_metadata: a.value, app_metadata: b.value } }), msg);
      if (r) { toast('Metadata saved'); load(); }
    });
    const banned = isBanned(u);
    const ban = h('button', { type: 'button', class: banned ? 'secondary' : 'danger', id: 'ban-user' }, banned ? 'Unban' : 'Ban');
    ban.addEventListener('click', async () => {
      if (!banned && !(await confirmDialog(`Ban ${u.email || u.id}?`, { confirmLabel: 'Ban', detail: 'The user can no longer sign in or refresh a session.' }))) return;
      const r = await busy(ban, () => api(`/auth/v1/admin/users/${encodeURIComponent(id)}`, { method: 'PUT', json: { ban_duration: banned ? 'none' : BAN_FOREVER } }), msg);
      if (r) { toast(banned ? 'User unbanned' : 'User banned'); await load(); open(id); }
    });
    const revoke = h('button', { type: 'button', class: 'secondary', id: 'revoke-sessions' }, 'Sign out everywhere');
    revoke.addEventListener('click', async () => {
      if (!(await confirmDialog(`Sign ${u.email || u.id} out of every session?`, { confirmLabel: 'Sign out', detail: 'Every refresh token is revoked; the user can sign in again.' }))) return;
      const r = await busy(revoke, () => api(`/auth/v1/admin/users/${encodeURIComponent(id)}/sessions`, { method: 'DELETE' }), msg);
      if (r) toast('Sessions revoked');
    });
    const del = h('button', { type: 'button', class: 'danger' }, 'Delete user');
    del.addEventListener('click', async () => {
      if (!(await confirmDialog(`Delete ${u.email || u.id}?`, { detail: 'Their sessions end and the account cannot be restored.' }))) return;
      const r = await busy(del, () => request(`/auth/v1/admin/users/${encodeURIComponent(id)}`, { method: 'DELETE' }), msg);
      if (r) { toast('User deleted'); detail.replaceChildren(); load(); }
    });
    detail.replaceChildren(h('section', { class: 'panel', id: 'user-detail', 'aria-label': `User ${u.email || u.id}` },
      h('div', { class: 'row' }, h('h2', null, u.email || u.id),
        h('button', { type: 'button', class: 'link right', onclick: () => detail.replaceChildren() }, 'Close')),
      h('p', { class: 'muted small' }, `id ${u.id} · created ${fmtTime(u.created_at)} · last sign-in ${fmtTime(u.last_sign_in_at)}`,
        banned ? ` · banned until ${fmtTime(u.banned_until)}` : ''),
      msg, form,
      h('h3', null, 'Access'),
      h('p', { class: 'muted small' }, 'Banning signs the user out everywhere (every refresh token is revoked) and stops new sign-ins; access tokens already issued stay valid until they expire (at most an hour). Unban to let them back in.'),
      h('div', { class: 'actions' }, revoke, ban, del)));
    detail.scrollIntoView({ block: 'nearest' });
  }

  // create
  const email = h('input', { type: 'email', name: 'new_email', required: true, autocomplete: 'off' });
  const pw = h('input', { type: 'password', name: 'new_password', autocomplete: 'new-password', minlength: 6 });
  const confirmed = checkbox('Email confirmed', { checked: true, name: 'email_confirm' });
  const cErr = h('div');
  const cBtn = h('button', { type: 'submit' }, 'Create user');
  const create = h('form', { class: 'panel', id: 'create-user', 'aria-label': 'Create a user' }, h('h2', null, 'New user'),
    h('div', { class: 'row' }, h('div', { class: 'grow' }, field('Email', email)), h('div', { class: 'grow' }, field('Password', pw))),
    h('div', { class: 'field' }, confirmed.el), cErr, cBtn);
  create.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { email: email.value.trim(), email_confirm: confirmed.input.checked };
    if (pw.value) body.password = pw.value;
    const u = await busy(cBtn, () => api('/auth/v1/admin/users', { method: 'POST', json: body }), cErr);
    if (u) { toast(`Created ${u.email}`); email.value = ''; pw.value = ''; await load(); open(u.id); }
  });

  searchForm.addEventListener('submit', (e) => { e.preventDefault(); page = 1; load(); });
  prev.addEventListener('click', () => { page = Math.max(1, page - 1); load(); });
  next.addEventListener('click', () => { page += 1; load(); });
  main.append(create, searchForm, err, detail, tableEl, h('div', { class: 'pager' }, prev, next, info));
  await load();
  return undefined;
}
