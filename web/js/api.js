// api.js - the console's session and every HTTP call it makes.
//
// The session lives in sessionStorage (gone when the tab closes):
//   {kind: 'admin'|'service', token, apikey, anon, email, expires_at}
// Every request carries `apikey: <project service_role key>` and
// `Authorization: Bearer <token>` (the admin's JWT, or the service key
// itself).  Failures throw ApiError whose message is the server's own.

const KEY = 'basalt.console.session';

export const session = {
  get() {
    try {
      const s = JSON.parse(sessionStorage.getItem(KEY));
      if (s && s.expires_at && s.expires_at * 1000 < Date.now()) {
        sessionStorage.removeItem(KEY);
        return null;
      }
      return s;
    } catch {
      return null;
    }
  },
  set(s) { sessionStorage.setItem(KEY, JSON.stringify(s)); },
  clear() { sessionStorage.removeItem(KEY); },
};

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

// The message of any of the protocols' error shapes: PostgREST
// {message,details,hint}, GoTrue {msg|message|error_description},
// storage {message,error}, functions {error,message}.
export function errorMessage(body, status, statusText) {
  if (body && typeof body === 'object') {
    const m = body.message || body.msg || body.error_description ||
      (typeof body.error === 'string' ? body.error : body.error && body.error.message);
    if (m) {
      const extra = [body.details, body.hint].filter((x) => x && typeof x === 'string');
      return extra.length ? `${m} (${extra.join('; ')})` : String(m);
    }
  }
  if (typeof body === 'string' && body.trim()) return body.trim().slice(0, 500);
  return `${status} ${statusText || 'request failed'}`;
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export function authHeaders(s = session.get()) {
  if (!s) return {};
  return { apikey: s.apikey, Authorization: `Bearer ${s.token}` };
}

async function parse(res) {
  const text = await res.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch { return text; }
}

// Full response: {data, headers, status}.  opts: method, json, body,
// headers, signal, raw (return the Response unread when ok).
export async function request(path, opts = {}) {
  const s = session.get();
  const headers = { ...authHeaders(s), ...(opts.headers || {}) };
  let body = opts.body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  let res;
  try {
    res = await fetch(path, { method: opts.method || 'GET', headers, body, signal: opts.signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, `Cannot reach the server: ${e.message}`);
  }
  if (opts.raw && res.ok) return res;
  const data = await parse(res);
  if (!res.ok) {
    const err = new ApiError(res.status, errorMessage(data, res.status, res.statusText), data);
    if (res.status === 401 && s && String(path).startsWith('/admin/v1/')) onUnauthorized(err);
    throw err;
  }
  return { data, headers: res.headers, status: res.status };
}

export async function api(path, opts) {
  return (await request(path, opts)).data;
}

// Sign in with an admin account: the login answers the token, the keys
// endpoint (service role) answers the project keys.
export async function loginAdmin(email, password) {
  const res = await fetch('/admin/v1/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const data = await parse(res);
  if (!res.ok) throw new ApiError(res.status, errorMessage(data, res.status, res.statusText), data);
  const keys = await fetchKeys(data.access_token);
  const s = { kind: 'admin', token: data.access_token, apikey: keys.service_role, anon: keys.anon,
    email: data.admin?.email || email, expires_at: data.expires_at };
  session.set(s);
  return s;
}

export async function loginServiceKey(key) {
  key = key.trim();
  const keys = await fetchKeys(key);
  const s = { kind: 'service', token: key, apikey: key, anon: keys.anon, email: 'service_role key', expires_at: null };
  session.set(s);
  return s;
}

async function fetchKeys(token) {
  const res = await fetch('/admin/v1/keys', { headers: { apikey: token, Authorization: `Bearer ${token}` } });
  const data = await parse(res);
  if (!res.ok) throw new ApiError(res.status, errorMessage(data, res.status, res.statusText), data);
  return data;
}

// Upload with progress (fetch has no upload progress; XMLHttpRequest does).
// Resolves with the parsed JSON answer; rejects with ApiError.
export function uploadWithProgress(url, file, { headers = {}, onProgress, method = 'POST' } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    const h = { ...authHeaders(), ...headers };
    for (const [k, v] of Object.entries(h)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded, e.total); };
    xhr.onload = () => {
      let data = xhr.responseText;
      try { data = JSON.parse(xhr.responseText); } catch { /* text */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, errorMessage(data, xhr.status, xhr.statusText), data));
    };
    xhr.onerror = () => reject(new ApiError(0, 'Upload failed: the connection was lost'));
    xhr.send(file);
  });
}

// Encode each segment of an object path (keeps the slashes).
export function encodePath(p) {
  return String(p).split('/').map(encodeURIComponent).join('/');
}
