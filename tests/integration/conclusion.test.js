// conclusion.test.js — PROTOCOL.md "The conclusion", against the real binary:
// conclusion.save by the consult's specialist (drafts, version 1, 2, …; the
// consult's summary in the ok and in consult.updated, never the draft's text),
// conclusion.get (the author sees the draft, everyone else null until it is
// signed), conclusion.sign (the latest version only, a complete draft only,
// then signed for good), who may do what, the field checks (ICD-10 codes,
// lengths), the consult states it is allowed in (ended included), the audit
// trail, and a signed conclusion and a draft surviving a restart.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Gateway, assertErrorReply, cleanup, consultRequest, okConsult, tempDir } from '../lib/gateway.js';

// records.url = none: documents stay pending, so summaries read at different times agree.
const SET = { 'limits.rate': 1000, 'limits.burst': 1000, 'records.url': 'none' };

const u = (role, tenant, subject, extra = {}) => ({ role, tenant, subject, name: `${role} ${subject}`, ...extra });
const CLIN = { role: 'clinician', tenant: 'kirov', name: 'Фельдшер Анна Петрова', subject: 'concl-clin' };
const SPEC = { role: 'specialist', tenant: 'kirov', name: 'Dr Elena Ivanova', subject: 'concl-spec', specialties: ['cardiology'] };
const SPEC_B = u('specialist', 'kirov', 'concl-spec-b', { specialties: ['cardiology'] });
const COORD = u('coordinator', 'kirov', 'concl-coord');

const DRAFT = {
  findings: 'Sinus rhythm, ST elevation V2–V4 up to 3 mm.',
  diagnosis: { code: 'I21.0', text: 'Acute transmural myocardial infarction of anterior wall' },
  recommendations: 'Thrombolysis now; transfer to the PCI centre.',
};

/** An error reply of code; one about a field also names it in its message. */
function assertError(r, code, field) {
  assertErrorReply(r, code, field);
  if (field) assert.ok(r.message.includes(field), `message names ${field}: ${r.message}`);
}

const saveMsg = (consultId, over = {}) => ({ type: 'conclusion.save', consult_id: consultId, ...DRAFT, ...over });

/** conclusion.save → ok {consult, conclusion}; returns the reply. */
async function save(c, consultId, over = {}) {
  const r = await c.request(saveMsg(consultId, over));
  assert.equal(r.type, 'ok', `conclusion.save: ${JSON.stringify(r).slice(0, 600)}`);
  assert.ok(r.consult && r.conclusion, `ok carries consult and conclusion: ${JSON.stringify(r).slice(0, 600)}`);
  return r;
}

async function sign(c, consultId, version) {
  const r = await c.request({ type: 'conclusion.sign', consult_id: consultId, version });
  assert.equal(r.type, 'ok', `conclusion.sign v${version}: ${JSON.stringify(r).slice(0, 600)}`);
  assert.ok(r.consult && r.conclusion, `ok carries consult and conclusion: ${JSON.stringify(r).slice(0, 600)}`);
  return r;
}

/** conclusion.get → the `conclusion` member (object or null). */
async function get(c, consultId) {
  const r = await c.request({ type: 'conclusion.get', consult_id: consultId });
  assert.equal(r.type, 'conclusion', JSON.stringify(r).slice(0, 600));
  assert.equal(r.consult_id, consultId);
  assert.ok('conclusion' in r, 'the reply has a conclusion member (null or an object)');
  return r.conclusion;
}

const summaryOf = (c) => ({ status: c.status, version: c.version, updated_at: c.updated_at, signed_at: c.signed_at, author: c.author, document: c.document });

function assertConclusion(c, { consultId, status, version, content = DRAFT, author = { subject: SPEC.subject, name: SPEC.name } }) {
  assert.equal(c.consult_id, consultId);
  assert.equal(c.status, status);
  assert.equal(c.version, version);
  assert.equal(c.findings, content.findings);
  assert.deepEqual(c.diagnosis, content.diagnosis);
  assert.equal(c.recommendations, content.recommendations);
  assert.deepEqual(c.author, author);
  assert.equal(typeof c.updated_at, 'number');
  if (status === 'draft') assert.equal(c.signed_at, null);
  else assert.equal(typeof c.signed_at, 'number');
}

/** A consult of `clin` accepted by `spec`. */
async function accepted(clin, spec, over = {}) {
  assert.equal((await spec.request({ type: 'presence.set', status: 'available' })).type, 'ok');
  const c = okConsult(await clin.request(consultRequest(over)));
  return okConsult(await spec.request({ type: 'consult.accept', consult_id: c.id }));
}

describe('the specialist\'s conclusion', () => {
  let gw, clin, spec, spec2, specB, coord, guest, consult;
  let last; // the latest saved conclusion of `consult`
  before(async () => {
    gw = await Gateway.start({ set: SET });
    clin = await gw.connectAs(CLIN);
    spec = await gw.connectAs(SPEC);
    spec2 = await gw.connectAs(SPEC); // the specialist's second connection
    specB = await gw.connectAs(SPEC_B);
    coord = await gw.connectAs(COORD);
    consult = await accepted(clin, spec);
    // A second specialist and a patient guest take part too.
    okConsult(await spec.request({ type: 'consult.invite', consult_id: consult.id, role: 'specialist', subject: SPEC_B.subject }));
    const inv = await clin.request({ type: 'consult.invite', consult_id: consult.id, role: 'patient', name: 'Иван Сидоров' });
    assert.equal(inv.type, 'invite', JSON.stringify(inv));
    guest = await gw.connect();
    const w = await guest.request({ type: 'hello', invite: inv.code });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    guest.user = w.user;
  });
  after(cleanup);

  test('a consult starts without a conclusion: null in the consult and for everyone', async () => {
    assert.equal(consult.conclusion, null);
    for (const c of [spec, clin, coord, guest]) assert.equal(await get(c, consult.id), null, `${c.user.role}: no conclusion yet`);
  });

  test('save: a draft, version 1 then 2; the consult\'s summary in the ok and in consult.updated, without the text', async () => {
    for (const c of [clin, spec, spec2, coord, guest]) c.skipAll();
    const r1 = await save(spec, consult.id);
    assertConclusion(r1.conclusion, { consultId: consult.id, status: 'draft', version: 1 });
    assert.equal(r1.consult.id, consult.id);
    assert.deepEqual(r1.consult.conclusion, summaryOf(r1.conclusion), 'the consult carries {status, version, updated_at, signed_at, author}');
    for (const c of [clin, coord, spec2, guest, specB]) {
      const n = await c.nextNotice('consult.updated', { consultId: consult.id, where: (m) => m.consult.conclusion?.version === 1 });
      assert.deepEqual(n.consult.conclusion, summaryOf(r1.conclusion), `${c.user.role} gets the summary`);
      assert.ok(!JSON.stringify(n).includes(DRAFT.findings), `${c.user.role}: the draft's text is not in the notice`);
    }

    const v2 = { findings: 'Sinus rhythm 88/min, ST elevation V2–V4 up to 3 mm.\nQ waves V2–V3.' };
    const r2 = await save(spec2, consult.id, v2);
    assertConclusion(r2.conclusion, { consultId: consult.id, status: 'draft', version: 2, content: { ...DRAFT, ...v2 } });
    assert.ok(r2.conclusion.updated_at >= r1.conclusion.updated_at);
    assert.deepEqual(r2.consult.conclusion, summaryOf(r2.conclusion));
    const n2 = await clin.nextNotice('consult.updated', { consultId: consult.id, where: (m) => m.consult.conclusion?.version === 2 });
    assert.equal(n2.consult.conclusion.status, 'draft');
    // Everyone's state shows the summary.
    assert.deepEqual((await clin.request({ type: 'sync' })).consults.find((x) => x.id === consult.id).conclusion, summaryOf(r2.conclusion));
    last = r2.conclusion;
  });

  test('get: the author sees the draft (on every connection); everyone else gets null until it is signed', async () => {
    assert.deepEqual(await get(spec, consult.id), last);
    assert.deepEqual(await get(spec2, consult.id), last);
    for (const c of [clin, coord, guest, specB]) assert.equal(await get(c, consult.id), null, `${c.user.role} sees no draft`);
  });

  test('sign with a version that is not the latest → wrong_state, and nothing is signed', async () => {
    assertError(await spec.request({ type: 'conclusion.sign', consult_id: consult.id, version: 1 }), 'wrong_state');
    assertError(await spec.request({ type: 'conclusion.sign', consult_id: consult.id, version: 3 }), 'wrong_state');
    assert.deepEqual(await get(spec, consult.id), last, 'still the same draft');
    assert.equal(await get(clin, consult.id), null);
    assert.equal((await clin.request({ type: 'sync' })).consults.find((x) => x.id === consult.id).conclusion.status, 'draft');
  });

  test('sign an incomplete draft → invalid naming the empty field; it stays a draft', async () => {
    for (const [field, over] of [
      ['findings', { findings: '' }],
      ['diagnosis.code', { diagnosis: { code: '', text: DRAFT.diagnosis.text } }],
      ['diagnosis.text', { diagnosis: { code: 'I21.0', text: '' } }],
      ['recommendations', { recommendations: '' }],
    ]) {
      const r = await save(spec, consult.id, over);
      assert.equal(r.conclusion.version, last.version + 1, 'an empty field is fine in a draft');
      last = r.conclusion;
      assertError(await spec.request({ type: 'conclusion.sign', consult_id: consult.id, version: last.version }), 'invalid', field);
      assert.deepEqual(await get(spec, consult.id), last, `${field}: still the draft`);
    }
    // All four empty: a draft too.
    const empty = await save(spec, consult.id, { findings: '', diagnosis: { code: '', text: '' }, recommendations: '' });
    assert.deepEqual(empty.conclusion.diagnosis, { code: '', text: '' });
    last = empty.conclusion;
    const r = await spec.request({ type: 'conclusion.sign', consult_id: consult.id, version: last.version });
    assert.equal(r.code, 'invalid', JSON.stringify(r));
  });

  test('only the consult\'s specialist saves and signs: clinician, coordinator, another specialist, a guest → forbidden', async () => {
    for (const [c, what] of [[clin, 'the clinician'], [coord, 'the coordinator'], [specB, 'an invited specialist'], [guest, 'a guest']]) {
      assertError(await c.request(saveMsg(consult.id)), 'forbidden');
      assertError(await c.request({ type: 'conclusion.sign', consult_id: consult.id, version: last.version }), 'forbidden');
      assert.deepEqual(await get(spec, consult.id), last, `${what} changed nothing`);
    }
  });

  test('not visible → not_found: another centre, another clinician, an unknown consult', async () => {
    const others = [
      await gw.connectAs(u('clinician', 'perm', CLIN.subject)),
      await gw.connectAs(u('clinician', 'kirov', 'concl-clin-2')),
      await gw.connectAs(u('coordinator', 'perm', 'concl-coord-p')),
      await gw.connectAs(u('specialist', 'perm', SPEC.subject, { specialties: ['cardiology'] })),
    ];
    for (const c of others) {
      assertError(await c.request({ type: 'conclusion.get', consult_id: consult.id }), 'not_found');
      assertError(await c.request(saveMsg(consult.id)), 'not_found');
      assertError(await c.request({ type: 'conclusion.sign', consult_id: consult.id, version: last.version }), 'not_found');
    }
    const unknown = '00000000-0000-4000-8000-000000000000';
    assertError(await spec.request({ type: 'conclusion.get', consult_id: unknown }), 'not_found');
    assertError(await spec.request(saveMsg(unknown)), 'not_found');
  });

  test('field checks: lengths, missing fields, types', async () => {
    const ok = async (over) => { const r = await save(spec, consult.id, over); last = r.conclusion; return r.conclusion; };
    assert.equal((await ok({ findings: 'f'.repeat(8000) })).findings.length, 8000);
    assert.equal((await ok({ recommendations: 'Ж'.repeat(4000) })).recommendations, 'Ж'.repeat(4000)); // 8,000 bytes
    assert.equal((await ok({ diagnosis: { code: 'I21', text: 't'.repeat(500) } })).diagnosis.text.length, 500);
    assert.equal((await ok({ findings: 'Line 1\nLine 2\n\tindented', recommendations: 'a\nb' })).findings, 'Line 1\nLine 2\n\tindented');
    const before = last;
    assertError(await spec.request(saveMsg(consult.id, { findings: 'f'.repeat(8001) })), 'invalid', 'findings');
    assertError(await spec.request(saveMsg(consult.id, { recommendations: 'Ж'.repeat(4000) + 'x' })), 'invalid', 'recommendations');
    assertError(await spec.request(saveMsg(consult.id, { diagnosis: { code: 'I21', text: 't'.repeat(501) } })), 'invalid', 'diagnosis.text');
    for (const field of ['findings', 'diagnosis', 'recommendations']) {
      const m = saveMsg(consult.id);
      delete m[field];
      assertError(await spec.request(m), 'invalid', field);
    }
    assertError(await spec.request(saveMsg(consult.id, { diagnosis: { text: 'no code' } })), 'invalid', 'diagnosis.code');
    assertError(await spec.request(saveMsg(consult.id, { diagnosis: { code: 'I21' } })), 'invalid', 'diagnosis.text');
    assertError(await spec.request(saveMsg(consult.id, { diagnosis: 'I21.0' })), 'invalid', 'diagnosis');
    assertError(await spec.request(saveMsg(consult.id, { diagnosis: ['I21.0', 'text'] })), 'invalid', 'diagnosis');
    assertError(await spec.request(saveMsg(consult.id, { findings: 42 })), 'invalid', 'findings');
    assertError(await spec.request(saveMsg(consult.id, { diagnosis: { code: 121, text: 'x' } })), 'invalid', 'diagnosis.code');
    assertError(await spec.request({ type: 'conclusion.sign', consult_id: consult.id }), 'invalid', 'version');
    for (const v of ['1', 1.5, true, [1]]) assertError(await spec.request({ type: 'conclusion.sign', consult_id: consult.id, version: v }), 'invalid', 'version');
    assertError(await spec.request({ type: 'conclusion.get' }), 'invalid', 'consult_id');
    assert.deepEqual(await get(spec, consult.id), before, 'refused saves changed nothing');
  });

  test('ICD-10: a capital letter, two digits, optionally a dot and one or two digits', async () => {
    for (const code of ['i21', 'I2', 'I21.000', '21.0', 'I21.', 'II1', 'I210', 'I21-0', 'I21.0.1', ' I21', 'I21 ', 'Ж21', 'I２1', '.I21', 'I21.a']) {
      assertError(await spec.request(saveMsg(consult.id, { diagnosis: { code, text: 'x' } })), 'invalid', 'diagnosis.code');
    }
    for (const code of ['I21', 'I21.0', 'S72.00', 'Z99', 'A00.1']) {
      const r = await save(spec, consult.id, { diagnosis: { code, text: `text for ${code}` } });
      assert.deepEqual(r.conclusion.diagnosis, { code, text: `text for ${code}` });
      last = r.conclusion;
    }
  });

  test('sign the latest complete draft: signed for good; everyone is told and may read it', async () => {
    const final = await save(spec, consult.id);
    last = final.conclusion;
    assert.equal(await get(clin, consult.id), null, 'a draft until signed');
    for (const c of [clin, coord, guest, spec2]) c.skipAll();

    const r = await sign(spec, consult.id, last.version);
    const signed = r.conclusion;
    assertConclusion(signed, { consultId: consult.id, status: 'signed', version: last.version });
    assert.ok(signed.signed_at >= last.updated_at, 'signed_at is set, not before the last save');
    assert.deepEqual(r.consult.conclusion, summaryOf(signed));
    for (const c of [clin, coord, guest, spec2, specB]) {
      const n = await c.nextNotice('consult.updated', { consultId: consult.id, where: (m) => m.consult.conclusion?.status === 'signed' });
      assert.deepEqual(n.consult.conclusion, summaryOf(signed), `${c.user.role} is told`);
    }
    for (const c of [spec, spec2, clin, coord, guest, specB]) assert.deepEqual(await get(c, consult.id), signed, `${c.user.role} reads the signed conclusion`);

    // Signed means final: it is not signed again (a new save starts an
    // amendment, a new document: documents.test.js).
    assert.equal(signed.document.version, signed.version, 'signing made a document of this version');
    assert.match(signed.document.id, /^[0-9a-f-]{36}$/);
    assert.equal(signed.document.replaces, null);
    assert.equal(signed.document.delivery.state, 'pending', 'owed to the record (records.url = none here)');
    assert.equal(signed.document.delivery.next_attempt_at, signed.signed_at, 'due at once');
    assertError(await spec.request({ type: 'conclusion.sign', consult_id: consult.id, version: signed.version }), 'wrong_state');
    assertError(await spec.request({ type: 'conclusion.sign', consult_id: consult.id, version: signed.version + 1 }), 'wrong_state');
    assert.deepEqual(await get(clin, consult.id), signed, 'unchanged');
    last = signed;
  });

  test('consult.history records the signing, by whom', async () => {
    const { events } = await clin.request({ type: 'consult.history', consult_id: consult.id });
    assert.ok(Array.isArray(events), 'consult.history answered');
    const signing = events.filter((e) => e.actor === SPEC.subject && /sign/i.test(`${e.kind} ${e.detail ?? ''}`));
    assert.equal(signing.length, 1, `one event records the signing: ${JSON.stringify(events.map((e) => [e.kind, e.actor, e.detail]))}`);
    assert.equal(signing[0].actor_role, 'specialist');
    assert.equal(signing[0].from, signing[0].to, 'signing does not change the consult\'s state');
    for (let i = 1; i < events.length; i++) assert.ok(events[i].at >= events[i - 1].at, 'oldest first');
  });

  test('states: not in requested or offered; not in a cancelled consult; in in_progress and after consult.end', async () => {
    // requested: a pulmonologist who is away sees the queued request.
    const pulmo = await gw.connectAs(u('specialist', 'kirov', 'concl-pulmo', { specialties: ['pulmonology'] }));
    const requested = okConsult(await clin.request(consultRequest({ specialty: 'pulmonology', urgency: 'planned' })));
    assert.equal(requested.state, 'requested');
    let r = await pulmo.request(saveMsg(requested.id));
    assert.equal(r.type, 'error');
    assert.ok(['wrong_state', 'forbidden'].includes(r.code), `save in requested: ${JSON.stringify(r)}`);
    // offered: to the available cardiologist.
    const offered = okConsult(await clin.request(consultRequest({ urgency: 'urgent' })));
    assert.equal(offered.state, 'offered');
    r = await spec.request(saveMsg(offered.id));
    assert.equal(r.type, 'error');
    assert.ok(['wrong_state', 'forbidden'].includes(r.code), `save in offered: ${JSON.stringify(r)}`);
    for (const c of [requested, offered]) assert.equal(await get(clin, c.id), null);

    // cancelled after acceptance: the consult's specialist may no longer write.
    okConsult(await spec.request({ type: 'consult.accept', consult_id: offered.id }));
    okConsult(await clin.request({ type: 'consult.cancel', consult_id: offered.id }));
    assertError(await spec.request(saveMsg(offered.id)), 'wrong_state');
    assertError(await spec.request({ type: 'conclusion.sign', consult_id: offered.id, version: 1 }), 'wrong_state');
    okConsult(await clin.request({ type: 'consult.cancel', consult_id: requested.id }));

    // in_progress: a draft; ended: more drafts, then signed.
    const c = await accepted(clin, spec, { urgency: 'urgent', reason: 'Conclusion after the call.' });
    okConsult(await clin.request({ type: 'consult.join', consult_id: c.id }));
    assert.equal(okConsult(await spec.request({ type: 'consult.join', consult_id: c.id })).state, 'in_progress');
    assert.equal((await save(spec, c.id, { findings: 'During the call.' })).conclusion.version, 1);
    const ended = okConsult(await spec.request({ type: 'consult.end', consult_id: c.id }));
    assert.equal(ended.state, 'ended');
    assert.equal(ended.conclusion.status, 'draft');
    const after = await save(spec, c.id);
    assert.equal(after.conclusion.version, 2);
    assert.equal(after.consult.state, 'ended', 'saving does not change the state');
    clin.skipAll();
    const s = await sign(spec, c.id, 2);
    assert.equal(s.conclusion.status, 'signed');
    assert.equal(s.consult.state, 'ended');
    const n = await clin.nextNotice('consult.updated', { consultId: c.id, where: (m) => m.consult.conclusion?.status === 'signed' });
    assert.deepEqual(n.consult.conclusion, summaryOf(s.conclusion));
    assert.deepEqual(await get(clin, c.id), s.conclusion);

    // Signed straight after the end, without a call: accepted → ended → save → sign.
    const d = await accepted(clin, spec, { urgency: 'planned', mode: 'deferred', reason: 'Written opinion only.' });
    okConsult(await clin.request({ type: 'consult.end', consult_id: d.id }));
    const dv = await save(spec, d.id);
    assert.equal((await sign(spec, d.id, dv.conclusion.version)).conclusion.status, 'signed');
  });
});

describe('conclusions survive a restart', () => {
  after(cleanup);

  test('a signed conclusion stays signed, a draft stays the author\'s draft', async () => {
    const dataDir = path.join(tempDir('consilium-concl-'), 'data');
    const gw1 = await Gateway.start({ dataDir, set: SET });
    const clin = await gw1.connectAs(CLIN);
    const spec = await gw1.connectAs(SPEC);
    const a = await accepted(clin, spec);
    await save(spec, a.id, { findings: 'First version.' });
    const s = (await sign(spec, a.id, (await save(spec, a.id)).conclusion.version)).conclusion;
    const b = await accepted(clin, spec, { urgency: 'urgent', reason: 'Second patient.' });
    const draft = (await save(spec, b.id, { recommendations: 'Draft before the restart.' })).conclusion;
    await gw1.stop();

    const gw2 = await Gateway.start({ dataDir, set: SET });
    const clin2 = await gw2.connectAs({ token: clin.token });
    const spec2 = await gw2.connectAs({ token: spec.token });
    const byId = Object.fromEntries(clin2.welcome.consults.map((c) => [c.id, c]));
    assert.deepEqual(byId[a.id].conclusion, summaryOf(s), 'the signed summary is back');
    assert.deepEqual(byId[b.id].conclusion, summaryOf(draft), 'the draft summary is back');
    assert.deepEqual(await get(clin2, a.id), s, 'the clinician reads the same signed conclusion');
    assert.deepEqual(await get(spec2, a.id), s);
    assert.equal(await get(clin2, b.id), null, 'a draft is still the author\'s only');
    assert.deepEqual(await get(spec2, b.id), draft);
    assertError(await spec2.request({ type: 'conclusion.sign', consult_id: a.id, version: s.version }), 'wrong_state');
    assertError(await spec2.request({ type: 'conclusion.sign', consult_id: b.id, version: draft.version + 1 }), 'wrong_state');
    const next = await save(spec2, b.id);
    assert.equal(next.conclusion.version, draft.version + 1, 'versions carry on after a restart');
    assert.equal((await sign(spec2, b.id, next.conclusion.version)).conclusion.status, 'signed');
    const h = await clin2.request({ type: 'consult.history', consult_id: a.id });
    assert.ok(h.events.some((e) => e.actor === SPEC.subject && /sign/i.test(`${e.kind} ${e.detail ?? ''}`)), 'the signing is still in the audit trail');
    await gw2.stop();
  });
});
