// deadlines.test.js — escalation (warning, overdue), automatic routing of
// overdue requests, expiry; and deadlines that keep running across kill -9.
// Deadlines are shortened to seconds with --set queue.emergency.*.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { Gateway, cleanup, consultRequest, okConsult, sleep, tempDir } from '../lib/gateway.js';

const SHORT = { 'queue.emergency.warn': '1s', 'queue.emergency.deadline': '2s', 'queue.emergency.expire': '3s' };
const CLIN = { role: 'clinician', tenant: 'kirov', name: 'Deadline Clinician', subject: 'dl-clin' };
const COORD = { role: 'coordinator', tenant: 'kirov', name: 'Deadline Coordinator', subject: 'dl-coord' };
const COORD_V = { role: 'coordinator', tenant: 'vologda', name: 'Vologda Coordinator', subject: 'dl-coord-v' };
const WAIT = 6000; // a few ticks beyond the 1–3 s deadlines

describe('deadlines', () => {
  after(cleanup);

  test('warning, then overdue, then expired; coordinators and the clinician are told', async () => {
    const gw = await Gateway.start({ set: SHORT });
    const coord = await gw.connectAs(COORD);
    const clin = await gw.connectAs(CLIN);
    // An available cardiologist who never accepts: offered again on each escalation, withdrawn at expiry.
    const spec = await gw.connectAs({ role: 'specialist', tenant: 'kirov', name: 'Dr Idle', subject: 'idle', specialties: ['cardiology'] });
    await spec.request({ type: 'presence.set', status: 'available' });

    const c = okConsult(await clin.request(consultRequest({ urgency: 'emergency' })));
    assert.equal(c.warn_at - c.created_at, 1000);
    assert.equal(c.deadline_at - c.created_at, 2000);
    assert.equal(c.expire_at - c.created_at, 3000);
    // Other urgencies keep their defaults.
    const planned = okConsult(await clin.request(consultRequest({ urgency: 'planned', specialty: 'neurology' })));
    assert.equal(planned.deadline_at - planned.created_at, 7 * 86400 * 1000);

    const warn = await coord.nextNotice('consult.escalation', { consultId: c.id, timeout: WAIT, where: (m) => m.level === 'warning' });
    assert.equal(warn.consult.escalation, 'warning');
    const overdue = await coord.nextNotice('consult.escalation', { consultId: c.id, timeout: WAIT, where: (m) => m.level === 'overdue' });
    assert.equal(overdue.consult.escalation, 'overdue');
    const expired = await clin.nextNotice('consult.updated', { consultId: c.id, state: 'expired', timeout: WAIT });
    assert.ok(expired.consult.ended_at >= c.expire_at, 'expired at or after expire_at');
    assert.ok(warn.consult.updated_at >= c.warn_at && overdue.consult.updated_at >= c.deadline_at, 'escalations not early');
    await coord.nextNotice('consult.updated', { consultId: c.id, state: 'expired', timeout: WAIT });

    // The clinician saw the escalations as consult.updated too, in order.
    const states = clin.received((m) => m.type === 'consult.updated' && m.consult.id === c.id).map((m) => m.consult.escalation);
    assert.ok(states.indexOf('warning') < states.indexOf('overdue'), `escalation order: ${states}`);
    // The specialist's offer: renewed on escalation, withdrawn at expiry.
    const offers = spec.received((m) => m.type === 'consult.offered' && m.consult.id === c.id).map((m) => m.consult.escalation);
    assert.deepEqual(offers, ['none', 'warning', 'overdue']);
    const wd = await spec.nextNotice('consult.withdrawn', { consultId: c.id, timeout: WAIT });
    assert.equal(wd.reason, 'expired');

    // An expired consult cannot be accepted; the trail names the system as actor.
    const acc = await spec.request({ type: 'consult.accept', consult_id: c.id });
    assert.equal(acc.type, 'error');
    assert.ok(['wrong_state', 'not_found'].includes(acc.code), acc.code);
    const { events } = await clin.request({ type: 'consult.history', consult_id: c.id });
    const esc = events.filter((e) => e.kind === 'escalated');
    assert.deepEqual(esc.map((e) => [e.detail, e.actor, e.actor_role]), [['warning', 'system', null], ['overdue', 'system', null]]);
    const last = events.at(-1);
    assert.deepEqual([last.kind, last.to, last.actor, last.actor_role], ['state', 'expired', 'system', null]);
    // The planned one is untouched.
    const st = await clin.request({ type: 'sync' });
    assert.equal(st.consults.find((x) => x.id === planned.id).escalation, 'none');
    await gw.stop();
  });

  test('overdue requests are routed with queue.auto_route_overdue; both centres\' coordinators are told', async () => {
    const gw = await Gateway.start({ set: { ...SHORT, 'queue.emergency.expire': '30s', 'routes.kirov': 'vologda', 'queue.auto_route_overdue': 'true' } });
    const coord = await gw.connectAs(COORD);
    const coordV = await gw.connectAs(COORD_V);
    const specV = await gw.connectAs({ role: 'specialist', tenant: 'vologda', name: 'Dr Vologda', subject: 'dl-spec-v', specialties: ['cardiology'] });
    await specV.request({ type: 'presence.set', status: 'available' });
    const clin = await gw.connectAs(CLIN);
    const c = okConsult(await clin.request(consultRequest({ urgency: 'emergency' })));
    assert.equal(c.routed_to, null);

    await coord.nextNotice('consult.escalation', { consultId: c.id, timeout: WAIT, where: (m) => m.level === 'overdue' });
    const routed = await clin.nextNotice('consult.updated', { consultId: c.id, timeout: WAIT, where: (m) => m.consult.routed_to === 'vologda' });
    assert.equal(routed.consult.tenant, 'kirov');
    await coordV.nextNotice('consult.updated', { consultId: c.id, timeout: WAIT });
    const offer = await specV.nextNotice('consult.offered', { consultId: c.id, timeout: WAIT });
    assert.equal(offer.consult.routed_to, 'vologda');
    const { events } = await coord.request({ type: 'consult.history', consult_id: c.id });
    const r = events.find((e) => e.kind === 'routed');
    assert.ok(r, JSON.stringify(events));
    assert.equal(r.actor, 'system');
    assert.equal(r.detail, 'routed to vologda');
    // The routed-to centre's specialist can take it.
    assert.equal(okConsult(await specV.request({ type: 'consult.accept', consult_id: c.id })).specialist.tenant, 'vologda');
    await gw.stop();
  });

  test('kill -9 and restart after expire_at passed while down: it expires at once', async () => {
    const dataDir = path.join(tempDir('consilium-deadline-'), 'data');
    const gw1 = await Gateway.start({ dataDir, set: SHORT });
    const clin = await gw1.connectAs(CLIN);
    const c = okConsult(await clin.request(consultRequest({ urgency: 'emergency' })));
    await gw1.kill9();
    const wait = c.expire_at + 200 - Date.now();
    if (wait > 0) await sleep(wait);

    const restartedAt = Date.now();
    const gw2 = await Gateway.start({ dataDir, set: SHORT });
    const clin2 = await gw2.connectAs({ token: clin.token });
    const seen = clin2.welcome.consults.find((x) => x.id === c.id);
    assert.ok(seen, 'the consult is still listed');
    if (seen.state !== 'expired') {
      assert.equal(seen.state, 'requested');
      await clin2.nextNotice('consult.updated', { consultId: c.id, state: 'expired', timeout: WAIT });
    }
    const { events } = await clin2.request({ type: 'consult.history', consult_id: c.id });
    const last = events.at(-1);
    assert.deepEqual([last.kind, last.to, last.actor], ['state', 'expired', 'system']);
    assert.ok(last.at >= restartedAt, 'expired by the restarted gateway');
    await gw2.stop();
  });

  test('kill -9 and quick restart: escalation and expiry happen on schedule afterwards', async () => {
    const set = { 'queue.emergency.warn': '1s', 'queue.emergency.deadline': '2s', 'queue.emergency.expire': '4s' };
    const dataDir = path.join(tempDir('consilium-deadline-'), 'data');
    const gw1 = await Gateway.start({ dataDir, set });
    const clin = await gw1.connectAs(CLIN);
    const c = okConsult(await clin.request(consultRequest({ urgency: 'emergency' })));
    await gw1.kill9();

    const gw2 = await Gateway.start({ dataDir, set });
    const coord = await gw2.connectAs(COORD);
    const clin2 = await gw2.connectAs({ token: clin.token });
    const seen = clin2.welcome.consults.find((x) => x.id === c.id);
    assert.ok(clin2.welcome.server_time < c.expire_at, 'restarted well before expire_at');
    assert.equal(seen.state, 'requested', 'not expired yet after the restart');
    assert.equal(seen.expire_at, c.expire_at, 'same deadline as before the crash');

    const overdue = await coord.nextNotice('consult.escalation', { consultId: c.id, timeout: WAIT, where: (m) => m.level === 'overdue' });
    assert.equal(overdue.consult.escalation, 'overdue');
    const expired = await clin2.nextNotice('consult.updated', { consultId: c.id, state: 'expired', timeout: WAIT });
    assert.ok(expired.consult.ended_at >= c.expire_at);
    await gw2.stop();
  });
});
