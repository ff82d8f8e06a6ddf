// assign.test.js — consult.assign: a coordinator gives a queued consult to a
// specialist of their centre who has signed in before, online or not.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Gateway, cleanup, consultRequest, eventually, okConsult } from '../lib/gateway.js';

const CLIN = { role: 'clinician', tenant: 'kirov', name: 'Assign Clinician', subject: 'as-clin' };
const COORD = { role: 'coordinator', tenant: 'kirov', name: 'Assign Coordinator', subject: 'as-coord' };
const SOKOLOV = { role: 'specialist', tenant: 'kirov', name: 'Dr Sokolov', subject: 'sokolov', specialties: ['cardiology', 'neurology'] };
const ORLOVA = { role: 'specialist', tenant: 'kirov', name: 'Dr Orlova', subject: 'orlova', specialties: ['dermatology'] };

describe('coordinator assigns', () => {
  let gw, clin, coord;
  before(async () => {
    gw = await Gateway.start();
    // Both specialists sign in once and leave.
    for (const u of [SOKOLOV, ORLOVA]) {
      const s = await gw.connectAs(u);
      s.close();
      await s.closed;
    }
    clin = await gw.connectAs(CLIN);
    coord = await gw.connectAs(COORD);
  });
  after(cleanup);

  test('the coordinator\'s welcome lists specialists who signed in, with presence offline', async () => {
    // (The server handles their closes on its own schedule: wait until it has.)
    await eventually(async () => {
      const st = await coord.request({ type: 'sync' });
      const list = Object.fromEntries(st.specialists.map((s) => [s.subject, s]));
      assert.deepEqual(list.sokolov, { subject: 'sokolov', name: 'Dr Sokolov', status: 'offline', specialties: ['cardiology', 'neurology'] });
      assert.deepEqual(list.orlova, { subject: 'orlova', name: 'Dr Orlova', status: 'offline', specialties: ['dermatology'] });
    });
  });

  test('assign to an offline specialist → accepted; they see it in welcome when they reconnect', async () => {
    const c = okConsult(await clin.request(consultRequest()));
    assert.equal(c.state, 'requested');
    const assigned = okConsult(await coord.request({ type: 'consult.assign', consult_id: c.id, specialist: 'sokolov' }));
    assert.equal(assigned.state, 'accepted');
    assert.deepEqual(assigned.specialist, { subject: 'sokolov', tenant: 'kirov', name: 'Dr Sokolov' });
    assert.deepEqual(assigned.participants.map((p) => [p.subject, p.role]), [['as-clin', 'clinician'], ['sokolov', 'specialist']]);
    await clin.nextNotice('consult.updated', { consultId: c.id, state: 'accepted' });

    const h = await coord.request({ type: 'consult.history', consult_id: c.id });
    const e = h.events.find((x) => x.kind === 'state' && x.to === 'accepted');
    assert.equal(e.actor, 'as-coord');
    assert.equal(e.actor_role, 'coordinator');

    const s = await gw.connectAs(SOKOLOV);
    const mine = s.welcome.consults.find((x) => x.id === c.id);
    assert.ok(mine, 'assigned consult in the specialist\'s welcome');
    assert.equal(mine.state, 'accepted');
    // And they can start it with the clinician.
    okConsult(await s.request({ type: 'consult.join', consult_id: c.id }));
    assert.equal(okConsult(await clin.request({ type: 'consult.join', consult_id: c.id })).state, 'in_progress');
    s.close();
    await s.closed;
  });

  test('assign errors: unknown specialist, wrong specialty, not a coordinator, already accepted', async () => {
    const c = okConsult(await clin.request(consultRequest({ urgency: 'urgent' })));
    const unknown = await coord.request({ type: 'consult.assign', consult_id: c.id, specialist: 'nobody' });
    assert.equal(unknown.code, 'not_found');
    const notSpecialist = await coord.request({ type: 'consult.assign', consult_id: c.id, specialist: 'as-clin' });
    assert.equal(notSpecialist.code, 'not_found', 'a clinician is not a specialist');
    const wrongSpecialty = await coord.request({ type: 'consult.assign', consult_id: c.id, specialist: 'orlova' });
    assert.equal(wrongSpecialty.code, 'forbidden');
    const byClin = await clin.request({ type: 'consult.assign', consult_id: c.id, specialist: 'sokolov' });
    assert.equal(byClin.code, 'forbidden');
    const coordP = await gw.connectAs({ role: 'coordinator', tenant: 'perm', name: 'Perm Coordinator', subject: 'as-coord-p' });
    const other = await coordP.request({ type: 'consult.assign', consult_id: c.id, specialist: 'sokolov' });
    assert.equal(other.code, 'not_found', 'another centre\'s coordinator does not see it');
    const missing = await coord.request({ type: 'consult.assign', consult_id: c.id });
    assert.equal(missing.code, 'invalid');
    assert.match(missing.message, /specialist/);

    okConsult(await coord.request({ type: 'consult.assign', consult_id: c.id, specialist: 'sokolov' }));
    const again = await coord.request({ type: 'consult.assign', consult_id: c.id, specialist: 'sokolov' });
    assert.equal(again.code, 'wrong_state');
  });

  test('a perm specialist with the same subject is not kirov\'s "sokolov"', async () => {
    // Subjects are unique only within a centre.
    const permSokolov = await gw.connectAs({ ...SOKOLOV, tenant: 'perm', name: 'Dr Sokolov of Perm' });
    const c = okConsult(await clin.request(consultRequest({ urgency: 'planned', specialty: 'neurology' })));
    const a = okConsult(await coord.request({ type: 'consult.assign', consult_id: c.id, specialist: 'sokolov' }));
    assert.deepEqual(a.specialist, { subject: 'sokolov', tenant: 'kirov', name: 'Dr Sokolov' });
    await permSokolov.barrier();
    assert.equal(permSokolov.received((m) => (m.consult?.id ?? m.consult_id) === c.id).length, 0);
    assert.ok(!(await permSokolov.request({ type: 'sync' })).consults.some((x) => x.id === c.id));
  });
});
