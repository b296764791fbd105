// realtime.js - a tiny Phoenix channels client (vsn 2.0.0, text frames
// only) for the console's live views.
//
// Frames are JSON arrays [join_ref, ref, topic, event, payload].  A join's
// ref is its join_ref; later pushes on the channel carry that join_ref;
// messages whose join_ref is not the channel's current one are dropped.
// Heartbeat every 25 s on topic "phoenix"; a heartbeat still unanswered
// when the next one is due closes the socket, and the socket reconnects
// with backoff 1, 2, 5, 10 s and re-joins its channels.  Binary frames
// (user broadcasts) are ignored: the console does not use them.

const HEARTBEAT_MS = 25000;
const BACKOFF = [1000, 2000, 5000, 10000];
const JOIN_TIMEOUT_MS = 10000;

export class RealtimeSocket {
  constructor(apikey, { url, onStatus } = {}) {
    const base = url || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
    this.url = `${base}/realtime/v1/websocket?apikey=${encodeURIComponent(apikey)}&vsn=2.0.0`;
    this.onStatus = onStatus || (() => {});
    this.ref = 0;
    this.channels = new Map(); // topic -> Channel
    this.pending = new Map(); // ref -> {resolve, timer}
    this.tries = 0;
    this.closed = false;
    this.ws = null;
    this.hbRef = null;
    this.hbTimer = null;
  }

  makeRef() { return String(++this.ref); }

  connect() {
    if (this.ws || this.closed) return;
    this.onStatus('connecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      this.tries = 0;
      this.onStatus('open');
      this.hbRef = null;
      this.hbTimer = setInterval(() => this.heartbeat(), HEARTBEAT_MS);
      for (const ch of this.channels.values()) ch.rejoin();
    };
    ws.onmessage = (e) => { if (typeof e.data === 'string') this.receive(e.data); };
    ws.onclose = (e) => {
      clearInterval(this.hbTimer);
      this.ws = null;
      for (const ch of this.channels.values()) ch.setState('closed');
      for (const p of this.pending.values()) { clearTimeout(p.timer); p.resolve({ status: 'error', response: { reason: 'socket closed' } }); }
      this.pending.clear();
      if (this.closed) { this.onStatus('closed'); return; }
      this.onStatus('reconnecting', e.reason || `closed (${e.code})`);
      const wait = BACKOFF[Math.min(this.tries++, BACKOFF.length - 1)];
      setTimeout(() => this.connect(), wait);
    };
  }

  heartbeat() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    if (this.hbRef) { // the last one was never answered
      this.hbRef = null;
      this.ws.close(1000, 'heartbeat timeout');
      return;
    }
    this.hbRef = this.makeRef();
    this.send([null, this.hbRef, 'phoenix', 'heartbeat', {}]);
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  // Push and wait for the phx_reply with the same ref.
  push(joinRef, topic, event, payload) {
    const ref = this.makeRef();
    const p = new Promise((resolve) => {
      const timer = setTimeout(() => { this.pending.delete(ref); resolve({ status: 'timeout', response: {} }); }, JOIN_TIMEOUT_MS);
      this.pending.set(ref, { resolve, timer });
    });
    this.send([joinRef === null ? ref : joinRef, ref, topic, event, payload]);
    return { ref, reply: p };
  }

  receive(text) {
    let msg;
    try { msg = JSON.parse(text); } catch { return; }
    if (!Array.isArray(msg) || msg.length !== 5) return;
    const [joinRef, ref, topic, event, payload] = msg;
    if (topic === 'phoenix' && event === 'phx_reply') {
      if (ref === this.hbRef) this.hbRef = null;
      return;
    }
    if (event === 'phx_reply' && ref && this.pending.has(ref)) {
      const p = this.pending.get(ref);
      this.pending.delete(ref);
      clearTimeout(p.timer);
      p.resolve(payload || {});
      return;
    }
    const ch = this.channels.get(topic);
    if (!ch) return;
    if (joinRef !== null && joinRef !== undefined && joinRef !== ch.joinRef) return;
    ch.dispatch(event, payload || {});
  }

  // A channel on topic ("realtime:NAME") with the join payload.
  channel(topic, joinPayload, handlers = {}) {
    const ch = new Channel(this, topic, joinPayload, handlers);
    this.channels.set(topic, ch);
    return ch;
  }

  close() {
    this.closed = true;
    clearInterval(this.hbTimer);
    for (const ch of this.channels.values()) ch.leave();
    if (this.ws) this.ws.close(1000, 'bye');
  }
}

class Channel {
  constructor(socket, topic, joinPayload, handlers) {
    this.socket = socket;
    this.topic = topic;
    this.joinPayload = joinPayload;
    this.handlers = handlers; // {onEvent(event, payload), onState(state, detail)}
    this.joinRef = null;
    this.state = 'closed';
    this.retry = null;
    this.tries = 0;
  }

  setState(s, detail) {
    this.state = s;
    if (this.handlers.onState) this.handlers.onState(s, detail);
  }

  join() {
    this.socket.connect();
    if (this.socket.ws && this.socket.ws.readyState === WebSocket.OPEN) this.rejoin();
    return this;
  }

  async rejoin() {
    clearTimeout(this.retry);
    this.setState('joining');
    const { ref, reply } = this.socket.push(null, this.topic, 'phx_join', this.joinPayload);
    this.joinRef = ref;
    const r = await reply;
    if (this.joinRef !== ref) return; // superseded
    if (r.status === 'ok') {
      this.tries = 0;
      this.bindings = (r.response && r.response.postgres_changes) || [];
      this.setState('joined');
      return;
    }
    const reason = r.response ? Object.values(r.response).join(', ') : r.status;
    this.setState('error', reason || r.status);
    if (this.socket.closed) return;
    const wait = BACKOFF[Math.min(this.tries++, BACKOFF.length - 1)];
    this.retry = setTimeout(() => { if (this.socket.ws) this.rejoin(); }, wait);
  }

  dispatch(event, payload) {
    if (event === 'phx_error') { this.setState('error', 'channel crashed'); this.rejoin(); return; }
    if (event === 'phx_close') { this.setState('closed'); return; }
    if (this.handlers.onEvent) this.handlers.onEvent(event, payload);
  }

  leave() {
    clearTimeout(this.retry);
    if (this.joinRef) this.socket.send([this.joinRef, this.socket.makeRef(), this.topic, 'phx_leave', {}]);
    this.socket.channels.delete(this.topic);
    this.joinRef = null;
    this.setState('closed');
  }
}

// Subscribe to every change of one collection.  onChange receives
// {type, record, old_record, commit_timestamp}.  Returns {close()}.
export function watchCollection(session, table, { onChange, onState } = {}) {
  const socket = new RealtimeSocket(session.apikey, { onStatus: (s, d) => onState && s !== 'open' && onState(s, d) });
  const payload = {
    config: {
      broadcast: { ack: false, self: false },
      presence: { key: '', enabled: false },
      postgres_changes: [{ event: '*', schema: 'public', table }],
      private: false,
    },
    access_token: session.token,
  };
  socket.channel(`realtime:console-${table}`, payload, {
    onEvent: (event, p) => {
      if (event === 'postgres_changes' && p.data && onChange) onChange(p.data);
    },
    onState,
  }).join();
  return { close: () => socket.close(), socket };
}
