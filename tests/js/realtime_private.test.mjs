// Private realtime channels (config.private: true) on both listeners, with
// the unmodified supabase-js client: the realtime rules set through
// /admin/v1/realtime/rules decide who may join and receive (select) and who
// may send and track presence (insert), over realtime.topic,
// realtime.extension, realtime.presence_key and auth.*.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createClient } from '@supabase/supabase-js';
import { startServer, admin, request, freePort, sleep, mintToken } from './lib/server.mjs';

const clientOpts = () => ({
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  realtime: { transport: WebSocket },
});

async function until(pred, what, ms = 5000) {
  const t0 = Date.now();
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Subscribe; resolve to the first decisive status and its error. */
const subscribe = (ch) => new Promise((res) => ch.subscribe((status, err) => {
  if (status !== 'CLOSED') res({ status, err });
}));

const RULES = {
  // members: signed-in users; readonly: anyone reads; inbox named by the uid: its owner
  select: "realtime.topic == 'members' && auth.role == 'authenticated' || realtime.topic == 'readonly' || realtime.topic == auth.uid",
  insert: "realtime.topic == 'members' && auth.role == 'authenticated'",
};

for (const mode of ['main', 'lws']) {
  describe(`private channels over ${mode === 'main' ? 'the main port (civetweb)' : '--realtime-port (libwebsockets)'}`, () => {
    let server, rtUrl;
    const made = [];
    const users = {};
    /** A realtime client (on the listener under test) signed in as token, or anon. */
    const mk = async (token, url) => {
      const c = createClient(url || rtUrl, server.anonKey, clientOpts());
      made.push(c);
      if (token) await c.realtime.setAuth(token);
      return c;
    };
    const user = (sub, email) => mintToken(server, { sub, email, role: 'authenticated', aud: 'authenticated', session_id: `s-${sub}` });

    before(async () => {
      const args = [];
      let port;
      if (mode === 'lws') { port = await freePort(); args.push('--realtime-port', String(port), '--realtime-threads', '2'); }
      server = await startServer({ args });
      rtUrl = `http://127.0.0.1:${mode === 'lws' ? port : server.port}`;
      users.a = { id: '0190a1a1-0000-7000-8000-00000000000a', email: 'a@example.com' };
      users.b = { id: '0190a1a1-0000-7000-8000-00000000000b', email: 'b@example.com' };
      users.a.token = user(users.a.id, users.a.email);
      users.b.token = user(users.b.id, users.b.email);
    });
    after(async () => {
      for (const c of made) await c.removeAllChannels();
      await server.stop({ expectExit0: true });
    });

    test('without rules a private channel is closed to users; public channels are unchanged; service_role passes', async () => {
      const a = await mk(users.a.token);
      const ch = a.channel('members', { config: { private: true } });
      const r = await subscribe(ch);
      assert.equal(r.status, 'CHANNEL_ERROR');
      assert.equal(r.err.message, 'Unauthorized: You do not have permissions to read from this Channel topic: members');
      await a.removeChannel(ch);
      const pub = a.channel('members');
      assert.equal((await subscribe(pub)).status, 'SUBSCRIBED');
      const svc = createClient(rtUrl, server.serviceKey, clientOpts());
      made.push(svc);
      assert.equal((await subscribe(svc.channel('anything', { config: { private: true } }))).status, 'SUBSCRIBED');
    });

    test('admin API: set, read back, and refuse bad rules with the position', async () => {
      let r = await admin(server, 'PUT', '/realtime/rules', RULES);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body, RULES);
      r = await admin(server, 'GET', '/realtime/rules');
      assert.deepEqual(r.body, RULES);
      r = await admin(server, 'PATCH', '/realtime/rules', { select: 'doc.owner == auth.uid' });
      assert.equal(r.status, 400);
      assert.match(r.body.message, /^rule for select: realtime rules see realtime\.topic.* at position 1$/);
      r = await admin(server, 'PATCH', '/realtime/rules', { update: 'true' });
      assert.equal(r.status, 400);
      assert.match(r.body.message, /unknown operation "update".*select or insert/);
      r = await admin(server, 'PATCH', '/realtime/rules', { insert: "realtime.topik == 'x'" });
      assert.equal(r.status, 400);
      assert.match(r.body.message, /unknown realtime field.*position 10/);
      r = await request(server, 'PUT', '/admin/v1/realtime/rules', { key: users.a.token, json: { select: 'true' } });
      assert.ok(r.status === 401 || r.status === 403, `a user token may not change the rules: ${r.status}`);
      r = await admin(server, 'GET', '/realtime/rules');
      assert.deepEqual(r.body, RULES, 'refused changes left the rules as they were');
    });

    test('join: anon denied, users allowed; broadcast between users; anon may read readonly but not send', async () => {
      const anon = await mk(null);
      const denied = anon.channel('members', { config: { private: true } });
      const r = await subscribe(denied);
      assert.equal(r.status, 'CHANNEL_ERROR');
      assert.match(r.err.message, /^Unauthorized: You do not have permissions to read from this Channel topic: members$/);
      await anon.removeChannel(denied);

      const a = await mk(users.a.token), b = await mk(users.b.token);
      const got = [];
      const ca = a.channel('members', { config: { private: true, broadcast: { ack: true } } });
      const cb = b.channel('members', { config: { private: true } }).on('broadcast', { event: 'hi' }, (m) => got.push(m.payload));
      assert.equal((await subscribe(ca)).status, 'SUBSCRIBED');
      assert.equal((await subscribe(cb)).status, 'SUBSCRIBED');
      assert.equal(await ca.send({ type: 'broadcast', event: 'hi', payload: { n: 1 } }), 'ok');
      await until(() => got.length === 1, 'private broadcast a -> b');
      assert.deepEqual(got, [{ n: 1 }]);

      // a public channel of the same name is another channel: nothing crosses
      const pubGot = [];
      const pub = anon.channel('members').on('broadcast', { event: 'hi' }, (m) => pubGot.push(m.payload));
      assert.equal((await subscribe(pub)).status, 'SUBSCRIBED');
      await pub.send({ type: 'broadcast', event: 'hi', payload: { n: 'public' } });
      assert.equal(await ca.send({ type: 'broadcast', event: 'hi', payload: { n: 2 } }), 'ok');
      await until(() => got.length === 2, 'second private broadcast');
      await sleep(150);
      assert.deepEqual(got, [{ n: 1 }, { n: 2 }]);
      assert.deepEqual(pubGot, []);

      // readonly: anon joins and receives what service_role sends, but may not send
      const ro = anon.channel('readonly', { config: { private: true, broadcast: { ack: true } } });
      const roGot = [];
      ro.on('broadcast', { event: 'news' }, (m) => roGot.push(m.payload));
      assert.equal((await subscribe(ro)).status, 'SUBSCRIBED');
      assert.equal(await ro.send({ type: 'broadcast', event: 'news', payload: { x: 1 } }), 'error');
      const svcClient = createClient(server.url, server.serviceKey, clientOpts());
      made.push(svcClient);
      const svcCh = svcClient.channel('readonly', { config: { private: true } });
      assert.equal((await svcCh.httpSend('news', { x: 2 })).success, true);
      await until(() => roGot.length === 1, 'service broadcast on readonly');
      assert.deepEqual(roGot, [{ x: 2 }]);
    });

    test('REST broadcast with private: allowed for a member, refused (403 single, dropped in a batch) otherwise', async () => {
      const b = await mk(users.b.token);
      const got = [];
      const cb = b.channel('members', { config: { private: true } }).on('broadcast', { event: 'rest' }, (m) => got.push(m.payload));
      assert.equal((await subscribe(cb)).status, 'SUBSCRIBED');
      // httpSend as user a (allowed) and as anon (refused)
      const ra = await mk(users.a.token, server.url);
      assert.equal((await ra.channel('members', { config: { private: true } }).httpSend('rest', { from: 'a' })).success, true);
      await until(() => got.length === 1, 'httpSend from a member');
      const anon = await mk(null, server.url);
      await assert.rejects(anon.channel('members', { config: { private: true } }).httpSend('rest', { from: 'anon' }),
        /Unauthorized: You do not have permissions to write to this Channel topic: members/);
      // batch: the private message of anon is dropped, its public one goes, 202
      let r = await request(server, 'POST', '/realtime/v1/api/broadcast', {
        key: 'anon',
        json: { messages: [{ topic: 'members', event: 'rest', payload: { from: 'anon-batch' }, private: true }] },
      });
      assert.equal(r.status, 202);
      r = await request(server, 'POST', '/realtime/v1/api/broadcast', {
        key: users.a.token,
        headers: { apikey: server.anonKey },
        json: { messages: [{ topic: 'members', event: 'rest', payload: { from: 'a-batch' }, private: true }] },
      });
      assert.equal(r.status, 202);
      await until(() => got.length === 2, 'batch from a member');
      await sleep(150);
      assert.deepEqual(got, [{ from: 'a' }, { from: 'a-batch' }]);
      // a private message never reaches the public channel of that name
      r = await request(server, 'POST', '/realtime/v1/api/broadcast/members/events/rest?private=true', { key: 'service', json: { from: 'svc' } });
      assert.equal(r.status, 202);
      await until(() => got.length === 3, 'service httpSend');
    });

    test('presence: a user tracks under its uid; another key is refused; a rule reading presence_key decides keys', async () => {
      await admin(server, 'PUT', '/realtime/rules', RULES);
      const a = await mk(users.a.token), b = await mk(users.b.token);
      const ca = a.channel('members', { config: { private: true } });
      let synced = 0;
      ca.on('presence', { event: 'sync' }, () => { synced++; });
      assert.equal((await subscribe(ca)).status, 'SUBSCRIBED');
      assert.equal(await ca.track({ online: true }), 'ok');
      await until(() => Object.keys(ca.presenceState()).includes(users.a.id), 'a tracked under its uid');
      // b joins claiming a's uid as its key: the join works, the track does not
      const cb = b.channel('members', { config: { private: true, presence: { key: users.a.id } } });
      assert.equal((await subscribe(cb)).status, 'SUBSCRIBED');
      assert.equal(await cb.track({ online: true, evil: true }), 'error');
      await sleep(150);
      assert.equal(ca.presenceState()[users.a.id].length, 1, 'no second presence under a\'s key');
      assert.ok(synced > 0);
      // anon may not track at all (the insert rule)
      const anon = await mk(null);
      const cro = anon.channel('readonly', { config: { private: true } });
      assert.equal((await subscribe(cro)).status, 'SUBSCRIBED');
      assert.equal(await cro.track({ x: 1 }), 'error');
      // a rule that reads realtime.presence_key decides the key itself: here the e-mail
      const r = await admin(server, 'PATCH', '/realtime/rules', {
        insert: "realtime.topic == 'members' && auth.role == 'authenticated' && (realtime.extension == 'broadcast' || realtime.presence_key == auth.email)",
      });
      assert.equal(r.status, 200, r.text);
      await b.removeChannel(cb);
      const cbe = b.channel('members', { config: { private: true, presence: { key: users.b.email } } });
      assert.equal((await subscribe(cbe)).status, 'SUBSCRIBED');
      assert.equal(await cbe.track({ online: true }), 'ok');
      await until(() => Object.keys(ca.presenceState()).includes(users.b.email), 'b tracked under its e-mail');
      // and a's presence, under its uid, no longer satisfies the rule: untracked
      await until(() => !Object.keys(cbe.presenceState()).includes(users.a.id), 'a untracked after the rule change');
      await admin(server, 'PUT', '/realtime/rules', RULES);
    });

    test('raw frames: the Phoenix shapes of refusals; receiving follows select per extension', async () => {
      await admin(server, 'PUT', '/realtime/rules', {
        select: "realtime.topic == 'readonly' || realtime.topic == 'bonly' && realtime.extension == 'broadcast' || realtime.topic == 'members'",
        insert: "realtime.topic == 'members' || realtime.topic == 'bonly'",
      });
      const base = rtUrl.replace('http', 'ws');
      const open = async (token) => {
        const ws = new WebSocket(`${base}/realtime/v1/websocket?apikey=${encodeURIComponent(server.anonKey)}&vsn=2.0.0`);
        const msgs = [];
        ws.on('message', (d, bin) => { if (!bin) msgs.push(JSON.parse(d.toString())); });
        await new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); });
        let ref = 0;
        const send = (jr, topic, event, payload) => { const r = String(++ref); ws.send(JSON.stringify([jr === 'self' ? r : jr, r, topic, event, payload])); return r; };
        const reply = (r) => until(() => msgs.find((m) => m[1] === r && m[3] === 'phx_reply'), `reply to ${r}`);
        const join = async (topic, cfg) => { const r = send('self', topic, 'phx_join', { config: { private: true, ...cfg }, access_token: token }); return { ref: r, reply: (await reply(r))[4] }; };
        return { ws, msgs, send, reply, join };
      };
      const anon = await open(server.anonKey);
      let j = await anon.join('realtime:secret', {});
      assert.deepEqual(j.reply, { status: 'error', response: { reason: 'Unauthorized: You do not have permissions to read from this Channel topic: secret' } });
      // readonly: joined; a text broadcast with a ref is answered with the refusal and not delivered
      j = await anon.join('realtime:readonly', { broadcast: { self: true, ack: true } });
      assert.equal(j.reply.status, 'ok');
      const sr = anon.send(j.ref, 'realtime:readonly', 'broadcast', { type: 'broadcast', event: 'e', payload: { a: 1 } });
      assert.deepEqual((await anon.reply(sr))[4],
        { status: 'error', response: { reason: 'Unauthorized: You do not have permissions to write to this Channel topic: readonly' } });
      // binary kind 3 alike
      const topic = 'realtime:readonly', pl = Buffer.from('{"b":2}');
      anon.ws.send(Buffer.concat([Buffer.from([3, j.ref.length, 2, topic.length, 1, 0, 1]), Buffer.from(j.ref), Buffer.from('77'), Buffer.from(topic), Buffer.from('e'), pl]));
      assert.equal((await anon.reply('77'))[4].status, 'error');
      await sleep(100);
      assert.equal(anon.msgs.filter((m) => m[3] === 'broadcast').length, 0, 'a refused broadcast is not delivered, not even to self');
      // bonly: broadcast yes, presence no: no presence_state, no diffs
      const u = await open(users.a.token);
      const jb = await u.join('realtime:bonly', { presence: { key: '', enabled: true }, broadcast: { self: true } });
      assert.equal(jb.reply.status, 'ok');
      const tr = u.send(jb.ref, 'realtime:bonly', 'presence', { type: 'presence', event: 'track', payload: { on: true } });
      assert.equal((await u.reply(tr))[4].status, 'ok', 'the insert rule lets a track under its uid');
      u.send(jb.ref, 'realtime:bonly', 'broadcast', { type: 'broadcast', event: 'e', payload: {} });
      await until(() => u.msgs.find((m) => m[3] === 'broadcast'), 'own broadcast (self)');
      assert.equal(u.msgs.filter((m) => m[3] === 'presence_state' || m[3] === 'presence_diff').length, 0);
      // members: a track under another key is refused with the reason
      const jm = await u.join('realtime:members', { presence: { key: 'someone-else', enabled: true } });
      assert.equal(jm.reply.status, 'ok');
      const t2 = u.send(jm.ref, 'realtime:members', 'presence', { type: 'presence', event: 'track', payload: {} });
      assert.match((await u.reply(t2))[4].response.reason, /^Unauthorized: presence key "someone-else" is not your user id/);
      anon.ws.close();
      u.ws.close();
      await admin(server, 'PUT', '/realtime/rules', RULES);
    });

    test('rule changes and token changes re-check joined channels', async () => {
      await admin(server, 'PUT', '/realtime/rules', RULES);
      // a's inbox (topic = a's uid) is a's alone
      const a = await mk(users.a.token);
      const sys = [];
      let closed = false;
      const inbox = a.channel(users.a.id, { config: { private: true } }).on('system', {}, (p) => sys.push(p));
      const sub = new Promise((res) => inbox.subscribe((s) => { if (s === 'SUBSCRIBED') res(); if (s === 'CLOSED') closed = true; }));
      await sub;
      const b = await mk(users.b.token);
      const r = await subscribe(b.channel(users.a.id, { config: { private: true } }));
      assert.equal(r.status, 'CHANNEL_ERROR');
      // a's token replaced by b's: the inbox is closed
      await a.realtime.setAuth(users.b.token);
      await until(() => sys.find((p) => p.status === 'error'), 'system error after the token change');
      assert.equal(sys.find((p) => p.status === 'error').message,
        `You no longer have permission to read from this Channel topic: ${users.a.id}`);
      await until(() => closed, 'channel closed');

      // members, then the select rule is removed: the joined channel is closed
      const c = await mk(users.a.token);
      const sys2 = [];
      let closed2 = false;
      const m = c.channel('members', { config: { private: true } }).on('system', {}, (p) => sys2.push(p));
      await new Promise((res) => m.subscribe((s) => { if (s === 'SUBSCRIBED') res(); if (s === 'CLOSED') closed2 = true; }));
      const pr = await admin(server, 'PATCH', '/realtime/rules', { select: null });
      assert.equal(pr.status, 200);
      assert.deepEqual(pr.body, { insert: RULES.insert });
      await until(() => closed2, 'members channel closed by the rule change');
      assert.equal(sys2.find((p) => p.status === 'error').message, 'You no longer have permission to read from this Channel topic: members');
      await admin(server, 'PUT', '/realtime/rules', RULES);
    });
  });
}
