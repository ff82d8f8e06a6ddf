// invite.test.js — invitation codes for people without a sign-in (the patient,
// an interpreter) and invitations of known users.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { Gateway, cleanup, consultRequest, okConsult } from '../lib/gateway.js';

const CLIN = { role: 'clinician', tenant: 'kirov', name: 'Фельдшер Анна Петрова', subject: 'inv-clin' };
const SPEC = { role: 'specialist', tenant: 'kirov', name: 'Dr Invite', subject: 'inv-spec', specialties: ['cardiology'] };

describe('invitations', () => {
  let gw, clin, spec, consult, other;
  before(async () => {
    gw = await Gateway.start();
    clin = await gw.connectAs(CLIN);
    spec = await gw.connectAs(SPEC);
    await spec.request({ type: 'presence.set', status: 'available' });
    // A second consult of the same clinician that the guest must not see.
    other = okConsult(await clin.request(consultRequest({ specialty: 'neurology', urgency: 'planned', reason: 'Other patient, other consult.' })));
    consult = okConsult(await clin.request(consultRequest()));
    okConsult(await spec.request({ type: 'consult.accept', consult_id: consult.id }));
  });
  after(cleanup);

  test('a code invitation before acceptance is wrong_state', async () => {
    const r = await clin.request({ type: 'consult.invite', consult_id: other.id, role: 'patient', name: 'Too Early' });
    assert.equal(r.code, 'wrong_state');
  });

  test('invite a patient by code; the guest sees and joins exactly that consult', async () => {
    const inv = await clin.request({ type: 'consult.invite', consult_id: consult.id, role: 'patient', name: 'Иван Сидоров' });
    assert.equal(inv.type, 'invite', JSON.stringify(inv));
    assert.equal(inv.consult_id, consult.id);
    assert.equal(inv.role, 'patient');
    assert.match(inv.code, /^[0-9a-f]{48}$/);
    assert.ok(inv.expires_at > Date.now() + 23 * 3600 * 1000, 'valid for invite.ttl (24 h)');

    // The guest appears in participants at once.
    const upd = await clin.nextNotice('consult.updated', { consultId: consult.id, where: (m) => m.consult.participants.length === 3 });
    const guestP = upd.consult.participants[2];
    assert.match(guestP.subject, /^guest-[0-9a-f]{16}$/);
    assert.equal(guestP.name, 'Иван Сидоров');
    assert.equal(guestP.role, 'patient');
    assert.equal(guestP.invited_by, 'inv-clin');
    assert.equal(guestP.present, false);
    await spec.nextNotice('consult.updated', { consultId: consult.id, where: (m) => m.consult.participants.length === 3 });

    const guest = await gw.connect();
    const w = await guest.request({ type: 'hello', invite: inv.code });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    assert.equal(w.user.consult_scope, consult.id);
    assert.equal(w.user.role, 'patient');
    assert.equal(w.user.name, 'Иван Сидоров');
    assert.equal(w.user.subject, guestP.subject);
    assert.deepEqual(w.consults.map((c) => c.id), [consult.id], 'exactly the one consult');
    assert.equal(w.specialists, undefined);

    // Joins; everyone is told.
    const j = okConsult(await guest.request({ type: 'consult.join', consult_id: consult.id }));
    assert.equal(j.participants.find((p) => p.subject === guestP.subject).present, true);
    await clin.nextNotice('consult.updated', { consultId: consult.id, where: (m) => m.consult.participants[2]?.present === true });

    // What a guest may not do.
    const h = await guest.request({ type: 'consult.history', consult_id: consult.id });
    assert.equal(h.type, 'error');
    assert.equal(h.code, 'forbidden');
    const o = await guest.request({ type: 'consult.join', consult_id: other.id });
    assert.equal(o.code, 'not_found', 'another consult is invisible');
    const oh = await guest.request({ type: 'consult.history', consult_id: other.id });
    assert.equal(oh.code, 'not_found');
    const req = await guest.request(consultRequest());
    assert.equal(req.code, 'forbidden');
    const inv2 = await guest.request({ type: 'consult.invite', consult_id: consult.id, role: 'interpreter', name: 'Friend' });
    assert.equal(inv2.code, 'forbidden');
    const end = await guest.request({ type: 'consult.end', consult_id: consult.id });
    assert.equal(end.code, 'forbidden');
    const st = await guest.request({ type: 'sync' });
    assert.deepEqual(st.consults.map((c) => c.id), [consult.id]);

    // Leaving by closing the connection marks the guest absent.
    guest.close();
    await clin.nextNotice('consult.updated', { consultId: consult.id, where: (m) => m.consult.participants[2]?.present === false && m.consult.participants[2].left_at });
  });

  test('a specialist invites a known interpreter of the centre by subject', async () => {
    const interp = await gw.connectAs({ role: 'interpreter', tenant: 'kirov', name: 'Interpreter Olga', subject: 'olga' });
    const r = okConsult(await spec.request({ type: 'consult.invite', consult_id: consult.id, role: 'interpreter', subject: 'olga' }));
    const p = r.participants.find((x) => x.subject === 'olga');
    assert.deepEqual([p.role, p.invited_by, p.tenant], ['interpreter', 'inv-spec', 'kirov']);
    await interp.nextNotice('consult.updated', { consultId: consult.id });
    assert.ok((await interp.request({ type: 'sync' })).consults.some((c) => c.id === consult.id));
    const again = await spec.request({ type: 'consult.invite', consult_id: consult.id, role: 'interpreter', subject: 'olga' });
    assert.equal(again.code, 'exists');
    const wrongRole = await spec.request({ type: 'consult.invite', consult_id: consult.id, role: 'specialist', subject: 'olga' });
    assert.equal(wrongRole.code, 'not_found', 'subject must have that role');
    const unknown = await spec.request({ type: 'consult.invite', consult_id: consult.id, role: 'interpreter', subject: 'nobody' });
    assert.equal(unknown.code, 'not_found');
    const coordRole = await spec.request({ type: 'consult.invite', consult_id: consult.id, role: 'coordinator', name: 'X' });
    assert.equal(coordRole.code, 'invalid');
    const noName = await spec.request({ type: 'consult.invite', consult_id: consult.id, role: 'patient' });
    assert.equal(noName.code, 'invalid');
    assert.match(noName.message, /name/);
    const outsider = await gw.connectAs({ role: 'clinician', tenant: 'kirov', name: 'Outsider', subject: 'inv-outsider' });
    const byOutsider = await outsider.request({ type: 'consult.invite', consult_id: consult.id, role: 'patient', name: 'X' });
    assert.equal(byOutsider.code, 'not_found');
  });

  test('at most 8 participants: the ninth invitation is "limit"', async () => {
    const c = okConsult(await clin.request(consultRequest({ reason: 'Participant limit.' })));
    okConsult(await spec.request({ type: 'consult.accept', consult_id: c.id }));
    let n = 2;
    while (n < 8) {
      const r = await clin.request({ type: 'consult.invite', consult_id: c.id, role: 'interpreter', name: `Guest ${n}` });
      assert.equal(r.type, 'invite', JSON.stringify(r));
      n++;
    }
    const r = await clin.request({ type: 'consult.invite', consult_id: c.id, role: 'patient', name: 'One too many' });
    assert.equal(r.code, 'limit');
    okConsult(await clin.request({ type: 'consult.end', consult_id: c.id }));
  });

  test('a bad invitation code: error unauthenticated and close 4001', async () => {
    const g = await gw.connect();
    const r = await g.request({ type: 'hello', invite: crypto.randomBytes(24).toString('hex') });
    assert.equal(r.type, 'error');
    assert.equal(r.code, 'unauthenticated');
    assert.deepEqual(await g.waitClose(), { code: 4001, reason: 'authentication failed' });
  });

  test('a code stops working when its consult ends (expired, close 4001)', async () => {
    const c = okConsult(await clin.request(consultRequest({ reason: 'Ends before the guest arrives.' })));
    okConsult(await spec.request({ type: 'consult.accept', consult_id: c.id }));
    const inv = await clin.request({ type: 'consult.invite', consult_id: c.id, role: 'patient', name: 'Late Patient' });
    okConsult(await clin.request({ type: 'consult.end', consult_id: c.id }));
    const g = await gw.connect();
    const r = await g.request({ type: 'hello', invite: inv.code });
    assert.equal(r.type, 'error');
    assert.equal(r.code, 'expired');
    assert.equal((await g.waitClose()).code, 4001);
  });

  test('a code expires after invite.ttl', async () => {
    const gw2 = await Gateway.start({ set: { 'invite.ttl': '1s' } });
    const c2 = await gw2.connectAs(CLIN);
    const s2 = await gw2.connectAs(SPEC);
    await s2.request({ type: 'presence.set', status: 'available' });
    const c = okConsult(await c2.request(consultRequest()));
    okConsult(await s2.request({ type: 'consult.accept', consult_id: c.id }));
    const inv = await c2.request({ type: 'consult.invite', consult_id: c.id, role: 'patient', name: 'Slow Patient' });
    assert.ok(inv.expires_at - Date.now() <= 1000);
    await new Promise((r) => setTimeout(r, Math.max(0, inv.expires_at - Date.now()) + 50));
    const g = await gw2.connect();
    const r = await g.request({ type: 'hello', invite: inv.code });
    assert.equal(r.type, 'error');
    assert.ok(['expired', 'unauthenticated'].includes(r.code), r.code);
    assert.equal((await g.waitClose()).code, 4001);
    await gw2.stop();
  });
});
