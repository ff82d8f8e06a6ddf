// isolation.test.js — who may see and do what: centres (tenants) never see
// each other's consults, and each role may only do its own part.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Gateway, cleanup, consultRequest, okConsult } from '../lib/gateway.js';

const u = (role, tenant, subject, extra = {}) => ({ role, tenant, subject, name: `${role} ${subject}`, ...extra });

describe('tenant and role isolation', () => {
  let gw, clinK, consult, offered;
  before(async () => {
    gw = await Gateway.start({ set: { 'limits.rate': 500, 'limits.burst': 500 } });
    clinK = await gw.connectAs(u('clinician', 'kirov', 'iso-clin'));
    consult = okConsult(await clinK.request(consultRequest()));
    assert.equal(consult.state, 'requested');
    // One that is offered to an available kirov cardiologist.
    const card = await gw.connectAs(u('specialist', 'kirov', 'iso-card', { specialties: ['cardiology'] }));
    await card.request({ type: 'presence.set', status: 'available' });
    offered = okConsult(await clinK.request(consultRequest({ urgency: 'urgent' })));
    assert.equal(offered.state, 'offered');
  });
  after(cleanup);

  const ACTIONS = ['consult.cancel', 'consult.accept', 'consult.decline', 'consult.join', 'consult.leave', 'consult.end', 'consult.history'];

  test('a perm clinician sees nothing of kirov and every action is not_found', async () => {
    const beforeState = (await clinK.request({ type: 'sync' })).consults.find((c) => c.id === consult.id);
    const clinP = await gw.connectAs(u('clinician', 'perm', 'iso-clin'));  // same subject, other centre
    assert.deepEqual(clinP.welcome.consults, [], 'same subject in another centre is another user');
    for (const type of ACTIONS) {
      const r = await clinP.request({ type, consult_id: consult.id });
      assert.equal(r.type, 'error', type);
      assert.equal(r.code, 'not_found', `${type}: ${r.code}`);
    }
    const inv = await clinP.request({ type: 'consult.invite', consult_id: consult.id, role: 'patient', name: 'X' });
    assert.equal(inv.code, 'not_found');
    // Nothing changed.
    const st = await clinK.request({ type: 'sync' });
    assert.deepEqual(st.consults.find((c) => c.id === consult.id), beforeState);
  });

  test('another clinician of the same centre cannot see or cancel it', async () => {
    const clinK2 = await gw.connectAs(u('clinician', 'kirov', 'iso-clin-2'));
    assert.deepEqual(clinK2.welcome.consults, []);
    const r = await clinK2.request({ type: 'consult.cancel', consult_id: consult.id });
    assert.equal(r.code, 'not_found');
  });

  test('coordinators: their own centre\'s consults only', async () => {
    const coordP = await gw.connectAs(u('coordinator', 'perm', 'iso-coord-p'));
    assert.deepEqual(coordP.welcome.consults, []);
    assert.equal((await coordP.request({ type: 'consult.cancel', consult_id: consult.id })).code, 'not_found');
    assert.equal((await coordP.request({ type: 'consult.history', consult_id: consult.id })).code, 'not_found');
    const coordK = await gw.connectAs(u('coordinator', 'kirov', 'iso-coord-k'));
    assert.deepEqual(coordK.welcome.consults.map((c) => c.id).sort(), [consult.id, offered.id].sort());
    // A coordinator can neither request nor accept.
    assert.equal((await coordK.request(consultRequest())).code, 'forbidden');
    assert.equal((await coordK.request({ type: 'consult.accept', consult_id: consult.id })).code, 'forbidden');
    assert.equal((await coordK.request({ type: 'presence.set', status: 'available' })).code, 'forbidden');
  });

  test('a clinician cannot accept (forbidden), not even their own request', async () => {
    const r = await clinK.request({ type: 'consult.accept', consult_id: consult.id });
    assert.equal(r.code, 'forbidden');
    assert.equal((await clinK.request({ type: 'presence.set', status: 'available' })).code, 'forbidden');
    assert.equal((await clinK.request({ type: 'consult.assign', consult_id: consult.id, specialist: 'iso-card' })).code, 'forbidden');
  });

  test('a neurologist cannot see or accept a cardiology consult (not_found)', async () => {
    const neuro = await gw.connectAs(u('specialist', 'kirov', 'iso-neuro', { specialties: ['neurology'] }));
    assert.deepEqual(neuro.welcome.consults, []);
    await neuro.request({ type: 'presence.set', status: 'available' });
    for (const id of [consult.id, offered.id]) {
      const r = await neuro.request({ type: 'consult.accept', consult_id: id });
      assert.equal(r.code, 'not_found');
    }
    // Nor may a specialist request.
    assert.equal((await neuro.request(consultRequest())).code, 'forbidden');
  });

  test('a perm cardiologist cannot accept a kirov cardiology consult (not_found)', async () => {
    const cardP = await gw.connectAs(u('specialist', 'perm', 'iso-card-p', { specialties: ['cardiology'] }));
    await cardP.request({ type: 'presence.set', status: 'available' });
    assert.deepEqual((await cardP.request({ type: 'sync' })).consults, []);
    assert.equal((await cardP.request({ type: 'consult.accept', consult_id: offered.id })).code, 'not_found');
  });

  test('patient and interpreter tokens cannot request (forbidden) and see nothing', async () => {
    for (const role of ['patient', 'interpreter']) {
      const c = await gw.connectAs(u(role, 'kirov', `iso-${role}`));
      assert.deepEqual(c.welcome.consults, []);
      const r = await c.request(consultRequest());
      assert.equal(r.type, 'error');
      assert.equal(r.code, 'forbidden', `${role}: ${r.code}`);
      assert.equal((await c.request({ type: 'consult.accept', consult_id: consult.id })).code, 'not_found');
      assert.equal((await c.request({ type: 'presence.set', status: 'busy' })).code, 'forbidden');
    }
  });

  test('a specialist not party to an accepted consult loses sight of it', async () => {
    const card2 = await gw.connectAs(u('specialist', 'kirov', 'iso-card-2', { specialties: ['cardiology'] }));
    await card2.request({ type: 'presence.set', status: 'available' });
    const card = await gw.connectAs(u('specialist', 'kirov', 'iso-card', { specialties: ['cardiology'] }));
    const acc = okConsult(await card.request({ type: 'consult.accept', consult_id: offered.id }));
    assert.equal(acc.state, 'accepted');
    const wd = await card2.nextNotice('consult.withdrawn', { consultId: offered.id });
    assert.equal(wd.reason, 'taken');
    assert.ok(!(await card2.request({ type: 'sync' })).consults.some((c) => c.id === offered.id));
    assert.equal((await card2.request({ type: 'consult.join', consult_id: offered.id })).code, 'not_found');
    assert.equal((await card2.request({ type: 'consult.history', consult_id: offered.id })).code, 'not_found');
    // The clinician of another consult cannot end this one.
    const clinK3 = await gw.connectAs(u('clinician', 'kirov', 'iso-clin-3'));
    assert.equal((await clinK3.request({ type: 'consult.end', consult_id: offered.id })).code, 'not_found');
  });

  test('a well-formed but unknown consult id is not_found', async () => {
    const r = await clinK.request({ type: 'consult.cancel', consult_id: '00000000-0000-4000-8000-000000000000' });
    assert.equal(r.code, 'not_found');
  });

  test('a second hello: same user extends (ok), another user is forbidden and the session is unchanged', async () => {
    const c = await gw.connectAs(u('clinician', 'kirov', 'iso-clin'));
    const fresh = gw.token({ ...u('clinician', 'kirov', 'iso-clin'), ttl: '9h', fresh: true });
    const ok = await c.request({ type: 'hello', token: fresh });
    assert.equal(ok.type, 'ok');
    const otherTok = gw.token(u('clinician', 'perm', 'iso-other'));
    const r = await c.request({ type: 'hello', token: otherTok });
    assert.equal(r.type, 'error');
    assert.equal(r.code, 'forbidden');
    const st = await c.request({ type: 'sync' });
    assert.equal(st.user.tenant, 'kirov');
    assert.equal(st.user.subject, 'iso-clin');
    assert.ok(st.consults.some((x) => x.id === consult.id));
    assert.ok(c.isOpen);
  });

  test('cancel: the clinician or a kirov coordinator; a perm coordinator cannot', async () => {
    const coordK = await gw.connectAs(u('coordinator', 'kirov', 'iso-coord-k2'));
    const x = okConsult(await clinK.request(consultRequest({ urgency: 'planned', specialty: 'oncology' })));
    const coordP = await gw.connectAs(u('coordinator', 'perm', 'iso-coord-p2'));
    assert.equal((await coordP.request({ type: 'consult.cancel', consult_id: x.id })).code, 'not_found');
    assert.equal(okConsult(await coordK.request({ type: 'consult.cancel', consult_id: x.id })).state, 'cancelled');
    await clinK.nextNotice('consult.updated', { consultId: x.id, state: 'cancelled' });
  });
});
