// flow.test.js — PROTOCOL.md "A complete exchange", end to end against the
// real binary: hello, presence, request, offer, accept, join, in_progress,
// history, end; plus what a coordinator of the same centre sees.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Gateway, cleanup, consultRequest, okConsult } from '../lib/gateway.js';

const CLINICIAN = { role: 'clinician', tenant: 'kirov', name: 'Фельдшер Анна Петрова', subject: 'petrova' };
const SPECIALIST = { role: 'specialist', tenant: 'kirov', name: 'Dr Elena Ivanova', subject: 'ivanova', specialties: ['cardiology'] };
const COORDINATOR = { role: 'coordinator', tenant: 'kirov', name: 'Coordinator Oleg Smirnov', subject: 'smirnov' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('a complete exchange (PROTOCOL.md)', () => {
  let gw;
  before(async () => { gw = await Gateway.start(); });
  after(cleanup);

  test('request → offer → accept → join → in_progress → end, seen by everyone concerned', async () => {
    const coord = await gw.connectAs(COORDINATOR);
    assert.equal(coord.welcome.user.role, 'coordinator');
    assert.deepEqual(coord.welcome.consults, []);
    assert.ok(Array.isArray(coord.welcome.specialists), 'a coordinator welcome lists specialists');

    // clinician → hello ← welcome
    const clin = await gw.connectAs(CLINICIAN);
    const w = clin.welcome;
    assert.equal(w.type, 'welcome');
    assert.equal(w.protocol, 1);
    assert.equal(typeof w.server_time, 'number');
    assert.deepEqual(
      { subject: w.user.subject, name: w.user.name, role: w.user.role, tenant: w.user.tenant, consult_scope: w.user.consult_scope },
      { subject: 'petrova', name: 'Фельдшер Анна Петрова', role: 'clinician', tenant: 'kirov', consult_scope: null });
    assert.ok(w.user.expires_at > w.server_time, 'expires_at is in the future, in ms');
    assert.equal(w.presence, 'available');
    assert.deepEqual(w.consults, []);

    // specialist → hello ← welcome (away)
    const spec = await gw.connectAs(SPECIALIST);
    assert.equal(spec.welcome.presence, 'away');
    assert.deepEqual(spec.welcome.user.specialties, ['cardiology']);
    assert.deepEqual(spec.welcome.consults, []);
    const pres = await coord.nextNotice('presence', { where: (m) => m.subject === 'ivanova' && m.status === 'away' });
    assert.equal(pres.name, 'Dr Elena Ivanova');

    // presence.set available → ok
    const ok = await spec.request({ type: 'presence.set', status: 'available' });
    assert.equal(ok.type, 'ok');
    await coord.nextNotice('presence', { where: (m) => m.subject === 'ivanova' && m.status === 'available' });

    // clinician → consult.request (emergency, cardiology)
    const reqReply = await clin.request(consultRequest());
    const consult = okConsult(reqReply);
    assert.match(consult.id, UUID);
    assert.equal(consult.state, 'offered');
    assert.equal(consult.tenant, 'kirov');
    assert.equal(consult.routed_to, null);
    assert.equal(consult.urgency, 'emergency');
    assert.equal(consult.specialty, 'cardiology');
    assert.equal(consult.mode, 'realtime');
    assert.equal(consult.escalation, 'none');
    assert.deepEqual(consult.clinician, { subject: 'petrova', tenant: 'kirov', name: 'Фельдшер Анна Петрова' });
    assert.equal(consult.specialist, null);
    assert.equal(consult.participants.length, 1);
    assert.equal(consult.participants[0].role, 'clinician');
    assert.equal(consult.warn_at - consult.created_at, 10 * 60 * 1000, 'emergency warn_at default +10 min');
    assert.equal(consult.deadline_at - consult.created_at, 2 * 3600 * 1000, 'emergency deadline default +2 h');
    assert.equal(consult.expire_at - consult.created_at, 24 * 3600 * 1000, 'emergency expire default +24 h');

    // Notices caused by a request are sent before its reply.
    const updIdx = clin.log.findIndex((m) => m.type === 'consult.updated' && m.consult.id === consult.id);
    const okIdx = clin.log.indexOf(reqReply);
    assert.ok(updIdx >= 0 && updIdx < okIdx, 'clinician gets consult.updated before the ok');
    const offered = await spec.nextNotice('consult.offered', { consultId: consult.id });
    assert.equal(offered.consult.state, 'offered');
    assert.equal(offered.id, undefined, 'notices carry no id');
    await coord.nextNotice('consult.updated', { consultId: consult.id });

    // specialist → consult.accept
    const accReply = await spec.request({ type: 'consult.accept', consult_id: consult.id });
    const accepted = okConsult(accReply);
    assert.equal(accepted.state, 'accepted');
    assert.deepEqual(accepted.specialist, { subject: 'ivanova', tenant: 'kirov', name: 'Dr Elena Ivanova' });
    assert.equal(accepted.participants.length, 2);
    assert.equal(accepted.participants[1].subject, 'ivanova');
    assert.equal(accepted.participants[1].role, 'specialist');
    assert.equal(typeof accepted.accepted_at, 'number');
    const specUpd = spec.log.findIndex((m) => m.type === 'consult.updated' && m.consult?.state === 'accepted');
    assert.ok(specUpd >= 0 && specUpd < spec.log.indexOf(accReply), 'specialist gets consult.updated (accepted) before the ok');
    await clin.nextNotice('consult.updated', { consultId: consult.id, state: 'accepted' });
    await coord.nextNotice('consult.updated', { consultId: consult.id, state: 'accepted' });
    // Presence is the specialist's own choice: accepting leaves it available.
    assert.equal((await spec.request({ type: 'sync' })).presence, 'available');

    // both join → in_progress
    const j1 = okConsult(await clin.request({ type: 'consult.join', consult_id: consult.id }));
    assert.equal(j1.state, 'accepted', 'one person in the room is not in_progress yet');
    assert.equal(j1.participants[0].present, true);
    const j2 = okConsult(await spec.request({ type: 'consult.join', consult_id: consult.id }));
    assert.equal(j2.state, 'in_progress');
    assert.equal(typeof j2.started_at, 'number');
    assert.ok(j2.participants.every((p) => p.present && typeof p.joined_at === 'number' && p.left_at === null));
    await clin.nextNotice('consult.updated', { consultId: consult.id, state: 'in_progress' });
    await spec.nextNotice('consult.updated', { consultId: consult.id, state: 'in_progress' });
    await coord.nextNotice('consult.updated', { consultId: consult.id, state: 'in_progress' });
    // Joining twice is not an error.
    assert.equal(okConsult(await clin.request({ type: 'consult.join', consult_id: consult.id })).state, 'in_progress');

    // end → ended
    const ended = okConsult(await spec.request({ type: 'consult.end', consult_id: consult.id }));
    assert.equal(ended.state, 'ended');
    assert.equal(typeof ended.ended_at, 'number');
    assert.ok(ended.participants.every((p) => p.present === false && typeof p.left_at === 'number'), 'everyone marked absent');
    await clin.nextNotice('consult.updated', { consultId: consult.id, state: 'ended' });
    await coord.nextNotice('consult.updated', { consultId: consult.id, state: 'ended' });
    // Ending leaves presence as it was; no presence notice came for either step.
    assert.equal((await spec.request({ type: 'sync' })).presence, 'available');
    assert.equal(coord.log.filter((m) => m.type === 'presence' && m.subject === 'ivanova' && m.status !== 'available' && m.status !== 'away').length, 0);

    // Ending again: wrong_state.
    const again = await spec.request({ type: 'consult.end', consult_id: consult.id });
    assert.equal(again.type, 'error');
    assert.equal(again.code, 'wrong_state');

    // The clinician's state still lists the finished consult (consult.retain).
    const st = await clin.request({ type: 'sync' });
    assert.equal(st.type, 'state');
    assert.equal(typeof st.server_time, 'number');
    assert.deepEqual(st.consults.map((c) => [c.id, c.state]), [[consult.id, 'ended']]);

    // A coordinator of the same tenant who connects now sees it in welcome,
    // and the specialist in `specialists`.
    const coord2 = await gw.connectAs({ ...COORDINATOR, subject: 'smirnova', name: 'Coordinator Maria Smirnova' });
    assert.deepEqual(coord2.welcome.consults.map((c) => [c.id, c.state]), [[consult.id, 'ended']]);
    const listed = coord2.welcome.specialists.find((s) => s.subject === 'ivanova');
    assert.deepEqual(listed, { subject: 'ivanova', name: 'Dr Elena Ivanova', status: 'available', specialties: ['cardiology'] });

    // The coordinator saw every step of this consult as consult.updated.
    const seen = coord.received((m) => m.type === 'consult.updated' && m.consult.id === consult.id).map((m) => m.consult.state);
    for (const s of ['offered', 'accepted', 'in_progress', 'ended']) assert.ok(seen.includes(s), `coordinator saw ${s}: ${seen}`);
  });

  test('consult.history lists every transition with its actor, oldest first', async () => {
    const clin = await gw.connectAs({ ...CLINICIAN, subject: 'history-clin', name: 'History Clinician' });
    const spec = await gw.connectAs({ ...SPECIALIST, subject: 'history-spec', name: 'History Specialist', specialties: ['pulmonology'] });
    assert.equal((await spec.request({ type: 'presence.set', status: 'available' })).type, 'ok');
    const c = okConsult(await clin.request(consultRequest({ specialty: 'pulmonology', urgency: 'urgent', mode: 'realtime' })));
    okConsult(await spec.request({ type: 'consult.accept', consult_id: c.id }));
    okConsult(await clin.request({ type: 'consult.join', consult_id: c.id }));
    okConsult(await spec.request({ type: 'consult.join', consult_id: c.id }));
    okConsult(await clin.request({ type: 'consult.end', consult_id: c.id }));

    const h = await clin.request({ type: 'consult.history', consult_id: c.id });
    assert.equal(h.type, 'consult.history');
    assert.equal(h.consult_id, c.id);
    const ev = h.events;
    for (let i = 1; i < ev.length; i++) assert.ok(ev[i].at >= ev[i - 1].at, 'oldest first');
    for (const e of ev) {
      assert.ok(['state', 'joined', 'left', 'invited', 'routed', 'escalated'].includes(e.kind), `known kind ${e.kind}`);
      assert.equal(typeof e.actor, 'string');
    }
    const brief = ev.map((e) => ({ kind: e.kind, from: e.from, to: e.to, actor: e.actor, actor_role: e.actor_role }));
    assert.deepEqual({ kind: ev[0].kind, to: ev[0].to, actor: ev[0].actor, actor_role: ev[0].actor_role, detail: ev[0].detail },
      { kind: 'state', to: 'offered', actor: 'history-clin', actor_role: 'clinician', detail: 'requested' }, 'the request comes first');
    assert.ok(brief.some((e) => e.kind === 'state' && e.from === 'offered' && e.to === 'accepted' && e.actor === 'history-spec' && e.actor_role === 'specialist'),
      `accept recorded: ${JSON.stringify(brief)}`);
    assert.ok(brief.some((e) => e.to === 'in_progress' && e.from === 'accepted'), `start recorded: ${JSON.stringify(brief)}`);
    assert.ok(brief.some((e) => e.kind === 'joined' && e.actor === 'history-clin'));
    assert.ok(brief.some((e) => e.kind === 'joined' && e.actor === 'history-spec'));
    assert.ok(brief.some((e) => e.kind === 'state' && e.from === 'in_progress' && e.to === 'ended' && e.actor === 'history-clin' && e.actor_role === 'clinician'));
  });

  test('consult.history: a request offered at once is recorded from "requested" to "offered"', async () => {
    // PROTOCOL.md's consult.history example: {"kind": "state", "from": "requested",
    // "to": "offered", "actor": "petrova", "actor_role": "clinician", "detail": "requested"}.
    const clin = await gw.connectAs({ ...CLINICIAN, subject: 'first-clin', name: 'First Clinician' });
    const spec = await gw.connectAs({ ...SPECIALIST, subject: 'first-spec', name: 'First Specialist', specialties: ['rheumatology'] });
    await spec.request({ type: 'presence.set', status: 'available' });
    const c = okConsult(await clin.request(consultRequest({ specialty: 'rheumatology' })));
    assert.equal(c.state, 'offered');
    const { events } = await clin.request({ type: 'consult.history', consult_id: c.id });
    const e = events[0];
    assert.deepEqual({ kind: e.kind, from: e.from, to: e.to, actor: e.actor, actor_role: e.actor_role, detail: e.detail },
      { kind: 'state', from: 'requested', to: 'offered', actor: 'first-clin', actor_role: 'clinician', detail: 'requested' });
  });

  test('consult.history: from and to differ only for state events, the join that starts a consult and a routing that offers it', async () => {
    // PROTOCOL.md: from/to "differ for state events, for the joined event that
    // starts a consult (accepted → in_progress) and for a routed event that
    // offers a requested consult ... (requested → offered); otherwise they are equal".
    const clin = await gw.connectAs({ ...CLINICIAN, subject: 'kinds-clin', name: 'Kinds Clinician' });
    const spec = await gw.connectAs({ ...SPECIALIST, subject: 'kinds-spec', name: 'Kinds Specialist', specialties: ['nephrology'] });
    await spec.request({ type: 'presence.set', status: 'available' });
    const c = okConsult(await clin.request(consultRequest({ specialty: 'nephrology' })));
    okConsult(await spec.request({ type: 'consult.accept', consult_id: c.id }));
    okConsult(await clin.request({ type: 'consult.join', consult_id: c.id }));
    okConsult(await spec.request({ type: 'consult.join', consult_id: c.id }));
    okConsult(await clin.request({ type: 'consult.leave', consult_id: c.id }));
    okConsult(await clin.request({ type: 'consult.join', consult_id: c.id }));
    assert.equal((await spec.request({ type: 'consult.invite', consult_id: c.id, role: 'patient', name: 'Patient' })).type, 'invite');
    okConsult(await spec.request({ type: 'consult.end', consult_id: c.id }));
    const { events } = await clin.request({ type: 'consult.history', consult_id: c.id });
    const summary = events.map((e) => [e.kind, e.from, e.to, e.actor]);
    const allowed = (e) => e.kind === 'state' || e.from === e.to ||
      (e.kind === 'joined' && e.from === 'accepted' && e.to === 'in_progress') ||
      (e.kind === 'routed' && e.from === 'requested' && e.to === 'offered');
    assert.deepEqual(events.filter((e) => !allowed(e)), [], JSON.stringify(summary));
    assert.ok(events.filter((e) => e.kind === 'state').every((e) => e.from !== e.to || (e === events[0] && e.from === 'requested')),
      `state events are transitions: ${JSON.stringify(summary)}`);
    // Exactly one event starts the consult, the specialist's join.
    const starts = events.filter((e) => e.from === 'accepted' && e.to === 'in_progress');
    assert.deepEqual(starts.map((e) => [e.kind, e.actor]), [['joined', 'kinds-spec']]);
    // The later leave and rejoin do not change the state.
    const moves = events.filter((e) => e.kind === 'left' || e.kind === 'joined').map((e) => [e.kind, e.from, e.to, e.actor]);
    assert.deepEqual(moves, [
      ['joined', 'accepted', 'accepted', 'kinds-clin'],
      ['joined', 'accepted', 'in_progress', 'kinds-spec'],
      ['left', 'in_progress', 'in_progress', 'kinds-clin'],
      ['joined', 'in_progress', 'in_progress', 'kinds-clin'],
    ]);
    const inv = events.find((e) => e.kind === 'invited');
    assert.deepEqual([inv.from, inv.to, inv.detail, inv.actor], ['in_progress', 'in_progress', 'patient', 'kinds-spec']);
  });

  test('a deferred consult is in_progress once its specialist opens it', async () => {
    const clin = await gw.connectAs({ ...CLINICIAN, subject: 'deferred-clin', name: 'Deferred Clinician' });
    const spec = await gw.connectAs({ ...SPECIALIST, subject: 'deferred-spec', name: 'Deferred Specialist', specialties: ['dermatology'] });
    await spec.request({ type: 'presence.set', status: 'available' });
    const c = okConsult(await clin.request(consultRequest({ specialty: 'dermatology', urgency: 'planned', mode: 'deferred', reason: 'Pigmented lesion, left shoulder.\nPhotos attached.' })));
    assert.equal(c.mode, 'deferred');
    assert.equal(c.reason, 'Pigmented lesion, left shoulder.\nPhotos attached.');
    okConsult(await spec.request({ type: 'consult.accept', consult_id: c.id }));
    const j = okConsult(await spec.request({ type: 'consult.join', consult_id: c.id }));
    assert.equal(j.state, 'in_progress');
  });

  test('cancel by its clinician, and offers withdrawn with reason cancelled', async () => {
    const clin = await gw.connectAs({ ...CLINICIAN, subject: 'cancel-clin', name: 'Cancel Clinician' });
    const spec = await gw.connectAs({ ...SPECIALIST, subject: 'cancel-spec', name: 'Cancel Specialist', specialties: ['oncology'] });
    await spec.request({ type: 'presence.set', status: 'available' });
    const c = okConsult(await clin.request(consultRequest({ specialty: 'oncology', urgency: 'urgent' })));
    await spec.nextNotice('consult.offered', { consultId: c.id });
    const cancelled = okConsult(await clin.request({ type: 'consult.cancel', consult_id: c.id }));
    assert.equal(cancelled.state, 'cancelled');
    const wd = await spec.nextNotice('consult.withdrawn', { consultId: c.id });
    assert.equal(wd.reason, 'cancelled');
    const again = await clin.request({ type: 'consult.cancel', consult_id: c.id });
    assert.equal(again.code, 'wrong_state');
    const acc = await spec.request({ type: 'consult.accept', consult_id: c.id });
    assert.equal(acc.type, 'error');
    assert.ok(['wrong_state', 'not_found'].includes(acc.code), `accepting a cancelled consult: ${acc.code}`);
  });

  test('decline: withdrawn with reason declined, and no longer offered to that specialist', async () => {
    const clin = await gw.connectAs({ ...CLINICIAN, subject: 'decline-clin', name: 'Decline Clinician' });
    const spec = await gw.connectAs({ ...SPECIALIST, subject: 'decline-spec', name: 'Decline Specialist', specialties: ['urology'] });
    await spec.request({ type: 'presence.set', status: 'available' });
    const c = okConsult(await clin.request(consultRequest({ specialty: 'urology', urgency: 'planned' })));
    await spec.nextNotice('consult.offered', { consultId: c.id });
    const d = await spec.request({ type: 'consult.decline', consult_id: c.id });
    assert.equal(d.type, 'ok');
    const wd = await spec.nextNotice('consult.withdrawn', { consultId: c.id });
    assert.equal(wd.reason, 'declined');
    const st = await spec.request({ type: 'sync' });
    assert.ok(!st.consults.some((x) => x.id === c.id), 'a declined consult leaves the specialist\'s list');
    // Becoming available again does not re-offer it.
    await spec.request({ type: 'presence.set', status: 'away' });
    await spec.request({ type: 'presence.set', status: 'available' });
    await spec.barrier();
    assert.equal(spec.received((m) => m.type === 'consult.offered' && m.consult.id === c.id).length, 1);
  });
});
