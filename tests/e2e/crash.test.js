// crash.test.js — the gateway killed (SIGKILL) in the middle of a consultation,
// as the people in it would live it (issue 8, "Faults"):
//
//   cd tests && CONSILIUM_BIN=/work/main/build/consilium node --test e2e/crash.test.js
//
// Gateway A sends signed documents to gateway B, which acts as the patient's
// record system and is down at first. A clinician and a specialist are in a
// call in two Chromium pages (fake camera and microphone) while a second
// clinician's request waits in the queue (a plain WebSocket client). The
// specialist records the call with the clinician's consent and, while it is
// recorded, writes and signs the conclusion in the page: a document owed to
// the record system, pending since B is down. Then A is killed and started
// again on the same data folder and port, the pages left as they are.
//
// Afterwards: the request is still queued (its clinician and the specialist
// see it); both pages reconnect by themselves, show the consult again and the
// call resumes on a new peer connection with media flowing both ways
// (getStats); the recording is off ("gateway restarted") and its capture is
// post-processed into a playable WebM holding all but about the last second
// before the kill, marked incomplete (ffprobe, and the page says so); the
// document is still pending. B starts: the document is delivered, once (one
// DocumentReference in B's record store, A's counters say one delivery), and
// the page says delivered. No page errors.
//
// Behaviour only: waits are bounded and generous, nothing asserts how long
// anything took (the phases are printed with t.diagnostic). Skips, saying
// why, only when chromium, ffmpeg or ffprobe is missing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  Gateway, BIN, HOST, cleanup, consultRequest, okConsult, apiRequest, tempDir, freePort, sleep,
} from '../lib/gateway.js';
import { FFMPEG, FFPROBE, executable, probe, countVideoFrames } from '../lib/avfile.js';
import { closeBrowsers, pageProblems, WEB_ROOT, CHROMIUM } from './lib/browser.js';
import { until } from './lib/media.js';
import { USERS, PATIENT } from './lib/people.js';
import { newConsult, joinCall, pagesFlowing, serverConsult, recordingFile, captureTaking, phases } from './lib/call.js';

const WAIT = 30000;                 // UI steps; the machine may be busy (and ASan slow)
const MEDIA_WAIT = 30000;
const READY_WAIT = 120000;          // post-processing runs at low priority beside the call
const RECORD_BEFORE_KILL_MS = 8000; // at least this much media recorded before the kill
const START_WAIT = 20000;
const PATIENT_ID = 'SNILS 112-233-445 95';
const PATIENT_SYSTEM = 'urn:consilium:kirov:patient'; // records.identifier_base (default) + tenant
const SECOND_CLINICIAN = { role: 'clinician', tenant: 'kirov', name: 'Фельдшер Ольга Кузнецова', subject: 'kuznetsova' };
const QUEUED_PATIENT = { id: 'SNILS 998-877-665 44', name: 'Мария Орлова', birth_date: '1971-11-20' };
const CONCLUSION = {
  findings: 'Sinus rhythm 88/min. ST elevation V2–V4 up to 3 mm.',
  code: 'I21.0',
  recommendations: 'Thrombolysis now unless contraindicated; transfer to the PCI centre.',
};

const missing = [[CHROMIUM, 'chromium'], [FFMPEG, 'ffmpeg'], [FFPROBE, 'ffprobe']]
  .filter(([p]) => !executable(p)).map(([p, name]) => `${name} (${p})`);
const SKIP = missing.length ? `needs ${missing.join(', ')}: apt-get install -y chromium ffmpeg` : '';

let work;               // temp folder: A's and B's data, the shared records token, the download
const clients = [];

/** Gateway A: the web client, media on loopback, documents owed to B's record store
 *  (quick retries, so delivery follows soon after B is up); its own store off. */
function startA({ dataDir, port, bPort, tokenFile }) {
  return Gateway.start({
    dataDir, port, timeout: START_WAIT,
    set: {
      web_root: WEB_ROOT, 'media.addresses': '127.0.0.1',
      'records.url': `http://${HOST}:${bPort}/fhir`, 'records.token_file': tokenFile,
      'records.retry_min': '200ms', 'records.retry_max': '1s', 'fhir_store.enabled': 'false',
    },
  });
}

/** Gateway B, the record system: its built-in FHIR store takes writes with the shared token. */
function startB({ dataDir, port, tokenFile }) {
  return Gateway.start({ dataDir, port, timeout: START_WAIT, set: { 'records.token_file': tokenFile } });
}

const flowing = (pages, when) => pagesFlowing(pages, { timeout: MEDIA_WAIT, when });

/** The page's current local ICE ufrag: a new one means a new offer of a new peer connection. */
const ufragOf = (page) => page.evaluate(() => /^a=ice-ufrag:(\S+)/m.exec(window.consiliumCall?.pc?.localDescription?.sdp || '')?.[1] || null);

/** The specialist records the call from the page; the clinician consents in the dialog.
 *  Resolves the file (from the server) once the capture takes packets. */
async function recordCall(gw, pages, spec, consultId) {
  await pages.specialist.getByRole('button', { name: 'Record the consultation' }).click({ timeout: WAIT });
  const dialog = pages.clinician.getByRole('dialog', { name: 'Recording the consultation' });
  await dialog.getByRole('button', { name: 'I consent' }).click({ timeout: WAIT });
  await dialog.waitFor({ state: 'hidden', timeout: WAIT });
  for (const page of Object.values(pages)) await page.locator('.rec-bar[data-state="on"]').waitFor({ state: 'attached', timeout: WAIT });
  const file = recordingFile((await serverConsult(spec, consultId)).recording);
  assert.equal(typeof file.started_at, 'number');
  await captureTaking(gw, { timeout: WAIT });
  return file;
}

/** The specialist writes the conclusion in the room's Conclusion tab and signs it. */
async function signInPage(page) {
  await page.getByRole('tab', { name: 'Conclusion' }).click({ timeout: WAIT });
  const panel = page.locator('.conclusion-panel');
  await panel.getByLabel('Findings').fill(CONCLUSION.findings, { timeout: WAIT });
  await panel.getByLabel('ICD-10 code').fill(CONCLUSION.code);
  await panel.getByLabel('Recommendations').fill(CONCLUSION.recommendations);
  await panel.getByRole('button', { name: 'Sign', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Sign', exact: true }).click({ timeout: WAIT });
  await panel.locator('.conclusion-doc .badge-signed').waitFor({ timeout: WAIT });
  return panel;
}

/** Polls the consult (sync) until pred(consult) holds; resolves that consult. */
async function consultWhen(client, id, pred, what) {
  let last;
  await until(async () => { last = await serverConsult(client, id); return pred(last); },
    { timeout: WAIT, interval: 300, what: () => `${what}; last: ${JSON.stringify(last?.conclusion ?? last?.recording ?? null).slice(0, 600)}` });
  return last;
}

/** DocumentReferences of the patient in B's record store. */
async function recordDocs(b) {
  const q = `DocumentReference?patient:identifier=${encodeURIComponent(`${PATIENT_SYSTEM}|${PATIENT_ID}`)}`;
  const r = await apiRequest(b, { path: `/fhir/${q}`, headers: { Authorization: `Bearer ${b.token(USERS.clinician)}`, Accept: 'application/fhir+json' } });
  assert.equal(r.status, 200, `${q}: ${r.body.toString().slice(0, 400)}`);
  assert.equal(r.json.resourceType, 'Bundle');
  return (r.json.entry || []).map((e) => e.resource);
}

before(() => {
  if (SKIP) return;
  assert.ok(existsSync(BIN), `gateway binary missing: ${BIN} (make build, or set CONSILIUM_BIN)`);
  work = tempDir('consilium-crash-');
});

after(async () => {
  for (const c of clients) c.terminate();
  await closeBrowsers();
  await cleanup(); // removes the temp folders; fails if a gateway crashed by itself
});

test('kill -9 mid-consult: queue kept, pages reconnect and the call resumes, the recording recovered, the document delivered once', { timeout: 300000 }, async (t) => {
  if (SKIP) { t.skip(SKIP); return; }
  const lap = phases();
  const tokenFile = path.join(work, 'records-token'); // A makes it at its first start; B accepts it
  const dirs = { a: path.join(work, 'a'), b: path.join(work, 'b') };
  const bPort = await freePort();
  let a = await startA({ dataDir: dirs.a, bPort, tokenFile });
  const aPort = a.port;

  // ---- before the crash ----------------------------------------------------------------------
  // The consult, requested and accepted over WebSockets (the second clinician,
  // whose request will wait, is connected first); both join in their pages.
  const clin2 = await a.connectAs(SECOND_CLINICIAN);
  clients.push(clin2);
  const consult = await newConsult(a, clients, { id: PATIENT_ID, name: PATIENT, birth_date: '1956-03-02' });
  const { spec } = consult;
  const [clinician, specialist] = await Promise.all([joinCall(a, 'crash-clinician', consult.clin.token, { timeout: WAIT }),
    joinCall(a, 'crash-specialist', spec.token, { timeout: WAIT })]);
  const pages = { clinician, specialist };
  await flowing(pages, 'before the kill');
  lap('call up');

  // A second clinician's request waits: no cardiologist is available.
  const queued = okConsult(await clin2.request(consultRequest({ specialty: 'cardiology', urgency: 'planned', patient: QUEUED_PATIENT, reason: 'Palpitations at night, Holter attached.' })));
  assert.equal(queued.state, 'requested');

  // Recorded with consent; meanwhile the specialist signs the conclusion in the page.
  const started = await recordCall(a, pages, spec, consult.id);
  lap('recording on');
  const panel = await signInPage(specialist);
  const signed = await consultWhen(spec, consult.id, (c) => c.conclusion?.document?.delivery?.attempts >= 1,
    'the document tried once (records.url down)');
  const docId = signed.conclusion.document.id;
  assert.equal(signed.conclusion.status, 'signed');
  assert.equal(signed.conclusion.document.delivery.state, 'pending', JSON.stringify(signed.conclusion.document));
  assert.ok(signed.conclusion.document.delivery.error, `the reason it waits: ${JSON.stringify(signed.conclusion.document)}`);
  await panel.locator('.doc-delivery[data-state="pending"]').getByText(/Awaiting transfer to the patient’s electronic record/).waitFor({ timeout: WAIT });
  lap('signed, pending');
  const oldUfrags = { clinician: await ufragOf(clinician), specialist: await ufragOf(specialist) };
  const recordedFor = Date.now() - started.started_at;
  if (recordedFor < RECORD_BEFORE_KILL_MS) await sleep(RECORD_BEFORE_KILL_MS - recordedFor);
  await flowing(pages, 'just before the kill');

  // ---- the crash ----------------------------------------------------------------------------------
  const killedAt = Date.now();
  const exit = await a.kill9();
  assert.equal(exit.signal, 'SIGKILL');
  for (const page of Object.values(pages)) {
    await page.locator('.layout-call[data-connection="reconnecting"]').waitFor({ timeout: WAIT });
  }
  a = await startA({ dataDir: dirs.a, port: aPort, bPort, tokenFile });
  assert.equal(a.port, aPort);
  lap('killed and restarted');

  // ---- after the restart -------------------------------------------------------------------------
  // The queued request is still queued: its clinician and a specialist see it.
  const clin2b = await a.connectAs({ token: clin2.token });
  const specB = await a.connectAs({ token: spec.token });
  clients.push(clin2b, specB);
  for (const [who, c] of [['the second clinician', clin2b], ['the specialist', specB]]) {
    const q = c.welcome.consults.find((x) => x.id === queued.id);
    assert.ok(q, `${who} sees the queued request after the restart`);
    assert.equal(q.state, 'requested', `${who}: ${JSON.stringify(q)}`);
    assert.deepEqual([q.urgency, q.deadline_at, q.patient.name], [queued.urgency, queued.deadline_at, QUEUED_PATIENT.name]);
  }

  // Both pages reconnect by themselves, show the consult again, and the call resumes:
  // a new peer connection (a fresh offer), media flowing both ways again.
  for (const [who, page] of Object.entries(pages)) {
    await page.locator('#hdr-conn[data-state="open"]').waitFor({ timeout: WAIT });
    await page.locator('.layout-call[data-connection="open"]').waitFor({ timeout: WAIT });
    await page.locator('.room-status').getByText('You are in the room.').waitFor({ timeout: WAIT });
    await page.locator('#call-title').getByText('Cardiology').waitFor({ timeout: WAIT });
    await page.locator('.call-patient').getByText(PATIENT).waitFor({ timeout: WAIT });
    await until(async () => { const u = await ufragOf(page); return u && u !== oldUfrags[who]; },
      { timeout: WAIT, what: `${who}: a fresh offer from a new peer connection` });
  }
  await flowing(pages, 'after the restart');
  await specialist.locator('.call-participants li', { hasText: USERS.clinician.name }).getByText('in the room').waitFor({ timeout: WAIT });
  await clinician.locator('.call-participants li', { hasText: USERS.specialist.name }).getByText('in the room').waitFor({ timeout: WAIT });
  // The specialist's page counts the request in its queue (from the welcome: an away
  // specialist is not offered new requests, PROTOCOL.md "consult.offered").
  await specialist.waitForFunction(() => document.title === '(1) Consilium', null, { timeout: WAIT });
  const back = await serverConsult(specB, consult.id);
  assert.equal(back.state, 'in_progress');
  assert.deepEqual(back.participants.map((p) => [p.subject, p.present]).sort(),
    [[USERS.clinician.subject, true], [USERS.specialist.subject, true]].sort());
  lap('reconnected, media flowing');

  // The recording: off, and why; the pages no longer show it on.
  assert.equal(back.recording.state, 'off', 'the restarted gateway does not record by itself');
  const history = await specB.request({ type: 'consult.history', consult_id: consult.id });
  assert.ok(history.events.some((e) => e.kind === 'recording_stopped' && e.detail === 'gateway restarted'),
    `the audit trail says why it stopped: ${JSON.stringify(history.events.filter((e) => e.kind.startsWith('recording')))}`);
  for (const page of Object.values(pages)) await page.locator('.rec-bar[data-state="off"]').waitFor({ state: 'attached', timeout: WAIT });

  // The document is still owed to the record system.
  assert.equal(back.conclusion.document.id, docId);
  assert.equal(back.conclusion.document.delivery.state, 'pending', JSON.stringify(back.conclusion.document));
  await panel.locator('.doc-delivery[data-state="pending"]').waitFor({ timeout: WAIT });

  // Its capture, post-processed into a playable WebM of all but about the last second.
  let file;
  await until(async () => {
    file = (await serverConsult(specB, consult.id)).recording.files.find((f) => f.id === started.id);
    assert.notEqual(file?.state, 'failed', `post-processing failed: ${JSON.stringify(file)}`);
    return file?.state === 'ready';
  }, { timeout: READY_WAIT, interval: 500, what: () => `recording ${started.id} to be ready (last: ${JSON.stringify(file)})` });
  lap('post-processed');
  assert.equal(file.incomplete, true, `a crash is marked incomplete: ${JSON.stringify(file)}`);
  assert.ok(file.error, `and says what was lost: ${JSON.stringify(file)}`);
  const got = await apiRequest(a, { path: `/api/recordings/${file.id}`, headers: { Authorization: `Bearer ${spec.token}` }, timeout: 30000 });
  assert.equal(got.status, 200, `GET /api/recordings/${file.id}: ${got.status}`);
  assert.match(got.headers['content-type'], /^video\/webm/);
  assert.equal(got.body.length, file.size);
  const webm = path.join(work, 'recording-killed.webm');
  await writeFile(webm, got.body);
  const info = await probe(webm);
  assert.match(info.format.format_name, /(^|,)webm(,|$)/);
  assert.deepEqual(info.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), ['audio:opus', 'video:vp8']);
  const duration = Number(info.format.duration);
  const livedS = (killedAt - started.started_at) / 1000;
  assert.ok(duration >= livedS - 2, `all but about the last second: ${duration} s of ${livedS} s`);
  assert.ok(duration <= livedS + 0.5, `nothing after the kill: ${duration} s of ${livedS} s`);
  const frames = await countVideoFrames(webm);
  assert.ok(frames > 50, `video frames decode: ${frames}`);
  // The clinician's page lists it, ready and marked incomplete.
  await clinician.getByRole('tab', { name: 'Details' }).click({ timeout: WAIT });
  const listed = clinician.locator('.rec-files-panel .rec-file[data-state="ready"]');
  await listed.locator('.rec-incomplete-badge').getByText('incomplete').waitFor({ timeout: WAIT });
  lap('recording checked');

  // ---- the record system comes up ------------------------------------------------------------------
  const b = await startB({ dataDir: dirs.b, port: bPort, tokenFile });
  const delivered = await consultWhen(specB, consult.id, (c) => c.conclusion?.document?.delivery?.state !== 'pending',
    'the document delivered once B is up');
  assert.equal(delivered.conclusion.document.id, docId);
  assert.equal(delivered.conclusion.document.delivery.state, 'delivered', JSON.stringify(delivered.conclusion.document));
  assert.equal(typeof delivered.conclusion.document.delivery.delivered_at, 'number');
  await panel.locator('.doc-delivery[data-state="delivered"]').getByText(/^Delivered to the patient’s electronic record, \d\d:\d\d\.$/).waitFor({ timeout: WAIT });
  lap('delivered');
  // Once: a while later (several retry periods) B still holds exactly one, and A delivered one.
  await sleep(2500);
  const docs = await recordDocs(b);
  assert.deepEqual(docs.map((d) => d.masterIdentifier?.value), [`urn:uuid:${docId}`], 'one DocumentReference, this document');
  const m = await a.metrics();
  assert.equal(m['consilium_document_deliveries_total{outcome="delivered"}'], 1, 'one delivery since the restart');
  assert.equal(m['consilium_documents{state="delivered"}'], 1);
  assert.equal(m['consilium_documents{state="pending"}'], 0);

  // The call went on all along.
  await flowing(pages, 'at the end');
  t.diagnostic(`recorded ${livedS.toFixed(3)} s before the kill; the file holds ${duration} s (${frames} frames), ` +
    `error "${file.error}"; document attempts before delivery ${delivered.conclusion.document.delivery.attempts}`);
  t.diagnostic(`phases: ${lap}`);
  await b.stop();
  await a.stop();
});

test('no page errors, and no token in the console', (t) => {
  if (SKIP) { t.skip(SKIP); return; }
  assert.deepEqual(pageProblems, []);
});
