// recording.test.js — PROTOCOL.md "Recording" against the real binary, without
// browsers (tests/e2e/recording-file.test.js records real media): who may ask,
// consent and stop; the consult's recording object in ok and consult.updated;
// the audit trail; errors; a recording with no media failing with a reason;
// who may fetch recorded files over HTTP (401, 404 for everyone but the
// entitled, capability links); metrics; recording.enabled = false; and a
// restart while recording (off, its file queued and processed).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import path from 'node:path';

import { Gateway, apiRequest, assertErrorReply, cleanup, consultRequest, eventually, okConsult, runCli, tempDir } from '../lib/gateway.js';

const SET = { 'limits.rate': 1000, 'limits.burst': 1000, 'records.url': 'none' };
const CLIN = { role: 'clinician', tenant: 'kirov', name: 'Фельдшер Анна Петрова', subject: 'rec-clin' };
const SPEC = { role: 'specialist', tenant: 'kirov', name: 'Dr Elena Ivanova', subject: 'rec-spec', specialties: ['cardiology'] };
const COORD = { role: 'coordinator', tenant: 'kirov', name: 'Coordinator Oleg', subject: 'rec-coord' };
const OTHER_COORD = { role: 'coordinator', tenant: 'perm', name: 'Coordinator Perm', subject: 'rec-coord' };
const OTHER_CLIN = { role: 'clinician', tenant: 'perm', name: 'Clinician Perm', subject: 'rec-clin-perm' };

/** A consult of clin accepted by spec, both in the room (in progress). */
async function inProgress(clin, spec) {
  assert.equal((await spec.request({ type: 'presence.set', status: 'available' })).type, 'ok');
  const c = okConsult(await clin.request(consultRequest({ mode: 'realtime' })));
  okConsult(await spec.request({ type: 'consult.accept', consult_id: c.id }));
  okConsult(await clin.request({ type: 'consult.join', consult_id: c.id }));
  const joined = okConsult(await spec.request({ type: 'consult.join', consult_id: c.id }));
  assert.equal(joined.state, 'in_progress');
  return joined;
}

const consentOf = (c, subject) => c.recording.consents.find((k) => k.subject === subject);

async function ok(client, msg) {
  const r = await client.request(msg);
  assert.equal(r.type, 'ok', `${msg.type}: ${JSON.stringify(r).slice(0, 600)}`);
  return r.consult;
}

/** The consult as `client` sees it now (sync's state). */
async function current(client, id) {
  const s = await client.request({ type: 'sync' });
  return s.consults.find((c) => c.id === id);
}

describe('recording: consent and control', () => {
  let gw, clin, spec, coord, otherCoord, otherClin, consult;
  before(async () => {
    gw = await Gateway.start({ set: SET });
    clin = await gw.connectAs(CLIN);
    spec = await gw.connectAs(SPEC);
    coord = await gw.connectAs(COORD);
    otherCoord = await gw.connectAs(OTHER_COORD);
    otherClin = await gw.connectAs(OTHER_CLIN);
    consult = await inProgress(clin, spec);
  });
  after(cleanup);

  test('a consult starts with recording null', () => {
    assert.equal(consult.recording, null);
  });

  test('who may ask: not the clinician (default requesters), not another centre', async () => {
    assertErrorReply(await clin.request({ type: 'recording.start', consult_id: consult.id }), 'forbidden');
    assertErrorReply(await otherCoord.request({ type: 'recording.start', consult_id: consult.id }), 'not_found');
    assertErrorReply(await spec.request({ type: 'recording.start' }), 'invalid', 'consult_id');
    assertErrorReply(await clin.request({ type: 'recording.consent', consult_id: consult.id, consent: 'yes' }), 'invalid', 'consent');
    assertErrorReply(await clin.request({ type: 'recording.consent', consult_id: consult.id, consent: true }), 'wrong_state');
    assertErrorReply(await spec.request({ type: 'recording.stop', consult_id: consult.id }), 'wrong_state');
  });

  test('the specialist asks: everyone present is asked, the request counts as consent', async () => {
    const notice = clin.nextNotice('consult.updated', { consultId: consult.id, where: (m) => m.consult.recording?.state === 'consent' });
    const c = await ok(spec, { type: 'recording.start', consult_id: consult.id });
    assert.equal(c.recording.state, 'consent');
    assert.deepEqual(c.recording.requested_by, { subject: SPEC.subject, name: SPEC.name });
    assert.equal(typeof c.recording.requested_at, 'number');
    assert.equal(consentOf(c, SPEC.subject).answer, 'given');
    assert.equal(consentOf(c, CLIN.subject).answer, 'pending');
    assert.equal(consentOf(c, CLIN.subject).at, null);
    assert.deepEqual(c.recording.files, []);
    const seen = (await notice).consult;
    assert.equal(consentOf(seen, CLIN.subject).answer, 'pending');
    assertErrorReply(await coord.request({ type: 'recording.start', consult_id: consult.id }), 'wrong_state');
    assertErrorReply(await spec.request({ type: 'recording.consent', consult_id: consult.id, consent: true }), 'wrong_state');
    assertErrorReply(await coord.request({ type: 'recording.consent', consult_id: consult.id, consent: true }), 'forbidden');
  });

  test('the last consent starts it: a file is recording; the coordinator sees it', async () => {
    const seen = coord.nextNotice('consult.updated', { consultId: consult.id, where: (m) => m.consult.recording?.state === 'on' });
    const c = await ok(clin, { type: 'recording.consent', consult_id: consult.id, consent: true });
    assert.equal(c.recording.state, 'on');
    assert.equal(consentOf(c, CLIN.subject).answer, 'given');
    assert.equal(typeof consentOf(c, CLIN.subject).at, 'number');
    assert.equal(c.recording.files.length, 1);
    const f = c.recording.files[0];
    assert.match(f.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(f.state, 'recording');
    assert.equal(f.stopped_at, null);
    assert.equal(f.duration_ms, null);
    assert.equal(f.incomplete, false);
    await seen;
    const m = await eventually(async () => {
      const mm = await gw.metrics();
      assert.equal(mm['consilium_recording_captures'], 1);
      return mm;
    });
    assert.equal(m['consilium_recordings{state="recording"}'], 1);
  });

  test('a file not ready is not served; strangers and the anonymous get nothing', async () => {
    const c = await current(spec, consult.id);
    const id = c.recording.files[0].id;
    const auth = (user) => ({ Authorization: `Bearer ${gw.token(user)}` });
    assert.equal((await apiRequest(gw, { path: `/api/recordings/${id}` })).status, 401);
    assert.equal((await apiRequest(gw, { path: `/api/recordings/${id}`, headers: auth(SPEC) })).status, 404, 'not ready yet');
    assert.equal((await apiRequest(gw, { path: `/api/recordings/${id}/link`, headers: auth(SPEC) })).status, 404);
    assert.equal((await apiRequest(gw, { path: `/api/recordings/${id}`, headers: auth(OTHER_CLIN) })).status, 404);
    assert.equal((await apiRequest(gw, { path: '/api/recordings/../../etc/passwd', headers: auth(SPEC) })).status, 404);
    assert.equal((await apiRequest(gw, { path: `/api/recordings/${id}?access=00ff`, headers: {} })).status, 401);
    assert.equal((await apiRequest(gw, { path: `/api/recordings/${id}`, method: 'POST', headers: auth(SPEC) })).status, 405);
  });

  test('stop by the clinician: off, the file queued; with no media it fails, saying why', async () => {
    const c = await ok(clin, { type: 'recording.stop', consult_id: consult.id });
    assert.equal(c.recording.state, 'off');
    const f = c.recording.files[0];
    assert.ok(['queued', 'processing', 'failed'].includes(f.state), f.state);
    assert.equal(typeof f.stopped_at, 'number');
    const done = await eventually(async () => {
      const g = (await current(spec, consult.id)).recording.files[0];
      assert.equal(g.state, 'failed');
      return g;
    }, { timeout: 30000, interval: 200 });
    assert.ok(done.error && done.error.length > 0, `a reason: ${JSON.stringify(done)}`);
  });

  test('asked again: consents given still hold, so it is on at once; the end of the consult stops it', async () => {
    const c = await ok(coord, { type: 'recording.start', consult_id: consult.id });
    assert.equal(c.recording.state, 'on');
    assert.equal(c.recording.files.length, 2);
    assert.deepEqual(c.recording.requested_by, { subject: COORD.subject, name: COORD.name });
    const ended = await ok(spec, { type: 'consult.end', consult_id: consult.id });
    assert.equal(ended.recording.state, 'off');
    assert.notEqual(ended.recording.files[1].state, 'recording');
    assertErrorReply(await spec.request({ type: 'recording.start', consult_id: consult.id }), 'wrong_state');
  });

  test('the audit trail tells who asked, consented and stopped', async () => {
    const h = await spec.request({ type: 'consult.history', consult_id: consult.id });
    const kinds = h.events.map((e) => `${e.kind}:${e.actor}:${e.detail}`);
    assert.ok(kinds.includes(`recording_requested:${SPEC.subject}:`), kinds.join('\n'));
    assert.ok(kinds.includes(`recording_consent:${CLIN.subject}:given`), kinds.join('\n'));
    assert.ok(kinds.includes(`recording_stopped:${CLIN.subject}:requested`), kinds.join('\n'));
    assert.ok(kinds.includes(`recording_requested:${COORD.subject}:`), kinds.join('\n'));
    assert.ok(h.events.some((e) => e.kind === 'recording_failed'), kinds.join('\n'));
  });

  test('a refusal ends the request and is shown', async () => {
    const second = await inProgress(clin, spec);
    await ok(spec, { type: 'recording.start', consult_id: second.id });
    const c = await ok(clin, { type: 'recording.consent', consult_id: second.id, consent: false });
    assert.equal(c.recording.state, 'off');
    assert.equal(consentOf(c, CLIN.subject).answer, 'refused');
    assert.deepEqual(c.recording.files, []);
    assertErrorReply(await otherClin.request({ type: 'recording.stop', consult_id: second.id }), 'not_found');
  });
});

describe('recording: disabled, and a restart while recording', () => {
  after(cleanup);

  test('recording.enabled = false: recording.start is unsupported', async () => {
    const gw = await Gateway.start({ set: { ...SET, 'recording.enabled': 'false' } });
    const clin = await gw.connectAs(CLIN);
    const spec = await gw.connectAs(SPEC);
    const c = await inProgress(clin, spec);
    const r = await spec.request({ type: 'recording.start', consult_id: c.id });
    assertErrorReply(r, 'unsupported');
    assert.match(r.message, /not enabled/);
    await gw.stop();
  });

  test('recording.requesters is checked at start', () => {
    const r = runCli(['run', '--port', '0', '--data-dir', path.join(tempDir(), 'd'), '--set', 'recording.requesters=specialist,wizard']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /recording\.requesters/);
  });

  test('a kill -9 while on: after the restart it is off and its file is processed', async () => {
    const gw = await Gateway.start({ set: SET });
    const clin = await gw.connectAs(CLIN);
    let spec = await gw.connectAs(SPEC);
    const c = await inProgress(clin, spec);
    await ok(spec, { type: 'recording.start', consult_id: c.id });
    const on = await ok(clin, { type: 'recording.consent', consult_id: c.id, consent: true });
    assert.equal(on.recording.state, 'on');
    await gw.kill9();
    const gw2 = await Gateway.start({ dataDir: gw.dataDir, set: SET });
    spec = await gw2.connectAs(SPEC);
    const after = await current(spec, c.id);
    assert.equal(after.recording.state, 'off');
    assert.equal(after.recording.files[0].id, on.recording.files[0].id);
    const f = await eventually(async () => {
      const g = (await current(spec, c.id)).recording.files[0];
      assert.ok(['ready', 'failed'].includes(g.state), g.state);
      return g;
    }, { timeout: 30000, interval: 200 });
    assert.equal(f.state, 'failed', 'no media was sent, so there is nothing to compose');
    const h = await spec.request({ type: 'consult.history', consult_id: c.id });
    assert.ok(h.events.some((e) => e.kind === 'recording_stopped' && e.actor === 'system' && e.detail === 'gateway restarted'),
      JSON.stringify(h.events.slice(-5)));
  });
});
