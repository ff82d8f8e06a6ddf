// documents.test.js — a signed conclusion reaches the patient's electronic
// record, once (docs/RECORDS.md): the document made at signing (PDF and FHIR
// Bundle), its delivery state in the consult for the specialist and the
// coordinator, the built-in record store of `make run`, an amendment that
// replaces the first document, and delivery from one gateway to another
// acting as the record system over real HTTP — with the record system down
// for a while, with a kill -9 of the sender in the middle of a post, with a
// refusal, and with SMART Backend Services instead of a static token; and a
// PDF read after its consult has left the gateway's memory.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import {
  Gateway, cleanup, tempDir, freePort, eventually, sleep, mintToken, apiRequest, consultRequest, okConsult, HOST,
} from '../lib/gateway.js';
import { assertValid, assertReferencesResolve } from '../lib/fhir.js';

const FAST = { 'limits.rate': 1000, 'limits.burst': 1000, 'records.retry_min': '200ms', 'records.retry_max': '1s' };

const CLIN = { role: 'clinician', tenant: 'kirov', name: 'Фельдшер Анна Петрова', subject: 'doc-clin' };
const SPEC = { role: 'specialist', tenant: 'kirov', name: 'Dr Elena Ivanova', subject: 'doc-spec', specialties: ['cardiology'] };
const COORD = { role: 'coordinator', tenant: 'kirov', name: 'Coordinator Oleg', subject: 'doc-coord' };
const PATIENT_ID = 'SNILS 112-233-445 95';
const PATIENT_SYSTEM = 'urn:consilium:kirov:patient';

const CONTENT = {
  findings: 'ЭКГ: подъём ST 3 мм в V1–V4. Тропонин I 2,4 нг/мл.',
  diagnosis: { code: 'I21.0', text: 'Острый трансмуральный инфаркт передней стенки миокарда' },
  recommendations: 'Тромболизис на месте; перевод в региональный сосудистый центр.',
};

/** A consult of clin accepted by spec, ended, with a signed conclusion: the ok reply. */
async function signedConsult(clin, spec, content = CONTENT) {
  assert.equal((await spec.request({ type: 'presence.set', status: 'available' })).type, 'ok');
  const c = okConsult(await clin.request(consultRequest({ patient: { id: PATIENT_ID, name: 'Иван Петрович Сидоров', birth_date: '1956-03-02' } })));
  okConsult(await spec.request({ type: 'consult.accept', consult_id: c.id }));
  okConsult(await clin.request({ type: 'consult.end', consult_id: c.id }));
  const saved = await spec.request({ type: 'conclusion.save', consult_id: c.id, ...content });
  assert.equal(saved.type, 'ok', JSON.stringify(saved).slice(0, 400));
  const signed = await spec.request({ type: 'conclusion.sign', consult_id: c.id, version: saved.conclusion.version });
  assert.equal(signed.type, 'ok', JSON.stringify(signed).slice(0, 400));
  return signed;
}

/** Waits for a consult.updated on c whose document (documentId, when given) is in delivery state. */
function deliveryNotice(c, consultId, state, timeout = 15000, documentId = null) {
  return c.nextNotice('consult.updated', {
    consultId, timeout,
    where: (m) => m.consult.conclusion?.document?.delivery?.state === state && (!documentId || m.consult.conclusion.document.id === documentId),
  });
}

/** A FHIR search on gw's built-in store with a bearer token: the searchset. */
async function search(gw, token, query) {
  const r = await apiRequest(gw, { path: `/fhir/${query}`, headers: { Authorization: `Bearer ${token}`, Accept: 'application/fhir+json' } });
  assert.equal(r.status, 200, `${query}: ${r.body.toString().slice(0, 400)}`);
  assert.equal(r.json.resourceType, 'Bundle');
  assert.equal(r.json.type, 'searchset');
  return r.json;
}

const docsOf = (gw, token) => search(gw, token, `DocumentReference?patient:identifier=${encodeURIComponent(`${PATIENT_SYSTEM}|${PATIENT_ID}`)}`);

function pdfText(bytes) {
  const dir = tempDir('consilium-pdf-');
  const file = path.join(dir, 'doc.pdf');
  fs.writeFileSync(file, bytes);
  const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
  execFileSync('pdftoppm', ['-r', '40', '-png', '-f', '1', '-l', '1', file, path.join(dir, 'page')]);
  const png = fs.readdirSync(dir).find((f) => f.endsWith('.png'));
  assert.ok(png && fs.statSync(path.join(dir, png)).size > 2000, 'the first page renders to an image');
  return text;
}

describe('a document after its consult has left the gateway\'s memory (consult.retain)', () => {
  after(cleanup);

  test('its PDF still reads for the consult\'s people, from storage, and for nobody else', async () => {
    const gw = await Gateway.start({ set: { ...FAST, 'consult.retain': '1s' } });
    const clin = await gw.connectAs(CLIN);
    const spec = await gw.connectAs(SPEC);
    const signed = await signedConsult(clin, spec);
    await eventually(async () => {
      const st = await clin.request({ type: 'sync' });
      assert.ok(!st.consults.some((x) => x.id === signed.consult.id), 'the finished consult is evicted');
    }, { timeout: 10000, interval: 300 });
    const id = signed.conclusion.document.id;
    for (const who of [CLIN, SPEC]) {
      const r = await apiRequest(gw, { path: `/api/documents/${id}/pdf`, headers: { Authorization: `Bearer ${gw.token(who)}` } });
      assert.equal(r.status, 200, `${who.subject}: ${r.body.toString().slice(0, 200)}`);
      assert.equal(r.headers['content-type'], 'application/pdf');
    }
    const stranger = mintToken({ dataDir: gw.dataDir, role: 'clinician', tenant: 'perm', name: 'Dr Elsewhere' });
    assert.equal((await apiRequest(gw, { path: `/api/documents/${id}/pdf`, headers: { Authorization: `Bearer ${stranger}` } })).status, 404);
    const colleague = mintToken({ dataDir: gw.dataDir, role: 'clinician', tenant: 'kirov', name: 'Another feldsher', subject: 'doc-other' });
    assert.equal((await apiRequest(gw, { path: `/api/documents/${id}/pdf`, headers: { Authorization: `Bearer ${colleague}` } })).status, 404);
  });
});

describe('documents on one gateway, delivered to its built-in record store', () => {
  let gw, clin, spec, coord, signed;
  before(async () => {
    gw = await Gateway.start({ set: FAST });
    clin = await gw.connectAs(CLIN);
    spec = await gw.connectAs(SPEC);
    coord = await gw.connectAs(COORD);
  });
  after(cleanup);

  test('signing makes a document, owed to the record; the specialist and the coordinator see it delivered', async () => {
    signed = await signedConsult(clin, spec);
    const doc = signed.conclusion.document;
    assert.match(doc.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(doc.version, signed.conclusion.version);
    assert.equal(doc.replaces, null);
    assert.ok(['pending', 'delivered'].includes(doc.delivery.state), JSON.stringify(doc));
    for (const c of [spec, coord]) {
      const n = await deliveryNotice(c, signed.consult.id, 'delivered');
      const d = n.consult.conclusion.document;
      assert.equal(d.id, doc.id);
      assert.equal(d.delivery.attempts, 1);
      assert.equal(typeof d.delivery.delivered_at, 'number');
      assert.equal(d.delivery.error, null);
    }
  });

  test('the record holds one DocumentReference, readable by the centre\'s staff and the patient, not by others', async () => {
    const staff = gw.token(CLIN);
    const bundle = await docsOf(gw, staff);
    assert.equal(bundle.total, 1, JSON.stringify(bundle).slice(0, 600));
    const ref = bundle.entry[0].resource;
    assert.equal(ref.masterIdentifier.value, `urn:uuid:${signed.conclusion.document.id}`);
    assert.equal(ref.type.coding[0].code, '11488-4');
    const patient = mintToken({ dataDir: gw.dataDir, role: 'patient', tenant: 'kirov', name: 'Иван Сидоров', subject: 'patient-1', extraArgs: ['--patient-id', PATIENT_ID] });
    assert.equal((await docsOf(gw, patient)).total, 1, 'the patient reads their own document');
    const other = mintToken({ dataDir: gw.dataDir, role: 'patient', tenant: 'kirov', name: 'Someone Else', subject: 'patient-2', extraArgs: ['--patient-id', 'MRN-999'] });
    assert.equal((await docsOf(gw, other)).total, 0, 'another patient does not');
    const stranger = mintToken({ dataDir: gw.dataDir, role: 'clinician', tenant: 'perm', name: 'Dr Elsewhere' });
    assert.equal((await docsOf(gw, stranger)).total, 0, 'another centre does not');
    // The PDF stored in the record is the document's PDF.
    const url = ref.content[0].attachment.url;
    assert.match(url, /^Binary\//);
    const bin = await apiRequest(gw, { path: `/fhir/${url}`, headers: { Authorization: `Bearer ${staff}` } });
    assert.equal(bin.status, 200);
    assert.equal(bin.body.subarray(0, 5).toString(), '%PDF-');
    assert.equal(ref.content[0].attachment.size, bin.body.length);
    assert.equal(ref.content[0].attachment.hash, crypto.createHash('sha1').update(bin.body).digest('base64'));
  });

  test('the PDF reads as a clinical document, for whoever may see the consult', async () => {
    const id = signed.conclusion.document.id;
    const r = await apiRequest(gw, { path: `/api/documents/${id}/pdf`, headers: { Authorization: `Bearer ${gw.token(CLIN)}` } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/pdf');
    const text = pdfText(r.body);
    for (const s of ['Иван Петрович Сидоров', 'I21.0', 'Острый трансмуральный инфаркт', 'Dr Elena Ivanova', id, 'Тромболизис на месте'])
      assert.ok(text.includes(s), `the PDF shows ${s}:\n${text.slice(0, 1500)}`);
    const stranger = mintToken({ dataDir: gw.dataDir, role: 'clinician', tenant: 'perm', name: 'Dr Elsewhere' });
    assert.equal((await apiRequest(gw, { path: `/api/documents/${id}/pdf`, headers: { Authorization: `Bearer ${stranger}` } })).status, 404);
    assert.equal((await apiRequest(gw, { path: `/api/documents/${id}/pdf` })).status, 401);
    assert.equal((await apiRequest(gw, { path: '/api/documents/not-a-uuid/pdf', headers: { Authorization: `Bearer ${gw.token(CLIN)}` } })).status, 404);
  });

  test('an amendment: the others read the signed version meanwhile; signed, it replaces the first document and both are kept', async () => {
    const id = signed.consult.id;
    const first = signed.conclusion.document.id;
    const amended = { ...CONTENT, recommendations: 'Тромболизис на месте; перевод санавиацией; кардиореабилитация.' };
    const draft = await spec.request({ type: 'conclusion.save', consult_id: id, ...amended });
    assert.equal(draft.type, 'ok', JSON.stringify(draft).slice(0, 400));
    assert.equal(draft.conclusion.status, 'draft');
    assert.equal(draft.conclusion.document.id, first, 'the signed document stays the current one');
    const seen = await clin.request({ type: 'conclusion.get', consult_id: id });
    assert.equal(seen.conclusion.status, 'signed');
    assert.equal(seen.conclusion.recommendations, CONTENT.recommendations);
    const r = await spec.request({ type: 'conclusion.sign', consult_id: id, version: draft.conclusion.version });
    assert.equal(r.type, 'ok', JSON.stringify(r).slice(0, 400));
    assert.notEqual(r.conclusion.document.id, first);
    assert.equal(r.conclusion.document.replaces, first);
    await deliveryNotice(coord, id, 'delivered', 15000, r.conclusion.document.id);
    const bundle = await docsOf(gw, gw.token(CLIN));
    assert.equal(bundle.total, 2, 'both documents are in the record');
    const newer = bundle.entry.map((e) => e.resource).find((d) => d.masterIdentifier.value === `urn:uuid:${r.conclusion.document.id}`);
    assert.equal(newer.docStatus, 'amended');
    assert.equal(newer.relatesTo[0].code, 'replaces');
    assert.equal(newer.relatesTo[0].target.identifier.value, `urn:uuid:${first}`);
  });

  test('/metrics counts documents by state and deliveries by outcome', async () => {
    const m = await gw.metrics();
    assert.equal(m['consilium_documents{state="delivered"}'], 2);
    assert.equal(m['consilium_documents{state="pending"}'], 0);
    assert.equal(m['consilium_document_deliveries_total{outcome="delivered"}'], 2);
  });
});

/**
 * A record system in front of gateway B that the test controls: it can hold
 * a post (forwarding it only when released), refuse one, and remembers the
 * Bundles it saw.
 */
function recordProxy(targetPort) {
  const state = { bundles: [], hold: null, refuse: false, seen: 0 };
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    if (req.method === 'POST' && req.url === '/fhir') {
      state.seen++;
      state.bundles.push(JSON.parse(body.toString('utf8')));
      if (state.refuse) {
        res.writeHead(422, { 'Content-Type': 'application/fhir+json' });
        res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: 'subject: unknown patient' }] }));
        return;
      }
    }
    const upstream = await fetch(`http://${HOST}:${targetPort}${req.url}`, { method: req.method, headers: { ...req.headers, host: `${HOST}:${targetPort}` }, body: req.method === 'POST' ? body : undefined });
    const answer = Buffer.from(await upstream.arrayBuffer());
    if (req.method === 'POST' && state.hold) await state.hold.promise; // stored upstream, answer held
    res.writeHead(upstream.status, { 'Content-Type': upstream.headers.get('content-type') ?? 'application/json' });
    res.end(answer);
  });
  return new Promise((resolve) => server.listen(0, HOST, () => resolve({ server, state, port: server.address().port })));
}

function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

describe('delivery from one gateway to another acting as the record system', () => {
  let store, storePort, storeDir;
  before(async () => {
    storeDir = path.join(tempDir('consilium-store-'), 'data');
    storePort = await freePort();
    store = await Gateway.start({ dataDir: storeDir, port: storePort, set: FAST });
  });
  after(cleanup);

  const senderSet = (port, over = {}) => ({
    ...FAST, 'records.url': `http://${HOST}:${port}/fhir`,
    'records.token_file': path.join(storeDir, 'records-token'), 'fhir_store.enabled': 'false', ...over,
  });

  test('the record system down for a while: the document waits, retried with backoff, delivered once when it is back', async () => {
    const sender = await Gateway.start({ set: senderSet(storePort) });
    const clin = await sender.connectAs(CLIN);
    const spec = await sender.connectAs(SPEC);
    await store.stop();
    const signed = await signedConsult(clin, spec);
    const id = signed.consult.id;
    const waiting = await eventually(async () => {
      const n = await deliveryNotice(spec, id, 'pending', 5000);
      const d = n.consult.conclusion.document.delivery;
      assert.ok(d.attempts >= 2, `retried: ${JSON.stringify(d)}`);
      return d;
    }, { timeout: 15000 });
    assert.ok(waiting.error, 'the reason is shown');
    assert.ok(waiting.next_attempt_at > Date.now() - 1000, 'the next attempt is planned');
    store = await Gateway.start({ dataDir: storeDir, port: storePort, set: FAST });
    await deliveryNotice(spec, id, 'delivered', 20000);
    const docs = (await docsOf(store, store.token(CLIN))).entry.map((e) => e.resource);
    assert.equal(docs.filter((d) => d.masterIdentifier.value === `urn:uuid:${signed.conclusion.document.id}`).length, 1, 'stored once');
    await sender.stop();
  });

  test('kill -9 of the sender while its post is in flight: after the restart it is posted again and stored once; the Bundle is valid FHIR R4', async () => {
    const proxy = await recordProxy(storePort);
    const senderDir = path.join(tempDir('consilium-sender-'), 'data');
    let sender = await Gateway.start({ dataDir: senderDir, set: senderSet(proxy.port) });
    const clin = await sender.connectAs(CLIN);
    const spec = await sender.connectAs(SPEC);
    proxy.state.hold = deferred();
    const signed = await signedConsult(clin, spec);
    const docId = signed.conclusion.document.id;
    await eventually(() => assert.equal(proxy.state.seen, 1), { timeout: 10000 });
    // The record system has stored it; its answer has not reached the sender.
    await eventually(async () => {
      const docs = (await docsOf(store, store.token(CLIN))).entry.map((e) => e.resource);
      assert.equal(docs.filter((d) => d.masterIdentifier.value === `urn:uuid:${docId}`).length, 1);
    });
    await sender.kill9();
    proxy.state.hold.resolve();
    proxy.state.hold = null;

    sender = await Gateway.start({ dataDir: senderDir, set: senderSet(proxy.port) });
    const spec2 = await sender.connectAs({ token: spec.token });
    const back = spec2.welcome.consults.find((c) => c.id === signed.consult.id);
    assert.ok(back, 'the consult is back after the restart');
    if (back.conclusion.document.delivery.state !== 'delivered') await deliveryNotice(spec2, signed.consult.id, 'delivered', 15000);
    assert.equal(proxy.state.seen, 2, 'posted again after the restart');
    assert.deepEqual(proxy.state.bundles[1], proxy.state.bundles[0], 'the same Bundle both times');
    const docs = (await docsOf(store, store.token(CLIN))).entry.map((e) => e.resource);
    assert.equal(docs.filter((d) => d.masterIdentifier.value === `urn:uuid:${docId}`).length, 1, 'no duplicate');
    const encounters = await search(store, store.token(CLIN), `Encounter?identifier=${encodeURIComponent(`urn:consilium:consult|${signed.consult.id}`)}`);
    assert.equal(encounters.total, 1, 'one Encounter');
    // The Bundle as it travelled, checked by an independent FHIR R4 validator.
    assertValid(proxy.state.bundles[0]);
    assertReferencesResolve(proxy.state.bundles[0]);
    await sender.stop();
    proxy.server.close();
  });

  test('a refusal (422) marks the document failed with the record system\'s reason, for the coordinator too', async () => {
    const proxy = await recordProxy(storePort);
    proxy.state.refuse = true;
    const sender = await Gateway.start({ set: senderSet(proxy.port) });
    const clin = await sender.connectAs(CLIN);
    const spec = await sender.connectAs(SPEC);
    const coord = await sender.connectAs(COORD);
    const signed = await signedConsult(clin, spec);
    const n = await deliveryNotice(coord, signed.consult.id, 'failed');
    assert.match(n.consult.conclusion.document.delivery.error, /subject: unknown patient/);
    await sleep(1500);
    assert.equal(proxy.state.seen, 1, 'a refusal is not retried');
    const m = await sender.metrics();
    assert.equal(m['consilium_documents{state="failed"}'], 1);
    assert.equal(m['consilium_document_deliveries_total{outcome="refused"}'], 1);
    await sender.stop();
    proxy.server.close();
  });

  test('SMART Backend Services: the sender gets an access token with a signed JWT assertion', async () => {
    const dir = tempDir('consilium-smart-');
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    fs.writeFileSync(path.join(dir, 'client.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'client.pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    const smartPort = await freePort();
    const smartStore = await Gateway.start({
      port: smartPort,
      set: { ...FAST, 'fhir_store.smart.client_id': 'district-7-gateway', 'fhir_store.smart.public_key': path.join(dir, 'client.pub.pem') },
    });
    const sender = await Gateway.start({
      set: {
        ...FAST, 'records.url': `http://${HOST}:${smartPort}/fhir`, 'fhir_store.enabled': 'false',
        'records.auth': 'smart', 'records.smart.client_id': 'district-7-gateway', 'records.smart.key': path.join(dir, 'client.pem'),
        'records.smart.token_url': `http://${HOST}:${smartPort}/fhir/auth/token`,
      },
    });
    const clin = await sender.connectAs(CLIN);
    const spec = await sender.connectAs(SPEC);
    const signed = await signedConsult(clin, spec);
    await deliveryNotice(spec, signed.consult.id, 'delivered');
    const docs = (await docsOf(smartStore, smartStore.token(CLIN))).entry.map((e) => e.resource);
    assert.equal(docs.filter((d) => d.masterIdentifier.value === `urn:uuid:${signed.conclusion.document.id}`).length, 1);
    await sender.stop();
    await smartStore.stop();
  });
});
