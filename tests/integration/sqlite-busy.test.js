// sqlite-busy.test.js — SQLite busy or locked (issue 8, "Faults"): writes are
// retried, an acknowledged write is never lost, and a lock that outlasts the
// retries is a clear error, not a crash.
//
//   cd tests && CONSILIUM_BIN=/work/main/build/consilium node --test integration/sqlite-busy.test.js
//
// Another process (tests/tools/sqlite_lock, built next to the gateway binary
// by the Makefile's tools rule) holds the write lock of <data_dir>/consilium.db
// the way a backup or someone in the sqlite3 shell would, while clients of a
// running gateway send requests:
//
// (a) A lock shorter than a write's wait (gateway/storage/storage.c: 2 s for
//     each statement, the transaction tried twice): a consult.request,
//     a consult.accept, chat from both sides, a new user's hello, made while
//     it is held, all succeed once it is released; after a kill -9 and a
//     restart on the same data folder every acknowledged one is there.
// (b) A lock longer than every retry (held until the test ends it): the
//     requests made meanwhile get the `storage` error and are not kept (not
//     in memory, not after a restart); once they have failed, other clients
//     are served while the lock is still held (ping, sync, chat.history,
//     /healthz: reads go on in WAL mode); after the release the same requests
//     succeed; after a kill -9 and a restart everything acknowledged is there
//     and nothing refused is; the gateway exits 0 on SIGTERM.
//
// The signalling thread runs SQLite: while a write waits for the lock, no
// client is served; after a write gave up, the next ones within a back-off
// fail at once instead of waiting again, so a long lock costs the others a
// few seconds now and then. How long a ping from an unrelated client waited
// is printed (t.diagnostic), not asserted: waits are bounded and generous.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Gateway, cleanup, consultRequest, okConsult, tempDir } from '../lib/gateway.js';
import { LOCK_TOOL, lockDb, releaseLocks } from '../lib/sqlite-lock.js';

const SET = { 'limits.rate': 1000, 'limits.burst': 1000 };
const SHORT_LOCK_MS = 1500;           // (a): under the 2 s a statement waits
const LONG_LOCK_MS = 180000;          // (b): ended by the test, after every retry has failed
const REPLY_WAIT = 120000;            // a request waiting for the lock: every retry and then some

const CLIN = { role: 'clinician', tenant: 'kirov', name: 'Фельдшер Анна Петрова', subject: 'busy-clin' };
const SPEC1 = { role: 'specialist', tenant: 'kirov', name: 'Dr Elena Ivanova', subject: 'busy-spec1', specialties: ['cardiology'] };
const SPEC2 = { role: 'specialist', tenant: 'kirov', name: 'Dr Pavel Orlov', subject: 'busy-spec2', specialties: ['cardiology'] };
const COORD = { role: 'coordinator', tenant: 'kirov', name: 'Oleg Smirnov', subject: 'busy-coord' };
const LATE = { role: 'clinician', tenant: 'kirov', name: 'Фельдшер Ольга Новикова', subject: 'busy-late' };


/** Sends a request now; resolves { reply, ms } with ms counted from t0. */
function timed(client, msg, t0) {
  return client.request(msg, REPLY_WAIT).then((reply) => ({ reply, ms: Date.now() - t0 }));
}

async function chatHistory(c, consultId) {
  const r = await c.request({ type: 'chat.history', consult_id: consultId });
  assert.equal(r.type, 'chat.history', JSON.stringify(r).slice(0, 500));
  return r.messages;
}

async function sync(c) {
  const r = await c.request({ type: 'sync' });
  assert.equal(r.type, 'state', JSON.stringify(r).slice(0, 300));
  return r.consults;
}

function assertStorageError(r, what) {
  assert.equal(r.type, 'error', `${what}: ${JSON.stringify(r).slice(0, 500)}`);
  assert.equal(r.code, 'storage', `${what}: ${JSON.stringify(r).slice(0, 500)}`);
}

describe('SQLite busy or locked', () => {
  let dataDir;
  let gw;
  let db;
  let c;                 // clients of the gateway now running
  let consultA;          // accepted by SPEC1: the chat's consult
  const acked = { consults: new Map(), chat: [] };   // everything acknowledged, by id

  /** Connects everyone to the gateway now running. */
  async function connectAll() {
    c = {
      clin: await gw.connectAs(CLIN), spec1: await gw.connectAs(SPEC1),
      spec2: await gw.connectAs(SPEC2), coord: await gw.connectAs(COORD),
    };
  }

  /** kill -9, restart on the same data folder, reconnect; then every
   *  acknowledged consult and chat message is there, as acknowledged. */
  async function crashAndCheck(refusedTexts = []) {
    await gw.kill9();
    gw = await Gateway.start({ dataDir, set: SET });
    await connectAll();
    const seen = new Map((await sync(c.coord)).map((x) => [x.id, x]));
    for (const [id, want] of acked.consults) {
      const got = seen.get(id);
      assert.ok(got, `acknowledged consult ${id} survived the kill -9`);
      assert.equal(got.state, want.state, `consult ${id}: ${JSON.stringify(got).slice(0, 300)}`);
      assert.equal(got.specialist?.subject ?? null, want.specialist?.subject ?? null, `consult ${id}'s specialist`);
    }
    const messages = await chatHistory(c.clin, consultA.id);
    for (const m of acked.chat) {
      const got = messages.find((x) => x.id === m.id);
      assert.ok(got, `acknowledged chat message ${m.seq} survived the kill -9: ${JSON.stringify(messages.map((x) => [x.seq, x.text]))}`);
      assert.deepEqual(got, m);
    }
    assert.equal(messages.length, acked.chat.length, `no message but the acknowledged ones: ${JSON.stringify(messages.map((x) => [x.seq, x.text]))}`);
    for (const text of refusedTexts) {
      assert.equal(messages.filter((x) => x.text === text).length, acked.chat.filter((x) => x.text === text).length,
        `a refused message was not kept: ${text}`);
    }
    return seen;
  }

  before(async () => {
    assert.ok(fs.existsSync(LOCK_TOOL), `${LOCK_TOOL} is missing: build it with make (the integration target builds it)`);
    dataDir = path.join(tempDir('consilium-busy-'), 'data');
    gw = await Gateway.start({ dataDir, set: SET });
    db = path.join(dataDir, 'consilium.db');
    assert.ok(fs.existsSync(db), `the database is ${db}`);
    await connectAll();
    // A consult SPEC1 accepted, to chat in; SPEC2 available for the next.
    assert.equal((await c.spec1.request({ type: 'presence.set', status: 'available' })).type, 'ok');
    const a = okConsult(await c.clin.request(consultRequest({ urgency: 'planned', reason: 'Follow-up after stent, stable.' })));
    consultA = okConsult(await c.spec1.request({ type: 'consult.accept', consult_id: a.id }));
    assert.equal(consultA.state, 'accepted');
    acked.consults.set(consultA.id, consultA);
    assert.equal((await c.spec2.request({ type: 'presence.set', status: 'available' })).type, 'ok');
  });

  after(async () => {
    await releaseLocks();
    await cleanup();
  });

  test('(a) a lock shorter than the busy timeout: requests made meanwhile wait and succeed; all survive kill -9', { timeout: 120000 }, async (t) => {
    const c1 = okConsult(await c.clin.request(consultRequest({ urgency: 'planned', reason: 'Palpitations at night.' })));
    assert.equal(c1.state, 'offered', 'offered to the available SPEC2');
    await c.spec2.next((m) => m.type === 'consult.offered' && m.consult?.id === c1.id, 5000, 'the offer to SPEC2');
    for (const x of Object.values(c)) x.skipAll();

    const lock = await lockDb(db, 'immediate', SHORT_LOCK_MS);
    const t0 = lock.at;
    const late = await gw.connect({ timeout: REPLY_WAIT });   // a user signing in meanwhile
    const pending = {
      request: timed(c.clin, consultRequest({ urgency: 'planned', specialty: 'neurology', mode: 'deferred', reason: 'Transient aphasia yesterday.' }), t0),
      accept: timed(c.spec2, { type: 'consult.accept', consult_id: c1.id }, t0),
      chatClin: timed(c.clin, { type: 'chat.send', consult_id: consultA.id, text: 'ECG sent at 14:05, during the lock.' }, t0),
      chatSpec: timed(c.spec1, { type: 'chat.send', consult_id: consultA.id, text: 'Received, looking now.' }, t0),
      hello: timed(late, { type: 'hello', token: gw.token(LATE) }, t0),
      ping: timed(c.coord, { type: 'ping' }, t0),   // an unrelated client: not a write
    };
    const got = Object.fromEntries(await Promise.all(Object.entries(pending).map(async ([k, p]) => [k, await p])));
    const released = await lock.done;
    assert.equal(released.code, 0, `the lock was held and released: ${JSON.stringify(released)}`);
    t.diagnostic(`lock held ${released.heldMs} ms; replies after the lock was taken (ms): ${Object.entries(got).map(([k, v]) => `${k} ${v.ms}`).join(', ')}`);

    const b = okConsult(got.request.reply);
    assert.equal(b.state, 'requested', 'nobody of neurology is available');
    const accepted = okConsult(got.accept.reply);
    assert.equal(accepted.id, c1.id);
    assert.equal(accepted.state, 'accepted');
    assert.equal(accepted.specialist.subject, SPEC2.subject);
    for (const k of ['chatClin', 'chatSpec']) {
      assert.equal(got[k].reply.type, 'ok', `${k}: ${JSON.stringify(got[k].reply)}`);
      acked.chat.push(got[k].reply.message);
    }
    assert.equal(got.hello.reply.type, 'welcome', JSON.stringify(got.hello.reply).slice(0, 300));
    assert.equal(got.ping.reply.type, 'pong');
    acked.consults.set(b.id, b);
    acked.consults.set(accepted.id, accepted);
    // The other participants were told, as always.
    await c.clin.next((m) => m.type === 'consult.updated' && m.consult?.id === c1.id && m.consult.state === 'accepted', 5000, 'the accept, to the clinician');
    const heard = await c.clin.next((m) => m.type === 'chat.message' && m.message?.id === acked.chat[1].id, 5000, 'SPEC1\'s message, to the clinician');
    assert.deepEqual(heard.message, acked.chat[1]);
    late.terminate();

    await crashAndCheck();
  });

  test('(b) a lock longer than every retry: a clear storage error, nothing refused kept, others served, all well after the release', { timeout: 300000 }, async (t) => {
    for (const x of Object.values(c)) x.skipAll();
    const before = await sync(c.coord);
    const lock = await lockDb(db, 'exclusive', LONG_LOCK_MS);
    const t0 = lock.at;
    const refusedChat = 'Is the ECG attached? (sent during a long lock)';
    const pending = {
      chat: timed(c.clin, { type: 'chat.send', consult_id: consultA.id, text: refusedChat }, t0),
      request: timed(c.clin, consultRequest({ urgency: 'planned', specialty: 'dermatology', reason: 'Pigmented lesion, during a long lock.' }), t0),
      ping: timed(c.coord, { type: 'ping' }, t0),
    };
    const chat = await pending.chat;
    const request = await pending.request;
    const ping = await pending.ping;
    assertStorageError(chat.reply, 'chat.send during the lock');
    assertStorageError(request.reply, 'consult.request during the lock');
    assert.ok(lock.holding, 'the lock was still held when the requests failed');
    t.diagnostic(`replies after the lock was taken (ms): chat.send ${chat.ms} (storage), consult.request ${request.ms} (storage), ` +
      `the coordinator's ping ${ping.ms}`);

    // The lock is still held; nothing is being written: everyone else is served.
    const served0 = Date.now();
    assert.equal((await c.spec2.request({ type: 'ping' })).type, 'pong');
    const now = await sync(c.coord);
    assert.deepEqual(now.map((x) => [x.id, x.state]).sort(), before.map((x) => [x.id, x.state]).sort(),
      'the refused request is not in memory');
    const during = await chatHistory(c.spec1, consultA.id);
    assert.ok(!during.some((m) => m.text === refusedChat), 'the refused message is not in the chat');
    assert.deepEqual(during.map((m) => m.id), acked.chat.map((m) => m.id));
    const health = await gw.http('/healthz');
    assert.equal(health.status, 200, health.body);
    assert.ok(lock.holding, 'all of that while the lock was held');
    t.diagnostic(`ping, sync, chat.history and /healthz served in ${Date.now() - served0} ms while the lock was still held`);
    assert.equal(c.spec1.received((m) => m.type === 'chat.message').length, 0, 'nobody was told of the refused message');

    // Released: the same requests succeed.
    const released = await lock.release();
    assert.equal(released.code, 0, JSON.stringify(released));
    t.diagnostic(`lock held ${released.heldMs} ms`);
    const again = await c.clin.request({ type: 'chat.send', consult_id: consultA.id, text: refusedChat });
    assert.equal(again.type, 'ok', JSON.stringify(again));
    acked.chat.push(again.message);
    const d = okConsult(await c.clin.request(consultRequest({ urgency: 'planned', specialty: 'dermatology', reason: 'Pigmented lesion, after the lock.' })));
    acked.consults.set(d.id, d);
    const heard = await c.spec1.next((m) => m.type === 'chat.message' && m.message?.id === again.message.id, 5000, 'the message sent again');
    assert.deepEqual(heard.message, again.message);

    // A kill -9: everything acknowledged is there, the refused ones are not.
    const seen = await crashAndCheck([refusedChat]);
    assert.equal(seen.size, acked.consults.size, `only the acknowledged consults: ${JSON.stringify([...seen.keys()])}`);
    await gw.stop();
  });
});
