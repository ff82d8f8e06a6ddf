// race.test.js — acceptance is atomic: two specialists accepting the same
// consult at once get exactly one ok and one "taken", every time.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Gateway, cleanup, consultRequest, okConsult } from '../lib/gateway.js';

const ROUNDS = 50;

describe('simultaneous accepts', () => {
  let gw, clin, a, b, coord;
  before(async () => {
    // Each connection sends a few messages per round: lift the rate limit.
    gw = await Gateway.start({ set: { 'limits.rate': 2000, 'limits.burst': 2000 } });
    clin = await gw.connectAs({ role: 'clinician', tenant: 'kirov', name: 'Race Clinician', subject: 'race-clin' });
    a = await gw.connectAs({ role: 'specialist', tenant: 'kirov', name: 'Dr A', subject: 'spec-a', specialties: ['cardiology'] });
    b = await gw.connectAs({ role: 'specialist', tenant: 'kirov', name: 'Dr B', subject: 'spec-b', specialties: ['cardiology', 'neurology'] });
    coord = await gw.connectAs({ role: 'coordinator', tenant: 'kirov', name: 'Race Coordinator', subject: 'race-coord' });
    for (const s of [a, b]) assert.equal((await s.request({ type: 'presence.set', status: 'available' })).type, 'ok');
  });
  after(cleanup);

  test(`exactly one winner in each of ${ROUNDS} rounds`, async (t) => {
    const wins = { 'spec-a': 0, 'spec-b': 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const c = okConsult(await clin.request(consultRequest({ reason: `Race round ${round}: chest pain, troponin rising.` })));
      assert.equal(c.state, 'offered', `round ${round}: both specialists are available`);
      await Promise.all([a.nextNotice('consult.offered', { consultId: c.id }), b.nextNotice('consult.offered', { consultId: c.id })]);

      // Both accepts leave before either reply is read; who sends first alternates.
      const accept = (s) => s.request({ type: 'consult.accept', consult_id: c.id });
      let ra, rb;
      if (round % 2 === 0) [ra, rb] = await Promise.all([accept(a), accept(b)]);
      else [rb, ra] = await Promise.all([accept(b), accept(a)]);
      const oks = [ra, rb].filter((r) => r.type === 'ok');
      const errs = [ra, rb].filter((r) => r.type === 'error');
      assert.equal(oks.length, 1, `round ${round}: exactly one ok: ${JSON.stringify([ra.type, ra.code, rb.type, rb.code])}`);
      assert.equal(errs.length, 1, `round ${round}: exactly one error`);
      assert.equal(errs[0].code, 'taken', `round ${round}: the loser hears "taken"`);

      const winner = ra.type === 'ok' ? a : b;
      const loser = winner === a ? b : a;
      const winnerSubject = winner === a ? 'spec-a' : 'spec-b';
      wins[winnerSubject]++;
      const accepted = oks[0].consult;
      assert.equal(accepted.state, 'accepted');
      assert.equal(accepted.specialist.subject, winnerSubject);
      assert.equal(accepted.participants.filter((p) => p.role === 'specialist').length, 1);

      // The clinician sees one acceptance, by the winner.
      const upd = await clin.nextNotice('consult.updated', { consultId: c.id, state: 'accepted' });
      assert.equal(upd.consult.specialist.subject, winnerSubject);
      // The loser's offer is withdrawn as taken.
      const wd = await loser.nextNotice('consult.withdrawn', { consultId: c.id });
      assert.equal(wd.reason, 'taken');

      // The audit trail has one acceptance.
      const h = await coord.request({ type: 'consult.history', consult_id: c.id });
      const acc = h.events.filter((e) => e.kind === 'state' && e.to === 'accepted');
      assert.equal(acc.length, 1, `round ${round}: one accepted event`);
      assert.equal(acc[0].actor, winnerSubject);

      // End it so the winner is available again for the next round.
      assert.equal(okConsult(await winner.request({ type: 'consult.end', consult_id: c.id })).state, 'ended');
      const st = await winner.request({ type: 'sync' });
      assert.equal(st.presence, 'available', `round ${round}: winner available again after ending`);
    }
    // Not an assertion about fairness, just a record of who won.
    t.diagnostic(`wins: ${JSON.stringify(wins)}`);
    assert.equal(wins['spec-a'] + wins['spec-b'], ROUNDS);
  });

  test('three connections of two specialists (one specialist on two tabs) racing: one winner', async () => {
    const a2 = await gw.connectAs({ role: 'specialist', tenant: 'kirov', name: 'Dr A', subject: 'spec-a', specialties: ['cardiology'] });
    for (let round = 0; round < 10; round++) {
      const c = okConsult(await clin.request(consultRequest({ reason: `Three-way round ${round}` })));
      await Promise.all([a, a2, b].map((s) => s.nextNotice('consult.offered', { consultId: c.id })));
      const replies = await Promise.all([a, a2, b].map((s) => s.request({ type: 'consult.accept', consult_id: c.id })));
      const oks = replies.filter((r) => r.type === 'ok');
      assert.equal(oks.length, 1, `round ${round}: ${JSON.stringify(replies.map((r) => r.code ?? r.type))}`);
      for (const r of replies.filter((x) => x.type === 'error')) assert.equal(r.code, 'taken');
      const winnerSubject = oks[0].consult.specialist.subject;
      const winner = winnerSubject === 'spec-a' ? a : b;
      okConsult(await winner.request({ type: 'consult.end', consult_id: c.id }));
    }
    a2.close();
    await a2.closed;
  });
});
