// chat.test.js — PROTOCOL.md "chat.send — participants" and "chat.history",
// against the real binary: messages of the clinician and the specialist in an
// accepted and an in-progress consult (the ok's message, the chat.message
// notice to every connection of every participant and to no one else, seq from
// 1); attachments sent in the chat (bound by it, listed in the message,
// readable by the other participants); the errors (not visible, not a
// participant, wrong state, text and attachments checks, someone else's or an
// already bound file) and that an error changes nothing; chat.history (oldest
// first, the last 200, before_seq paging over 210 messages, who may read it);
// and the history surviving a restart on the same data dir.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Gateway, apiRequest, assertErrorReply as assertError, cleanup, consultRequest, okConsult, tempDir } from '../lib/gateway.js';
import { tinyPdf, tinyPng } from '../lib/files.js';

const SET = { 'limits.rate': 2000, 'limits.burst': 2000 };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const u = (role, tenant, subject, extra = {}) => ({ role, tenant, subject, name: `${role} ${subject}`, ...extra });
const CLIN = { role: 'clinician', tenant: 'kirov', name: 'Фельдшер Анна Петрова', subject: 'chat-clin' };
const SPEC = { role: 'specialist', tenant: 'kirov', name: 'Dr Elena Ivanova', subject: 'chat-spec', specialties: ['cardiology'] };
const COORD = u('coordinator', 'kirov', 'chat-coord');

// ---- helpers ---------------------------------------------------------------------------

/** Uploads bytes as `client` (its token, or {invite}) and asserts 201; returns the attachment. */
async function uploadOk(gw, client, bytes = tinyPng(), type = 'image/png', name = 'ECG 12 leads.png') {
  const auth = client.invite ? `Invite ${client.invite}` : `Bearer ${client.token}`;
  const r = await apiRequest(gw, { method: 'POST', path: '/api/attachments',
    headers: { Authorization: auth, 'Content-Type': type, 'X-File-Name': encodeURIComponent(name) }, body: bytes });
  assert.equal(r.status, 201, `upload: ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
  return r.json;
}

function download(gw, client, id) {
  return apiRequest(gw, { path: `/api/attachments/${id}`, headers: { Authorization: `Bearer ${client.token}` } });
}

/** chat.send → ok; returns the message. */
async function say(c, consultId, text, attachments) {
  const msg = { type: 'chat.send', consult_id: consultId, text };
  if (attachments) msg.attachments = attachments;
  const r = await c.request(msg);
  assert.equal(r.type, 'ok', `chat.send: ${JSON.stringify(r).slice(0, 500)}`);
  assert.ok(r.message, `ok carries the message: ${JSON.stringify(r).slice(0, 500)}`);
  return r.message;
}

async function history(c, consultId, extra = {}) {
  const r = await c.request({ type: 'chat.history', consult_id: consultId, ...extra });
  assert.equal(r.type, 'chat.history', JSON.stringify(r).slice(0, 500));
  assert.equal(r.consult_id, consultId);
  assert.ok(Array.isArray(r.messages));
  return r.messages;
}

const chatNotice = (c, consultId, pred = () => true) =>
  c.nextNotice('chat.message', { consultId, where: (m) => pred(m.message) });

const brief = (a) => ({ id: a.id, name: a.name, type: a.type, size: a.size });
const seqs = (messages) => messages.map((m) => m.seq);
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A consult of `clin` accepted by `spec` (who is made available for it). */
async function acceptedConsult(clin, spec, over = {}) {
  assert.equal((await spec.request({ type: 'presence.set', status: 'available' })).type, 'ok');
  const c = okConsult(await clin.request(consultRequest(over)));
  return okConsult(await spec.request({ type: 'consult.accept', consult_id: c.id }));
}

// ---- the tests ---------------------------------------------------------------------------

describe('chat in a consult', () => {
  let gw, clin, clinB, spec, coord, consult;
  const sent = []; // every message of `consult`, in order
  before(async () => {
    gw = await Gateway.start({ set: SET });
    clin = await gw.connectAs(CLIN);
    clinB = await gw.connectAs(CLIN); // the clinician's second connection (another tab)
    spec = await gw.connectAs(SPEC);
    coord = await gw.connectAs(COORD);
    consult = await acceptedConsult(clin, spec);
    assert.equal(consult.state, 'accepted');
  });
  after(cleanup);

  test('accepted: the clinician writes; ok carries the message; every participant connection gets chat.message, others do not', async () => {
    for (const c of [clin, clinB, spec, coord]) c.skipAll();
    const t0 = Date.now();
    const reply = await clin.request({ type: 'chat.send', consult_id: consult.id, text: 'Here is the ECG from 14:05.' });
    assert.equal(reply.type, 'ok', JSON.stringify(reply));
    const m = reply.message;
    assert.match(m.id, UUID);
    assert.equal(m.consult_id, consult.id);
    assert.equal(m.seq, 1, 'seq numbers a consult\'s messages from 1');
    assert.equal(typeof m.at, 'number');
    assert.ok(m.at >= t0 - 60000 && m.at <= Date.now() + 60000, `at is epoch ms: ${m.at}`);
    assert.deepEqual(m.from, { subject: 'chat-clin', name: 'Фельдшер Анна Петрова', role: 'clinician' });
    assert.equal(m.text, 'Here is the ECG from 14:05.');
    assert.deepEqual(m.attachments, [], 'a message without files has an empty attachments array');
    sent.push(m);

    // The sender's own connection gets the notice too, before the reply.
    const noteIdx = clin.log.findIndex((x) => x.type === 'chat.message' && x.message?.id === m.id);
    assert.ok(noteIdx >= 0 && noteIdx < clin.log.indexOf(reply), 'the sender gets chat.message before its ok');
    const own = clin.log[noteIdx];
    assert.equal(own.id, undefined, 'notices carry no id');
    assert.equal(own.consult_id, consult.id);
    assert.deepEqual(own.message, m);
    for (const c of [clinB, spec]) {
      const n = await chatNotice(c, consult.id, (x) => x.id === m.id);
      assert.deepEqual(n.message, m, 'every participant connection gets the same message');
    }
    // The coordinator of the centre follows the consult: the same notice.
    const cn = await chatNotice(coord, consult.id, (x) => x.id === m.id);
    assert.deepEqual(cn.message, m, 'the coordinator of the centre gets the message too');
    await clin.barrier();
    assert.equal(clin.received((x) => x.type === 'chat.message').length, 1, 'the sender gets exactly one notice');
  });

  test('in_progress: the specialist and the clinician write; seq grows by one; text keeps its newlines', async () => {
    okConsult(await clin.request({ type: 'consult.join', consult_id: consult.id }));
    assert.equal(okConsult(await spec.request({ type: 'consult.join', consult_id: consult.id })).state, 'in_progress');
    const m2 = await say(spec, consult.id, 'ST elevation V2–V4.\nStart thrombolysis.');
    assert.equal(m2.seq, 2);
    assert.deepEqual(m2.from, { subject: 'chat-spec', name: 'Dr Elena Ivanova', role: 'specialist' });
    assert.equal(m2.text, 'ST elevation V2–V4.\nStart thrombolysis.');
    for (const c of [clin, clinB, spec]) assert.deepEqual((await chatNotice(c, consult.id, (x) => x.id === m2.id)).message, m2);
    const m3 = await say(clinB, consult.id, 'Понятно, начинаем.');
    assert.equal(m3.seq, 3);
    assert.ok(m3.at >= m2.at, 'stored in order');
    for (const c of [clin, clinB, spec]) assert.deepEqual((await chatNotice(c, consult.id, (x) => x.id === m3.id)).message, m3);
    sent.push(m2, m3);
  });

  test('text: 4,000 bytes are accepted, one more is invalid; empty only with attachments', async () => {
    const ascii = await say(clin, consult.id, 'x'.repeat(4000));
    assert.equal(ascii.text.length, 4000);
    const cyr = await say(spec, consult.id, 'Ж'.repeat(2000)); // 4,000 bytes
    assert.equal(cyr.text, 'Ж'.repeat(2000));
    sent.push(ascii, cyr);
    assertError(await clin.request({ type: 'chat.send', consult_id: consult.id, text: 'x'.repeat(4001) }), 'invalid', 'text');
    assertError(await clin.request({ type: 'chat.send', consult_id: consult.id, text: 'Ж'.repeat(2000) + 'x' }), 'invalid', 'text');
    assertError(await clin.request({ type: 'chat.send', consult_id: consult.id, text: '' }), 'invalid', 'text');
    assertError(await clin.request({ type: 'chat.send', consult_id: consult.id, text: '', attachments: [] }), 'invalid', 'text');
    assertError(await clin.request({ type: 'chat.send', consult_id: consult.id, text: 42 }), 'invalid', 'text');
    assertError(await clin.request({ type: 'chat.send', consult_id: consult.id, text: ['hi'] }), 'invalid', 'text');
    assertError(await clin.request({ type: 'chat.send', text: 'no consult' }), 'invalid', 'consult_id');
    assertError(await clin.request({ type: 'chat.send', consult_id: 'not-a-uuid', text: 'x' }), 'invalid', 'consult_id');
  });

  test('attachments in the chat: bound by chat.send, listed in the message, readable by the other participants', async () => {
    const png = tinyPng([10, 200, 10]);
    const pdf = tinyPdf('Discharge letter, 12 May');
    const a1 = await uploadOk(gw, clin, png, 'image/png', 'ECG 12 leads.png');
    const a2 = await uploadOk(gw, clin, pdf, 'application/pdf', 'discharge letter.pdf');
    assert.equal((await download(gw, spec, a1.id)).status, 404, 'not readable by the specialist before it is sent');

    const m = await say(clin, consult.id, '', [a1.id, a2.id]);
    assert.equal(m.text, '', 'an empty text is allowed with attachments');
    assert.deepEqual(m.attachments, [brief(a1), brief(a2)], 'listed in the order sent, as {id, name, type, size}');
    const n = await chatNotice(spec, consult.id, (x) => x.id === m.id);
    assert.deepEqual(n.message.attachments, [brief(a1), brief(a2)]);
    sent.push(m);
    for (const [a, bytes] of [[a1, png], [a2, pdf]]) {
      for (const c of [spec, coord]) {
        const r = await download(gw, c, a.id);
        assert.equal(r.status, 200, `${c.user.role} reads ${a.name}: ${r.status}`);
        assert.ok(r.body.equals(bytes));
        assert.equal(r.headers['content-type']?.split(';')[0].trim(), a.type);
      }
    }
    // The specialist's own file, with text.
    const sp = await uploadOk(gw, spec, tinyPng([0, 0, 255]), 'image/png', 'annotated ECG.png');
    const m2 = await say(spec, consult.id, 'See the marked leads.', [sp.id]);
    assert.deepEqual(m2.attachments, [brief(sp)]);
    assert.equal((await download(gw, clin, sp.id)).status, 200);
    // Already bound to this consult: may be sent again by its uploader.
    const m3 = await say(clin, consult.id, 'Again, the ECG.', [a1.id]);
    assert.deepEqual(m3.attachments, [brief(a1)]);
    sent.push(m2, m3);
    // 4 attachments are accepted.
    const four = [];
    for (let i = 0; i < 4; i++) four.push(await uploadOk(gw, clin, tinyPng([i, i, i]), 'image/png', `slice ${i}.png`));
    const m4 = await say(clin, consult.id, 'CT slices', four.map((a) => a.id));
    assert.deepEqual(m4.attachments.map((a) => a.id), four.map((a) => a.id));
    sent.push(m4);
  });

  test('attachment errors: 5 → invalid; someone else\'s → not_found; bound to another consult → exists; nothing is sent', async () => {
    const five = [];
    for (let i = 0; i < 5; i++) five.push((await uploadOk(gw, clin, tinyPng([i, 1, 1]), 'image/png', `x ${i}.png`)).id);
    assertError(await clin.request({ type: 'chat.send', consult_id: consult.id, text: 'five', attachments: five }), 'invalid', 'attachments');
    assertError(await clin.request({ type: 'chat.send', consult_id: consult.id, text: 'dup', attachments: [five[0], five[0]] }), 'invalid', 'attachments');
    assertError(await clin.request({ type: 'chat.send', consult_id: consult.id, text: 'bad', attachments: 'x' }), 'invalid', 'attachments');
    assertError(await clin.request({ type: 'chat.send', consult_id: consult.id, text: 'bad', attachments: [7] }), 'invalid', 'attachments');

    const specsOwn = await uploadOk(gw, spec, tinyPng(), 'image/png', 'spec only.png');
    assertError(await clin.request({ type: 'chat.send', consult_id: consult.id, text: 'theirs', attachments: [specsOwn.id] }), 'not_found', 'attachments');
    assertError(await clin.request({ type: 'chat.send', consult_id: consult.id, text: 'unknown', attachments: [crypto.randomUUID()] }), 'not_found', 'attachments');
    // Bound to this consult but uploaded by the clinician: still not the specialist's to send.
    const clinBound = sent.find((m) => m.from.subject === 'chat-clin' && m.attachments.length).attachments[0];
    assertError(await spec.request({ type: 'chat.send', consult_id: consult.id, text: 'not mine', attachments: [clinBound.id] }), 'not_found', 'attachments');

    // Bound to another consult of the same clinician → exists.
    const elsewhere = await uploadOk(gw, clin, tinyPng(), 'image/png', 'other patient.png');
    const other = okConsult(await clin.request(consultRequest({ specialty: 'neurology', urgency: 'planned', attachments: [elsewhere.id] })));
    assertError(await clin.request({ type: 'chat.send', consult_id: consult.id, text: 'wrong patient', attachments: [elsewhere.id] }), 'exists', 'attachments');
    // A good one next to a bad one: nothing is sent, the good one is not bound.
    assertError(await clin.request({ type: 'chat.send', consult_id: consult.id, text: 'mixed', attachments: [five[1], specsOwn.id] }), 'not_found', 'attachments');
    assert.equal((await download(gw, spec, five[1])).status, 404, 'a refused message binds nothing');
    okConsult(await clin.request({ type: 'consult.cancel', consult_id: other.id }));

    // No message was stored or delivered for any of these: the next seq follows on.
    const next = await say(clin, consult.id, 'after the errors');
    assert.equal(next.seq, sent.at(-1).seq + 1, 'errors change nothing (no seq used up)');
    sent.push(next);
    await spec.barrier();
    const delivered = spec.received((x) => x.type === 'chat.message' && x.consult_id === consult.id).map((x) => x.message.seq);
    assert.deepEqual(delivered, seqs(sent), 'the specialist got exactly the stored messages');
  });

  test('who may write: a coordinator of the centre is no participant (forbidden); others cannot see it (not_found)', async () => {
    assertError(await coord.request({ type: 'chat.send', consult_id: consult.id, text: 'coordinator here' }), 'forbidden');
    for (const user of [u('clinician', 'perm', 'chat-clin'), u('clinician', 'kirov', 'chat-clin-2'), u('coordinator', 'perm', 'chat-coord-p'),
      u('specialist', 'kirov', 'chat-spec-2', { specialties: ['cardiology'] })]) {
      const c = await gw.connectAs(user);
      assertError(await c.request({ type: 'chat.send', consult_id: consult.id, text: 'hello?' }), 'not_found');
      assertError(await c.request({ type: 'chat.history', consult_id: consult.id }), 'not_found');
      await c.barrier();
      assert.deepEqual(c.received((x) => x.type === 'chat.message'), [], `${user.subject}@${user.tenant} got no chat.message`);
    }
    assertError(await clin.request({ type: 'chat.send', consult_id: '00000000-0000-4000-8000-000000000000', text: 'x' }), 'not_found');
  });

  test('an invitation guest is a participant: gets the messages, writes, reads the history', async () => {
    const inv = await clin.request({ type: 'consult.invite', consult_id: consult.id, role: 'patient', name: 'Иван Сидоров' });
    assert.equal(inv.type, 'invite', JSON.stringify(inv));
    const g = await gw.connect();
    assert.equal((await g.request({ type: 'hello', invite: inv.code })).type, 'welcome');
    assert.deepEqual(seqs(await history(g, consult.id)), seqs(sent));
    const m = await say(g, consult.id, 'Мне уже лучше.');
    assert.equal(m.from.role, 'patient');
    assert.match(m.from.subject, /^guest-[0-9a-f]{16}$/);
    assert.equal(m.from.name, 'Иван Сидоров');
    for (const c of [clin, clinB, spec]) await chatNotice(c, consult.id, (x) => x.id === m.id);
    sent.push(m);
    const reply = await say(spec, consult.id, 'Good. Stay in bed.');
    assert.deepEqual((await chatNotice(g, consult.id, (x) => x.id === reply.id)).message, reply);
    sent.push(reply);
  });

  test('chat.history: every message, oldest first, as sent; for the participants and the coordinator of the centre', async () => {
    const expected = sent.slice().sort((a, b) => a.seq - b.seq);
    assert.deepEqual(seqs(expected), range(1, expected.length), 'seq has no gaps');
    for (const c of [clin, clinB, spec, coord]) {
      const msgs = await history(c, consult.id);
      assert.deepEqual(msgs, expected, `${c.user.role} reads the same history`);
    }
    assert.deepEqual(await history(clin, consult.id, { before_seq: 3 }), expected.slice(0, 2));
    assert.deepEqual(await history(clin, consult.id, { before_seq: 1 }), []);
    assert.deepEqual(await history(clin, consult.id, { before_seq: 100000 }), expected);
    for (const bad of [0, -1, 1.5, '3', true, [3]]) {
      assertError(await clin.request({ type: 'chat.history', consult_id: consult.id, before_seq: bad }), 'invalid', 'before_seq');
    }
    // A consult without messages has an empty history.
    const quiet = okConsult(await clin.request(consultRequest({ specialty: 'dermatology', urgency: 'planned' })));
    assert.deepEqual(await history(clin, quiet.id), []);
    okConsult(await clin.request({ type: 'consult.cancel', consult_id: quiet.id }));
  });

  test('wrong_state: requested, offered, cancelled and ended consults take no messages; the history stays readable', async () => {
    const requested = okConsult(await clin.request(consultRequest({ specialty: 'oncology', urgency: 'planned' })));
    assert.equal(requested.state, 'requested');
    assertError(await clin.request({ type: 'chat.send', consult_id: requested.id, text: 'anyone?' }), 'wrong_state');
    const offered = okConsult(await clin.request(consultRequest({ urgency: 'urgent' })));
    assert.equal(offered.state, 'offered');
    assertError(await clin.request({ type: 'chat.send', consult_id: offered.id, text: 'anyone?' }), 'wrong_state');
    okConsult(await clin.request({ type: 'consult.cancel', consult_id: requested.id }));
    assertError(await clin.request({ type: 'chat.send', consult_id: requested.id, text: 'cancelled' }), 'wrong_state');
    okConsult(await clin.request({ type: 'consult.cancel', consult_id: offered.id }));

    okConsult(await spec.request({ type: 'consult.end', consult_id: consult.id }));
    assertError(await clin.request({ type: 'chat.send', consult_id: consult.id, text: 'one more thing' }), 'wrong_state');
    assertError(await spec.request({ type: 'chat.send', consult_id: consult.id, text: 'one more thing' }), 'wrong_state');
    assert.deepEqual(seqs(await history(clin, consult.id)), seqs(sent), 'the history of an ended consult is still there');
    assert.deepEqual(seqs(await history(coord, consult.id)), seqs(sent));
  });

  test('210 messages: the history gives the last 200; before_seq pages back', async () => {
    const c = await acceptedConsult(clin, spec, { urgency: 'urgent', reason: 'A long conversation.' });
    const N = 210;
    // Several in flight at once (the rate limit is raised for this gateway),
    // alternating senders; each is acknowledged.
    for (let i = 0; i < N; i += 30) {
      const batch = [];
      for (let j = i; j < Math.min(N, i + 30); j++) batch.push((j % 3 === 0 ? spec : clin).request({ type: 'chat.send', consult_id: c.id, text: `message ${j}` }));
      for (const r of await Promise.all(batch)) assert.equal(r.type, 'ok', JSON.stringify(r));
    }
    const last = await history(clin, c.id);
    assert.equal(last.length, 200);
    assert.deepEqual(seqs(last), range(11, 210), 'the last 200, oldest first');
    const older = await history(clin, c.id, { before_seq: 11 });
    assert.deepEqual(seqs(older), range(1, 10));
    assert.deepEqual(await history(clin, c.id, { before_seq: 1 }), []);
    assert.deepEqual(seqs(await history(spec, c.id, { before_seq: 150 })), range(1, 149));
    assert.deepEqual(seqs(await history(spec, c.id, { before_seq: 205 })), range(5, 204));
    assert.deepEqual(seqs(await history(coord, c.id, { before_seq: 211 })), range(11, 210));
    // Messages from one sender keep their order.
    const all = [...older, ...last];
    const fromClin = all.filter((m) => m.from.subject === 'chat-clin').map((m) => Number(m.text.split(' ')[1]));
    assert.deepEqual(fromClin, fromClin.slice().sort((a, b) => a - b), 'one connection\'s messages are stored in the order sent');
    assert.equal(new Set(all.map((m) => m.text)).size, N, 'every message once');
    okConsult(await clin.request({ type: 'consult.end', consult_id: c.id }));
  });
});

describe('chat survives a restart', () => {
  after(cleanup);

  test('messages and their attachments are back after SIGTERM; seq carries on', async () => {
    const dataDir = path.join(tempDir('consilium-chat-'), 'data');
    const gw1 = await Gateway.start({ dataDir, set: SET });
    const clin = await gw1.connectAs(CLIN);
    const spec = await gw1.connectAs(SPEC);
    const c = await acceptedConsult(clin, spec);
    const png = tinyPng([1, 2, 3]);
    const a = await uploadOk(gw1, clin, png, 'image/png', 'ECG before restart.png');
    const msgs = [
      await say(clin, c.id, 'Before the restart.'),
      await say(spec, c.id, 'Noted.\nSecond line.'),
      await say(clin, c.id, '', [a.id]),
    ];
    await gw1.stop();

    const gw2 = await Gateway.start({ dataDir, set: SET });
    const clin2 = await gw2.connectAs({ token: clin.token });
    const spec2 = await gw2.connectAs({ token: spec.token });
    assert.deepEqual(await history(clin2, c.id), msgs, 'the same messages, byte for byte');
    assert.deepEqual(await history(spec2, c.id), msgs);
    const r = await download(gw2, spec2, a.id);
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(png));
    const next = await say(spec2, c.id, 'After the restart.');
    assert.equal(next.seq, 4, 'seq carries on after a restart');
    assert.deepEqual((await chatNotice(clin2, c.id, (x) => x.id === next.id)).message, next);
    await gw2.stop();
  });
});
