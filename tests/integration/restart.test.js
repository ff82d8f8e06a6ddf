// restart.test.js — nothing acknowledged is lost: queued requests and accepted
// consults survive kill -9 and a clean SIGTERM restart on the same data dir.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { Gateway, cleanup, consultRequest, okConsult, tempDir } from '../lib/gateway.js';

const CLIN = { role: 'clinician', tenant: 'kirov', name: 'Restart Clinician', subject: 'restart-clin' };
const CARDIO = { role: 'specialist', tenant: 'kirov', name: 'Dr Cardio', subject: 'cardio', specialties: ['cardiology'] };
const DERM = { role: 'specialist', tenant: 'kirov', name: 'Dr Derm', subject: 'derm', specialties: ['dermatology'] };
const COORD = { role: 'coordinator', tenant: 'kirov', name: 'Restart Coordinator', subject: 'restart-coord' };

const KEPT = ['id', 'state', 'tenant', 'specialty', 'urgency', 'mode', 'reason', 'patient', 'clinician', 'specialist',
  'created_at', 'warn_at', 'deadline_at', 'expire_at', 'accepted_at', 'escalation', 'routed_to'];
const pick = (c) => Object.fromEntries(KEPT.map((k) => [k, c[k]]));

describe('restart on the same data dir', () => {
  after(cleanup);

  test('kill -9: queued requests, offers and accepted consults survive', async () => {
    const dataDir = path.join(tempDir('consilium-restart-'), 'data');
    const gw1 = await Gateway.start({ dataDir });
    const clin = await gw1.connectAs(CLIN);
    const derm = await gw1.connectAs(DERM);
    await derm.request({ type: 'presence.set', status: 'available' });

    // Three queued requests (no cardiologist or neurologist online) ...
    const queued = [];
    for (const over of [
      { specialty: 'cardiology', urgency: 'planned', reason: 'Follow-up after stent, stable.' },
      { specialty: 'cardiology', urgency: 'emergency', reason: 'Chest pain, ST elevation in V2–V4.' },
      { specialty: 'neurology', urgency: 'urgent', mode: 'deferred', reason: 'Transient aphasia yesterday.\nCT attached.' },
    ]) {
      const c = okConsult(await clin.request(consultRequest(over)));
      assert.equal(c.state, 'requested');
      queued.push(c);
    }
    // ... and one accepted before the crash.
    const acc = okConsult(await clin.request(consultRequest({ specialty: 'dermatology', urgency: 'planned', reason: 'Pigmented lesion.' })));
    assert.equal(acc.state, 'offered');
    const accepted = okConsult(await derm.request({ type: 'consult.accept', consult_id: acc.id }));
    assert.equal(accepted.state, 'accepted');
    const before = await clin.request({ type: 'sync' });
    assert.equal(before.consults.length, 4);

    const exit = await gw1.kill9();
    assert.equal(exit.signal, 'SIGKILL');
    const closeInfo = await clin.closed;
    assert.equal(closeInfo.code, 1006, 'an abrupt end is seen as 1006');

    const gw2 = await Gateway.start({ dataDir });
    // The same tokens still work: the secret is kept in the data dir.
    const clin2 = await gw2.connectAs({ token: clin.token });
    const after = clin2.welcome.consults;
    assert.equal(after.length, 4, `clinician sees all four: ${JSON.stringify(after.map((c) => [c.id, c.state]))}`);
    // Queued ones first, most urgent first, in the documented queue order.
    assert.deepEqual(after.slice(0, 3).map((c) => c.id), [queued[1].id, queued[2].id, queued[0].id]);
    for (const q of queued) {
      const c = after.find((x) => x.id === q.id);
      assert.ok(c, `queued request ${q.id} survived`);
      assert.deepEqual(pick(c), pick(q), 'same id, state, deadlines and content');
    }
    const a2 = after.find((x) => x.id === acc.id);
    assert.deepEqual(pick(a2), pick(accepted), 'the accepted consult is still accepted, with its specialist');
    assert.deepEqual(a2.participants.map((p) => p.subject), ['restart-clin', 'derm']);

    // A cardiologist becoming available gets both cardiology offers; the
    // requested ones become offered.
    const cardio = await gw2.connectAs(CARDIO);
    assert.equal(cardio.welcome.presence, 'away');
    assert.deepEqual(cardio.welcome.consults.map((c) => c.id).sort(), [queued[0].id, queued[1].id].sort(),
      'queued cardiology consults are visible to a cardiologist');
    await cardio.request({ type: 'presence.set', status: 'available' });
    const o1 = await cardio.nextNotice('consult.offered', { consultId: queued[0].id });
    const o2 = await cardio.nextNotice('consult.offered', { consultId: queued[1].id });
    assert.equal(o1.consult.state, 'offered');
    assert.equal(o2.consult.state, 'offered');
    await clin2.nextNotice('consult.updated', { consultId: queued[1].id, state: 'offered' });
    // And may accept one.
    const took = okConsult(await cardio.request({ type: 'consult.accept', consult_id: queued[1].id }));
    assert.equal(took.state, 'accepted');

    // The specialist who accepted before the crash sees it on reconnecting.
    const derm2 = await gw2.connectAs({ token: derm.token });
    const mine = derm2.welcome.consults.find((c) => c.id === acc.id);
    assert.ok(mine, 'accepted consult in the specialist\'s welcome');
    assert.equal(mine.state, 'accepted');
    assert.equal(mine.specialist.subject, 'derm');
    // And can carry on with it.
    okConsult(await clin2.request({ type: 'consult.join', consult_id: acc.id }));
    assert.equal(okConsult(await derm2.request({ type: 'consult.join', consult_id: acc.id })).state, 'in_progress');

    // The audit trail survived too.
    const h = await clin2.request({ type: 'consult.history', consult_id: acc.id });
    assert.ok(h.events.some((e) => e.kind === 'state' && e.to === 'accepted' && e.actor === 'derm'), JSON.stringify(h.events));

    // Users seen before the crash are still known (coordinator's list).
    const coord = await gw2.connectAs(COORD);
    const subjects = coord.welcome.specialists.map((s) => s.subject).sort();
    assert.deepEqual(subjects, ['cardio', 'derm']);
    await gw2.stop();
  });

  test('kill -9 right after many acknowledged requests: every acknowledged one is there', async () => {
    const dataDir = path.join(tempDir('consilium-restart-'), 'data');
    const gw1 = await Gateway.start({ dataDir, set: { 'limits.rate': 1000, 'limits.burst': 1000 } });
    const clin = await gw1.connectAs({ ...CLIN, subject: 'burst-clin' });
    const ids = [];
    for (let i = 0; i < 40; i++) ids.push(okConsult(await clin.request(consultRequest({ urgency: 'urgent', reason: `Burst ${i}` }))).id);
    await gw1.kill9();
    const gw2 = await Gateway.start({ dataDir });
    const clin2 = await gw2.connectAs({ token: clin.token });
    assert.deepEqual(clin2.welcome.consults.map((c) => c.id).sort(), ids.slice().sort());
    await gw2.stop();
  });

  test('SIGTERM: exit 0, and everything is back after restart', async () => {
    const dataDir = path.join(tempDir('consilium-restart-'), 'data');
    const gw1 = await Gateway.start({ dataDir });
    const clin = await gw1.connectAs(CLIN);
    const cardio = await gw1.connectAs(CARDIO);
    const q = okConsult(await clin.request(consultRequest({ specialty: 'neurology', urgency: 'urgent' })));
    await cardio.request({ type: 'presence.set', status: 'available' });
    const a = okConsult(await clin.request(consultRequest({ urgency: 'emergency' })));
    const accepted = okConsult(await cardio.request({ type: 'consult.accept', consult_id: a.id }));
    okConsult(await clin.request({ type: 'consult.join', consult_id: a.id }));
    const inProgress = okConsult(await cardio.request({ type: 'consult.join', consult_id: a.id }));
    assert.equal(inProgress.state, 'in_progress');

    // (The 1001 close code clients should get is checked in sigterm.test.js.)
    const [exit] = await Promise.all([gw1.stop(), clin.closed, cardio.closed]);
    assert.equal(exit.code, 0);

    const gw2 = await Gateway.start({ dataDir });
    const clin2 = await gw2.connectAs({ token: clin.token });
    const byId = Object.fromEntries(clin2.welcome.consults.map((c) => [c.id, c]));
    assert.deepEqual(pick(byId[q.id]), pick(q));
    assert.equal(byId[a.id].state, 'in_progress', 'an in-progress consult is still in progress');
    assert.equal(byId[a.id].accepted_at, accepted.accepted_at);
    // Everyone was marked absent when their connection closed.
    assert.ok(byId[a.id].participants.every((p) => p.present === false), JSON.stringify(byId[a.id].participants));
    // Rejoining works.
    assert.equal(okConsult(await clin2.request({ type: 'consult.join', consult_id: a.id })).participants[0].present, true);
    await gw2.stop();
  });
});
