// routing.test.js — consult.route between centres (--set routes.kirov=vologda):
// the routed-to centre's specialists get the offer and can accept; a third
// centre sees nothing; routing where not configured is forbidden.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Gateway, cleanup, consultRequest, okConsult } from '../lib/gateway.js';

const user = (role, tenant, subject, extra = {}) => ({ role, tenant, subject, name: `${role} ${subject}`, ...extra });

describe('routing between centres', () => {
  let gw, clinK, coordK, coordV, specV, specP, specK;
  before(async () => {
    gw = await Gateway.start({ set: { 'routes.kirov': 'vologda' } });
    clinK = await gw.connectAs(user('clinician', 'kirov', 'rt-clin'));
    coordK = await gw.connectAs(user('coordinator', 'kirov', 'rt-coord-k'));
    coordV = await gw.connectAs(user('coordinator', 'vologda', 'rt-coord-v'));
    specV = await gw.connectAs(user('specialist', 'vologda', 'rt-spec-v', { specialties: ['cardiology'] }));
    specP = await gw.connectAs(user('specialist', 'perm', 'rt-spec-p', { specialties: ['cardiology'] }));
    // A kirov specialist of another specialty, to show routing does not widen specialties.
    specK = await gw.connectAs(user('specialist', 'kirov', 'rt-spec-k', { specialties: ['neurology'] }));
    for (const s of [specV, specP, specK]) assert.equal((await s.request({ type: 'presence.set', status: 'available' })).type, 'ok');
  });
  after(cleanup);

  test('welcome.policy: the centre\'s deadlines for everyone, its routes for its coordinators', async () => {
    const d = coordK.welcome.policy.deadlines;
    assert.deepEqual(d.emergency, { warn_ms: 600000, deadline_ms: 7200000, expire_ms: 86400000 });
    assert.equal(d.planned.deadline_ms, 7 * 86400000);
    assert.deepEqual(coordK.welcome.policy.routes, ['vologda']);
    assert.deepEqual(coordV.welcome.policy.routes, [], 'vologda may route nowhere');
    assert.deepEqual(clinK.welcome.policy.routes, [], 'only coordinators route');
    assert.deepEqual(clinK.welcome.policy.deadlines, d);
  });

  test('a kirov coordinator routes to vologda; a vologda specialist is offered it and accepts', async () => {
    const c = okConsult(await clinK.request(consultRequest()));
    assert.equal(c.state, 'requested', 'no kirov cardiologist is available');
    // Nobody outside kirov hears of it before routing.
    await Promise.all([specV.barrier(), specP.barrier(), coordV.barrier()]);
    for (const cl of [specV, specP, coordV]) assert.equal(cl.received((m) => (m.consult?.id ?? m.consult_id) === c.id).length, 0);

    const routed = okConsult(await coordK.request({ type: 'consult.route', consult_id: c.id, tenant: 'vologda' }));
    assert.equal(routed.routed_to, 'vologda');
    assert.equal(routed.tenant, 'kirov');

    const offer = await specV.nextNotice('consult.offered', { consultId: c.id });
    assert.equal(offer.consult.routed_to, 'vologda');
    await coordV.nextNotice('consult.updated', { consultId: c.id });
    await clinK.nextNotice('consult.updated', { consultId: c.id, where: (m) => m.consult.routed_to === 'vologda' });

    // vologda's views include it now.
    assert.ok((await specV.request({ type: 'sync' })).consults.some((x) => x.id === c.id));
    assert.ok((await coordV.request({ type: 'sync' })).consults.some((x) => x.id === c.id));
    const coordV2 = await gw.connectAs(user('coordinator', 'vologda', 'rt-coord-v2'));
    assert.ok(coordV2.welcome.consults.some((x) => x.id === c.id), 'in a vologda coordinator\'s welcome');

    // perm sees nothing and cannot take it; the kirov neurologist neither.
    await specP.barrier();
    assert.equal(specP.received((m) => (m.consult?.id ?? m.consult_id) === c.id).length, 0, 'no notice to perm');
    assert.ok(!(await specP.request({ type: 'sync' })).consults.some((x) => x.id === c.id));
    const specP2 = await gw.connectAs(user('specialist', 'perm', 'rt-spec-p2', { specialties: ['cardiology'] }));
    assert.deepEqual(specP2.welcome.consults, [], 'a perm cardiologist\'s welcome is empty');
    const pAcc = await specP.request({ type: 'consult.accept', consult_id: c.id });
    assert.equal(pAcc.code, 'not_found');
    const kAcc = await specK.request({ type: 'consult.accept', consult_id: c.id });
    assert.equal(kAcc.code, 'not_found');

    // The vologda specialist accepts.
    const acc = okConsult(await specV.request({ type: 'consult.accept', consult_id: c.id }));
    assert.equal(acc.state, 'accepted');
    assert.deepEqual(acc.specialist, { subject: 'rt-spec-v', tenant: 'vologda', name: 'specialist rt-spec-v' });
    await clinK.nextNotice('consult.updated', { consultId: c.id, state: 'accepted' });
    await coordK.nextNotice('consult.updated', { consultId: c.id, state: 'accepted' });
    await coordV.nextNotice('consult.updated', { consultId: c.id, state: 'accepted' });

    // Across centres, the two can meet in the room.
    okConsult(await clinK.request({ type: 'consult.join', consult_id: c.id }));
    assert.equal(okConsult(await specV.request({ type: 'consult.join', consult_id: c.id })).state, 'in_progress');
    okConsult(await specV.request({ type: 'consult.end', consult_id: c.id }));
    await specV.request({ type: 'presence.set', status: 'available' });
  });

  test('routing to a centre with an available specialist makes a requested consult "offered"', async () => {
    // PROTOCOL.md: "offered: at least one available specialist of its specialty and
    // centre (or the centre it was routed to) has been offered it"; "requested: ...
    // no available specialist has been offered it yet".
    const c = okConsult(await clinK.request(consultRequest({ reason: 'Routed offer state check.' })));
    assert.equal(c.state, 'requested');
    const routed = okConsult(await coordK.request({ type: 'consult.route', consult_id: c.id, tenant: 'vologda' }));
    const offer = await specV.nextNotice('consult.offered', { consultId: c.id });
    assert.equal(offer.consult.state, 'offered', `the consult.offered notice says state ${offer.consult.state}`);
    assert.equal(routed.state, 'offered', `the route reply says state ${routed.state}`);
    // The audit trail: the routing is the step that offered it.
    const { events } = await coordK.request({ type: 'consult.history', consult_id: c.id });
    const r = events.find((e) => e.kind === 'routed');
    assert.deepEqual([r.from, r.to, r.actor, r.actor_role, r.detail], ['requested', 'offered', 'rt-coord-k', 'coordinator', 'routed to vologda']);
  });

  test('routing where not configured is forbidden; routing twice to the same centre is "exists"', async () => {
    const c = okConsult(await clinK.request(consultRequest({ urgency: 'urgent' })));
    const perm = await coordK.request({ type: 'consult.route', consult_id: c.id, tenant: 'perm' });
    assert.equal(perm.type, 'error');
    assert.equal(perm.code, 'forbidden');
    const self = await coordK.request({ type: 'consult.route', consult_id: c.id, tenant: 'kirov' });
    assert.equal(self.code, 'forbidden');
    okConsult(await coordK.request({ type: 'consult.route', consult_id: c.id, tenant: 'vologda' }));
    const twice = await coordK.request({ type: 'consult.route', consult_id: c.id, tenant: 'vologda' });
    assert.equal(twice.code, 'exists');
    const badSlug = await coordK.request({ type: 'consult.route', consult_id: c.id, tenant: 'Vologda City' });
    assert.equal(badSlug.code, 'invalid');
    assert.match(badSlug.message, /tenant/);
  });

  test('only coordinators of the requesting centre may route', async () => {
    const c = okConsult(await clinK.request(consultRequest({ urgency: 'planned' })));
    const byClin = await clinK.request({ type: 'consult.route', consult_id: c.id, tenant: 'vologda' });
    assert.equal(byClin.code, 'forbidden');
    okConsult(await coordK.request({ type: 'consult.route', consult_id: c.id, tenant: 'vologda' }));
    // The routed-to centre's coordinator sees it but may not re-route it.
    const byV = await coordV.request({ type: 'consult.route', consult_id: c.id, tenant: 'perm' });
    assert.equal(byV.code, 'forbidden');
    // A third centre's coordinator does not even see it.
    const coordP = await gw.connectAs(user('coordinator', 'perm', 'rt-coord-p'));
    assert.deepEqual(coordP.welcome.consults, []);
    const byP = await coordP.request({ type: 'consult.route', consult_id: c.id, tenant: 'vologda' });
    assert.equal(byP.code, 'not_found');
  });

  test('an accepted consult can no longer be routed (wrong_state)', async () => {
    const specK2 = await gw.connectAs(user('specialist', 'kirov', 'rt-spec-k2', { specialties: ['pulmonology'] }));
    await specK2.request({ type: 'presence.set', status: 'available' });
    const c = okConsult(await clinK.request(consultRequest({ specialty: 'pulmonology' })));
    okConsult(await specK2.request({ type: 'consult.accept', consult_id: c.id }));
    const r = await coordK.request({ type: 'consult.route', consult_id: c.id, tenant: 'vologda' });
    assert.equal(r.code, 'wrong_state');
  });
});
