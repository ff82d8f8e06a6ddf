// attachments.test.js — PROTOCOL.md "Attachments (HTTP)" and "consult.request
// with attachments", against the real binary: POST /api/attachments for each
// allowed type (real PNG, JPEG, WEBP and PDF bytes built here) and its errors
// (authentication, type, content, name, size, the 20 unbound per user);
// GET /api/attachments/<id> by the uploader, and by everyone who may see the
// consult it is bound to — and by no one else; binding in consult.request
// (listed in the consult, exists / not_found / invalid, nothing changed on an
// error); invitation guests; ids that look like paths; welcome.attachments;
// and attachments surviving a restart on the same data dir.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  Gateway, apiRequest, assertErrorReply as assertError, cleanup, consultRequest, decodeJwt, okConsult, readSecret, signHs256,
  tempDir,
} from '../lib/gateway.js';
import { tinyJpeg, tinyPdf, tinyPng, tinyWebp } from '../lib/files.js';

const MAX = 65536; // attachments.max_bytes for these gateways
const SET = { 'attachments.max_bytes': MAX, 'limits.rate': 1000, 'limits.burst': 1000 };
const TYPES = ['image/jpeg', 'image/png', 'image/webp', 'application/pdf'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const u = (role, tenant, subject, extra = {}) => ({ role, tenant, subject, name: `${role} ${subject}`, ...extra });
const CLIN = { role: 'clinician', tenant: 'kirov', name: 'Фельдшер Анна Петрова', subject: 'att-clin' };
const CLIN2 = u('clinician', 'kirov', 'att-clin-2');
const CARDIO = { role: 'specialist', tenant: 'kirov', name: 'Dr Elena Ivanova', subject: 'att-cardio', specialties: ['cardiology'] };
const NEURO = u('specialist', 'kirov', 'att-neuro', { specialties: ['neurology'] });
const COORD = u('coordinator', 'kirov', 'att-coord');
const CLIN_PERM = u('clinician', 'perm', 'att-clin'); // same subject, another centre: another user
const COORD_PERM = u('coordinator', 'perm', 'att-coord-p');

// ---- real files, built here -------------------------------------------------------

/** A valid PDF of exactly n bytes. */
function pdfOfSize(n) {
  let pad = 2;
  let p = tinyPdf('x', pad);
  // The xref offsets grow with the padding: adjust until the size is exact.
  for (let i = 0; i < 5 && p.length !== n; i++) p = tinyPdf('x', pad += n - p.length);
  assert.equal(p.length, n);
  return p;
}

const FILES = {
  'image/png': { name: 'ECG 12 leads.png', bytes: tinyPng() },
  'image/jpeg': { name: 'wound photo.jpg', bytes: tinyJpeg() },
  'image/webp': { name: 'x-ray.webp', bytes: tinyWebp() },
  'application/pdf': { name: 'discharge letter.pdf', bytes: tinyPdf() },
};

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

// ---- HTTP and signalling helpers -------------------------------------------------------

/** The Authorization header value: a client (its token), a token string, or {invite}. */
function authOf(who) {
  if (who == null) return undefined;
  if (typeof who === 'string') return `Bearer ${who}`;
  if (who.invite) return `Invite ${who.invite}`;
  return `Bearer ${who.token}`;
}

/** POST /api/attachments. opts: type (null: no Content-Type), name (undefined: no X-File-Name),
 *  rawName (the X-File-Name header exactly as given), auth (header value). */
function upload(gw, who, bytes, { type, name, rawName, auth } = {}) {
  const headers = {};
  const a = auth ?? authOf(who);
  if (a !== undefined) headers.Authorization = a;
  if (type !== null && type !== undefined) headers['Content-Type'] = type;
  const fileName = rawName ?? (name === undefined ? undefined : encodeURIComponent(name));
  if (fileName !== undefined) headers['X-File-Name'] = fileName;
  return apiRequest(gw, { method: 'POST', path: '/api/attachments', headers, body: bytes });
}

/** Uploads a file of a type and asserts 201; returns the attachment. */
async function uploadOk(gw, who, type = 'image/png', { name = FILES[type].name, bytes = FILES[type].bytes } = {}) {
  const r = await upload(gw, who, bytes, { type, name });
  assert.equal(r.status, 201, `upload ${type} answered ${r.status}: ${r.body.toString('utf8').slice(0, 300)}`);
  return r.json;
}

function download(gw, who, id, { auth } = {}) {
  const a = auth ?? authOf(who);
  return apiRequest(gw, { path: `/api/attachments/${id}`, headers: a === undefined ? {} : { Authorization: a } });
}

/** Asserts an HTTP error: status and {"error": {"code", "message"}}. */
function assertHttpError(r, status, code, what = '') {
  const text = r.body.toString('utf8').slice(0, 300);
  assert.equal(r.status, status, `${what}: expected ${status} ${code}, got ${r.status} ${text}`);
  assert.ok(r.json && typeof r.json.error === 'object', `${what}: JSON error body, got ${text}`);
  assert.equal(r.json.error.code, code, `${what}: ${text}`);
  assert.equal(typeof r.json.error.message, 'string', `${what}: error.message`);
}

async function assertReadable(gw, who, att, bytes, what) {
  const r = await download(gw, who, att.id);
  assert.equal(r.status, 200, `${what} may read ${att.name}: got ${r.status} ${r.body.toString('utf8').slice(0, 200)}`);
  assert.ok(r.body.equals(bytes), `${what}: the bytes come back identical`);
  assert.equal(r.headers['content-type']?.split(';')[0].trim(), att.type, `${what}: Content-Type`);
}

async function assertHidden(gw, who, att, what) {
  assertHttpError(await download(gw, who, att.id), 404, 'not_found', `${what} reading ${att.name}`);
}

const brief = (a) => ({ id: a.id, name: a.name, type: a.type, size: a.size });

/** A token of the same claims as `token` but expired an hour ago, signed with the gateway's secret. */
function expiredToken(gw, token) {
  const { payload } = decodeJwt(token);
  const now = Math.floor(Date.now() / 1000);
  return signHs256(readSecret(gw.dataDir), { ...payload, iat: now - 7200, nbf: undefined, exp: now - 3600 });
}

// ---- the tests ---------------------------------------------------------------------------

describe('attachments over HTTP', () => {
  let gw, clin, clin2, cardio, coord;
  before(async () => {
    gw = await Gateway.start({ set: SET });
    clin = await gw.connectAs(CLIN);
    clin2 = await gw.connectAs(CLIN2);
    cardio = await gw.connectAs(CARDIO);
    coord = await gw.connectAs(COORD);
  });
  after(cleanup);

  test('welcome.attachments: the configured max_bytes and the four allowed types', async () => {
    for (const c of [clin, cardio, coord]) {
      const a = c.welcome.attachments;
      assert.ok(a, `welcome of ${c.user.role} has attachments: ${JSON.stringify(Object.keys(c.welcome))}`);
      assert.equal(a.max_bytes, MAX);
      assert.deepEqual([...a.types].sort(), [...TYPES].sort());
    }
    const st = await clin.request({ type: 'sync' });
    assert.equal(st.attachments?.max_bytes, MAX, 'state carries it too (same shape as welcome)');
  });

  test('each allowed type with real bytes → 201 {id, name, type, size, sha256}; the uploader gets the same bytes back', async () => {
    const ids = new Set();
    for (const type of TYPES) {
      const { name, bytes } = FILES[type];
      const r = await upload(gw, clin, bytes, { type, name });
      assert.equal(r.status, 201, `${type}: ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
      assert.match(r.headers['content-type'] ?? '', /application\/json/);
      const a = r.json;
      assert.match(a.id, UUID, `${type}: the id looks like the spec's example (a UUID)`);
      assert.equal(a.name, name);
      assert.equal(a.type, type);
      assert.equal(a.size, bytes.length);
      assert.equal(a.sha256, sha256(bytes), `${type}: sha256 of the body`);
      assert.ok(!ids.has(a.id), 'a fresh id for every upload');
      ids.add(a.id);
      await assertReadable(gw, clin, a, bytes, `${type}: the uploader`);
    }
    // The same bytes uploaded twice are two attachments.
    const again = await uploadOk(gw, clin, 'image/png');
    assert.ok(!ids.has(again.id));
  });

  test('X-File-Name is percent-decoded; "/" and "\\" become "_"; 127 bytes are accepted', async () => {
    const cases = [
      ['ECG%2012%20leads.png', 'ECG 12 leads.png'],
      [encodeURIComponent('ЭКГ 14:05.png'), 'ЭКГ 14:05.png'],
      ['scans%2Fday1%2Fecg.png', 'scans_day1_ecg.png'],
      ['C%3A%5Cscans%5Cecg.png', 'C:_scans_ecg.png'],
      ['..%2F..%2Fetc%2Fpasswd', '.._.._etc_passwd'],
      ['%2e%2e', '..'],
      ['a+b%2Bc.png', 'a+b+c.png'], // '+' is a plus, not a space
      ['%3Fname%3Dx%26y.png', '?name=x&y.png'],
      [encodeURIComponent('Ж'.repeat(63) + 'x'), 'Ж'.repeat(63) + 'x'], // 127 bytes
      ['n'.repeat(127), 'n'.repeat(127)],
    ];
    for (const [header, expected] of cases) {
      const r = await upload(gw, clin, FILES['image/png'].bytes, { type: 'image/png', rawName: header });
      assert.equal(r.status, 201, `${header}: ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
      assert.equal(r.json.name, expected, header);
      const back = await download(gw, clin, r.json.id);
      assert.equal(back.status, 200, `${header}: readable by its id whatever its name`);
      assert.ok(back.body.equals(FILES['image/png'].bytes));
    }
  });

  test('a missing or bad X-File-Name → 400 invalid', async () => {
    const bytes = FILES['image/png'].bytes;
    // Every value is tried; the failures are reported together. undefined: no header.
    const wrong = [];
    for (const header of [undefined, '', 'n'.repeat(128), encodeURIComponent('Ж'.repeat(64)),
      'a%0Ab.png', 'a%0Db.png', 'a%00b.png', 'a%09b.png', 'a%7Fb.png', '%FF%FE.png', '%C3.png',
      'a%zzb.png', 'a%4', 'a%']) {
      const r = await upload(gw, clin, bytes, { type: 'image/png', rawName: header }).catch((e) => e);
      if (r instanceof Error) wrong.push(`${header} → no response (${r.code ?? r.message})`);
      else if (r.status !== 400 || r.json?.error?.code !== 'invalid') wrong.push(`${header} → ${r.status} ${r.body.toString('utf8').slice(0, 160)}`);
    }
    assert.deepEqual(wrong, [], `expected 400 invalid for each:\n${wrong.join('\n')}`);
  });

  test('authentication: none, malformed, forged or of an unknown scheme → 401 unauthenticated; expired → 401 expired', async () => {
    const bytes = FILES['image/png'].bytes;
    const opts = { type: 'image/png', name: 'ecg.png' };
    const forged = signHs256(Buffer.from('not the gateway secret'), decodeJwt(clin.token).payload);
    for (const [what, auth] of [
      ['no Authorization', undefined],
      ['empty', ''],
      ['Bearer without token', 'Bearer '],
      ['garbage token', 'Bearer not.a.jwt'],
      ['forged signature', `Bearer ${forged}`],
      ['Basic scheme', `Basic ${Buffer.from('att-clin:secret').toString('base64')}`],
      ['the token without a scheme', clin.token],
      ['unknown invitation code', `Invite ${crypto.randomBytes(24).toString('hex')}`],
      ['malformed invitation code', 'Invite xyz'],
    ]) {
      const r = auth === undefined
        ? await apiRequest(gw, { method: 'POST', path: '/api/attachments', headers: { 'Content-Type': 'image/png', 'X-File-Name': 'ecg.png' }, body: bytes })
        : await upload(gw, null, bytes, { ...opts, auth });
      assertHttpError(r, 401, 'unauthenticated', what);
    }
    const expired = expiredToken(gw, clin.token);
    assertHttpError(await upload(gw, expired, bytes, opts), 401, 'expired', 'expired token');

    // GET is authenticated the same way.
    const a = await uploadOk(gw, clin, 'image/png');
    assertHttpError(await apiRequest(gw, { path: `/api/attachments/${a.id}` }), 401, 'unauthenticated', 'GET without Authorization');
    assertHttpError(await download(gw, null, a.id, { auth: `Bearer ${forged}` }), 401, 'unauthenticated', 'GET with a forged token');
    assertHttpError(await download(gw, expired, a.id), 401, 'expired', 'GET with an expired token');
    await assertReadable(gw, clin, a, bytes, 'the uploader, afterwards');
  });

  test('Content-Type missing or not allowed → 400 invalid', async () => {
    const gif = Buffer.from('474946383961010001000000002c00000000010001000002003b', 'hex');
    for (const [type, bytes] of [
      [null, FILES['image/png'].bytes],
      ['text/plain', Buffer.from('hello')],
      ['image/gif', gif],
      ['application/octet-stream', FILES['image/png'].bytes],
      ['image/svg+xml', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')],
      ['text/html', Buffer.from('<!doctype html><script>alert(1)</script>')],
      ['image/pngx', FILES['image/png'].bytes],
    ]) {
      assertHttpError(await upload(gw, clin, bytes, { type, name: 'file.bin' }), 400, 'invalid', `Content-Type ${type}`);
    }
  });

  test('bytes that are not of the declared type → 400 invalid', async () => {
    const wav = Buffer.concat([Buffer.from('RIFF', 'latin1'), Buffer.from([36, 0, 0, 0]), Buffer.from('WAVEfmt ', 'latin1'), Buffer.alloc(16)]);
    for (const [type, bytes, what] of [
      ['image/jpeg', FILES['image/png'].bytes, 'a PNG declared JPEG'],
      ['image/png', FILES['image/jpeg'].bytes, 'a JPEG declared PNG'],
      ['image/webp', FILES['application/pdf'].bytes, 'a PDF declared WEBP'],
      ['application/pdf', FILES['image/webp'].bytes, 'a WEBP declared PDF'],
      ['image/webp', wav, 'a RIFF WAVE declared WEBP'],
      ['application/pdf', Buffer.from('Just some text, not a PDF at all.\n'), 'text declared PDF'],
      ['image/png', Buffer.from('<html><body>not a png</body></html>'), 'HTML declared PNG'],
      ['image/png', FILES['image/png'].bytes.subarray(0, 3), 'a body shorter than the PNG signature'],
      ['image/jpeg', Buffer.from([0xff]), 'one byte'],
    ]) {
      assertHttpError(await upload(gw, clin, bytes, { type, name: 'file.bin' }), 400, 'invalid', what);
    }
  });

  test('an empty body → 400 invalid', async () => {
    assertHttpError(await upload(gw, clin, Buffer.alloc(0), { type: 'image/png', name: 'empty.png' }), 400, 'invalid', 'empty body');
    assertHttpError(await upload(gw, clin, Buffer.alloc(0), { type: 'application/pdf', name: 'empty.pdf' }), 400, 'invalid', 'empty PDF');
  });

  test('exactly attachments.max_bytes is accepted; one byte more → 413 too_big', async () => {
    const exact = pdfOfSize(MAX);
    const r = await upload(gw, clin, exact, { type: 'application/pdf', name: 'big.pdf' });
    assert.equal(r.status, 201, `${MAX} bytes: ${r.status} ${r.body.toString('utf8').slice(0, 200)}`);
    assert.equal(r.json.size, MAX);
    assert.equal(r.json.sha256, sha256(exact));
    await assertReadable(gw, clin, r.json, exact, 'the uploader of the largest file');
    const over = pdfOfSize(MAX + 1);
    assertHttpError(await upload(gw, clin, over, { type: 'application/pdf', name: 'too big.pdf' }), 413, 'too_big', `${MAX + 1} bytes`);
    // Much bigger: 413 too, or (if the gateway answers before reading it all)
    // the connection is closed under the sender; either way nothing is stored
    // and the gateway carries on.
    const huge = await upload(gw, clin, pdfOfSize(16 * MAX), { type: 'application/pdf', name: 'much too big.pdf' }).catch((e) => e);
    if (!(huge instanceof Error)) assertHttpError(huge, 413, 'too_big', `${16 * MAX} bytes`);
    else assert.match(huge.code ?? '', /ECONNRESET|EPIPE/, String(huge));
    assert.equal((await gw.http('/healthz')).status, 200);
  });

  test('20 unbound attachments per user: the 21st → 429 limit; binding some makes room again', async () => {
    const user = u('clinician', 'kirov', 'att-hoarder');
    const c = await gw.connectAs(user);
    const held = [];
    for (let i = 0; i < 20; i++) held.push(await uploadOk(gw, c, 'image/png', { name: `ecg ${i}.png` }));
    assertHttpError(await upload(gw, c, FILES['image/png'].bytes, { type: 'image/png', name: 'ecg 21.png' }), 429, 'limit', 'the 21st unbound upload');
    // Another user is not affected.
    await uploadOk(gw, clin2, 'image/png');
    // Binding 8 of them to a request leaves 12 unbound: 8 more may be uploaded.
    const cons = okConsult(await c.request(consultRequest({ specialty: 'oncology', urgency: 'planned', attachments: held.slice(0, 8).map((a) => a.id) })));
    assert.deepEqual(cons.attachments.map((a) => a.id), held.slice(0, 8).map((a) => a.id));
    for (let i = 0; i < 8; i++) await uploadOk(gw, c, 'image/jpeg', { name: `photo ${i}.jpg` });
    assertHttpError(await upload(gw, c, FILES['image/png'].bytes, { type: 'image/png', name: 'one more.png' }), 429, 'limit', 'full again');
    okConsult(await c.request({ type: 'consult.cancel', consult_id: cons.id }));
  });

  test('unbound: only its uploader may read it; bound by consult.request: everyone who may see the consult', async () => {
    const png = await uploadOk(gw, clin, 'image/png');
    const pdf = await uploadOk(gw, clin, 'application/pdf');
    const files = [[png, FILES['image/png'].bytes], [pdf, FILES['application/pdf'].bytes]];
    const neuro = await gw.connectAs(NEURO);
    const clinPerm = await gw.connectAs(CLIN_PERM);
    const coordPerm = await gw.connectAs(COORD_PERM);

    // Unbound: the uploader only (not even the coordinator of the centre).
    for (const [a, bytes] of files) {
      await assertReadable(gw, clin, a, bytes, 'the uploader');
      for (const [who, what] of [[clin2, 'another kirov clinician'], [cardio, 'a kirov cardiologist'], [coord, 'the kirov coordinator'],
        [clinPerm, 'a perm clinician with the same subject'], [coordPerm, 'a perm coordinator']]) {
        await assertHidden(gw, who, a, `${what} (unbound)`);
      }
    }

    // A consult without attachments lists none.
    const plain = okConsult(await clin.request(consultRequest({ specialty: 'dermatology', urgency: 'planned' })));
    assert.deepEqual(plain.attachments, []);
    assert.equal(plain.conclusion, null);
    okConsult(await clin.request({ type: 'consult.cancel', consult_id: plain.id }));

    // The cardiologist is available: the request is offered to them, with its attachments.
    assert.equal((await cardio.request({ type: 'presence.set', status: 'available' })).type, 'ok');
    const req = await clin.request(consultRequest({ attachments: [png.id, pdf.id] }));
    const cons = okConsult(req);
    assert.equal(cons.state, 'offered');
    assert.deepEqual(cons.attachments, [brief(png), brief(pdf)], 'listed in the order given, as {id, name, type, size}');
    const offered = await cardio.nextNotice('consult.offered', { consultId: cons.id });
    assert.deepEqual(offered.consult.attachments.map(brief), [brief(png), brief(pdf)]);
    const upd = await coord.nextNotice('consult.updated', { consultId: cons.id });
    assert.deepEqual(upd.consult.attachments.map(brief), [brief(png), brief(pdf)]);

    for (const [a, bytes] of files) {
      await assertReadable(gw, clin, a, bytes, 'the uploader (bound)');
      await assertReadable(gw, cardio, a, bytes, 'the cardiologist it is offered to');
      await assertReadable(gw, coord, a, bytes, 'the coordinator of the centre');
      await assertHidden(gw, clin2, a, 'another kirov clinician (bound)');
      await assertHidden(gw, neuro, a, 'a kirov neurologist (not their specialty)');
      await assertHidden(gw, clinPerm, a, 'a perm clinician (bound)');
      await assertHidden(gw, coordPerm, a, 'a perm coordinator (bound)');
    }

    // Accepted: the participants, an invited interpreter among them.
    okConsult(await cardio.request({ type: 'consult.accept', consult_id: cons.id }));
    const interp = await gw.connectAs(u('interpreter', 'kirov', 'att-interp'));
    okConsult(await cardio.request({ type: 'consult.invite', consult_id: cons.id, role: 'interpreter', subject: 'att-interp' }));
    for (const [a, bytes] of files) {
      await assertReadable(gw, cardio, a, bytes, 'the accepting specialist');
      await assertReadable(gw, interp, a, bytes, 'an invited interpreter');
      await assertReadable(gw, coord, a, bytes, 'the coordinator (accepted)');
      await assertHidden(gw, clinPerm, a, 'a perm clinician (accepted)');
      await assertHidden(gw, clin2, a, 'another kirov clinician (accepted)');
    }
    // Everyone who may see it gets it listed in welcome/state.
    const st = await interp.request({ type: 'sync' });
    assert.deepEqual(st.consults.find((x) => x.id === cons.id).attachments.map(brief), [brief(png), brief(pdf)]);

    // Ended: still readable, never deleted with the consult.
    okConsult(await cardio.request({ type: 'consult.end', consult_id: cons.id }));
    await assertReadable(gw, cardio, png, FILES['image/png'].bytes, 'the specialist (ended)');
    await assertReadable(gw, clin, pdf, FILES['application/pdf'].bytes, 'the clinician (ended)');
    await assertHidden(gw, clinPerm, png, 'a perm clinician (ended)');
    assert.equal((await cardio.request({ type: 'presence.set', status: 'away' })).type, 'ok');
  });

  test('consult.request attachments: exists, not_found, invalid — and an error binds nothing', async () => {
    // Its own clinician: clin's unbound uploads of the other tests count towards the 20.
    const binder = await gw.connectAs(u('clinician', 'kirov', 'att-binder'));
    const mine = await uploadOk(gw, binder, 'image/png');
    const mine2 = await uploadOk(gw, binder, 'image/jpeg');
    const theirs = await uploadOk(gw, clin2, 'image/png');
    const open = (await binder.request({ type: 'sync' })).consults.length;

    const first = okConsult(await binder.request(consultRequest({ specialty: 'nephrology', urgency: 'planned', attachments: [mine.id] })));
    assert.deepEqual(first.attachments, [brief(mine)]);
    assertError(await binder.request(consultRequest({ specialty: 'nephrology', attachments: [mine.id] })), 'exists', 'attachments');
    assertError(await binder.request(consultRequest({ specialty: 'nephrology', attachments: [theirs.id] })), 'not_found', 'attachments');
    assertError(await binder.request(consultRequest({ specialty: 'nephrology', attachments: [crypto.randomUUID()] })), 'not_found', 'attachments');
    // A good id next to a bad one: nothing is created, the good one stays unbound.
    assertError(await binder.request(consultRequest({ specialty: 'nephrology', attachments: [mine2.id, theirs.id] })), 'not_found', 'attachments');
    assertError(await binder.request(consultRequest({ specialty: 'nephrology', attachments: [mine2.id, mine.id] })), 'exists', 'attachments');
    assertError(await binder.request(consultRequest({ specialty: 'nephrology', attachments: [mine2.id, mine2.id] })), 'invalid', 'attachments');

    const nine = [];
    for (let i = 0; i < 9; i++) nine.push((await uploadOk(gw, binder, 'image/webp', { name: `x-ray ${i}.webp` })).id);
    assertError(await binder.request(consultRequest({ specialty: 'nephrology', attachments: nine })), 'invalid', 'attachments');
    for (const bad of ['3f2a9c1e', [42], [''], ['../../etc/passwd'], [{ id: mine2.id }], { 0: mine2.id }, [mine2.id.toUpperCase()]]) {
      const r = await binder.request(consultRequest({ specialty: 'nephrology', attachments: bad }));
      assert.equal(r.type, 'error', `attachments ${JSON.stringify(bad)}: ${JSON.stringify(r)}`);
      assert.ok(['invalid', 'not_found'].includes(r.code), `attachments ${JSON.stringify(bad)}: ${JSON.stringify(r)}`);
      assert.equal(r.field, 'attachments', JSON.stringify(r));
    }
    assertError(await binder.request(consultRequest({ specialty: 'nephrology', attachments: 'x' })), 'invalid', 'attachments');

    // An empty array is no attachments.
    const none = okConsult(await binder.request(consultRequest({ specialty: 'nephrology', urgency: 'planned', attachments: [] })));
    assert.deepEqual(none.attachments, []);
    // None of the failed requests created a consult, and nothing was bound by them.
    assert.equal((await binder.request({ type: 'sync' })).consults.length, open + 2);
    await assertHidden(gw, clin2, mine2, 'another clinician (still unbound)');
    const eight = okConsult(await binder.request(consultRequest({ specialty: 'nephrology', urgency: 'planned', attachments: [mine2.id, ...nine.slice(0, 7)] })));
    assert.deepEqual(eight.attachments.map((a) => a.id), [mine2.id, ...nine.slice(0, 7)], 'exactly 8 are accepted');
    for (const c of [first, none, eight]) okConsult(await binder.request({ type: 'consult.cancel', consult_id: c.id }));
  });

  test('an invitation guest uploads with "Invite <code>", reads its consult\'s attachments and nothing else', async () => {
    const ecg = await uploadOk(gw, clin, 'image/png');
    const otherFile = await uploadOk(gw, clin, 'application/pdf');
    assert.equal((await cardio.request({ type: 'presence.set', status: 'available' })).type, 'ok');
    const cons = okConsult(await clin.request(consultRequest({ attachments: [ecg.id], reason: 'Guest attachments.' })));
    okConsult(await cardio.request({ type: 'consult.accept', consult_id: cons.id }));
    const other = okConsult(await clin.request(consultRequest({ specialty: 'neurology', urgency: 'planned', attachments: [otherFile.id] })));
    const inv = await clin.request({ type: 'consult.invite', consult_id: cons.id, role: 'patient', name: 'Иван Сидоров' });
    assert.equal(inv.type, 'invite', JSON.stringify(inv));
    const guest = { invite: inv.code };

    const photo = await uploadOk(gw, guest, 'image/jpeg', { name: 'my rash.jpg' });
    await assertReadable(gw, guest, photo, FILES['image/jpeg'].bytes, 'the guest (its own upload)');
    await assertHidden(gw, clin, photo, 'the clinician (the guest\'s unbound upload)');
    await assertReadable(gw, guest, ecg, FILES['image/png'].bytes, 'the guest (its consult\'s attachment)');
    await assertHidden(gw, guest, otherFile, 'the guest (another consult of the same clinician)');

    // The guest binds its photo by sending it in the chat; then the others may read it.
    const g = await gw.connect();
    assert.equal((await g.request({ type: 'hello', invite: inv.code })).type, 'welcome');
    const sent = await g.request({ type: 'chat.send', consult_id: cons.id, text: 'Photo from this morning', attachments: [photo.id] });
    assert.equal(sent.type, 'ok', JSON.stringify(sent));
    assert.deepEqual(sent.message.attachments, [brief(photo)]);
    await assertReadable(gw, clin, photo, FILES['image/jpeg'].bytes, 'the clinician (bound by the guest)');
    await assertReadable(gw, cardio, photo, FILES['image/jpeg'].bytes, 'the specialist (bound by the guest)');
    await assertReadable(gw, coord, photo, FILES['image/jpeg'].bytes, 'the coordinator (bound by the guest)');
    await assertHidden(gw, clin2, photo, 'another clinician');

    // Once the consult ends the code stops working, for HTTP too.
    okConsult(await cardio.request({ type: 'consult.end', consult_id: cons.id }));
    const late = await download(gw, guest, ecg.id);
    assert.equal(late.status, 401, `a code of an ended consult: ${late.status} ${late.body.toString('utf8')}`);
    assert.ok(['expired', 'unauthenticated'].includes(late.json?.error?.code), late.body.toString('utf8'));
    okConsult(await clin.request({ type: 'consult.cancel', consult_id: other.id }));
    assert.equal((await cardio.request({ type: 'presence.set', status: 'away' })).type, 'ok');
  });

  test('ids that look like paths → 404, and nothing leaks', async () => {
    const a = await uploadOk(gw, clin, 'image/png');
    const secret = readSecret(gw.dataDir).toString('utf8');
    for (const id of ['../../etc/passwd', '..%2f..%2fetc%2fpasswd', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', '%2e%2e', '..', '.', '%2e',
      '../jwt-secret', '..%2fjwt-secret', `${a.id}/../../jwt-secret`, `${a.id}%2f..%2f..%2fjwt-secret`, `..%5c..%5cjwt-secret`,
      `${a.id}/`, `${a.id}.png`, `${a.id.toUpperCase()}`, `${a.id}x`, a.id.slice(0, -1), '', '00000000-0000-4000-8000-000000000000',
      'consilium.db', '*', '%2a']) {
      const r = await download(gw, clin, id);
      const text = r.body.toString('latin1');
      assert.equal(r.status, 404, `GET /api/attachments/${id}: ${r.status} ${text.slice(0, 200)}`);
      assert.ok(!text.includes('root:') && !text.includes(secret) && !text.includes('SQLite') && !text.includes('\x89PNG'),
        `GET /api/attachments/${id} leaked something: ${text.slice(0, 200)}`);
    }
    assert.equal((await gw.http('/healthz')).status, 200);
    await assertReadable(gw, clin, a, FILES['image/png'].bytes, 'the uploader, afterwards');
  });
});

describe('attachments survive a restart', () => {
  after(cleanup);

  test('bound and unbound attachments, and the consult\'s list, are back after SIGTERM and start on the same data dir', async () => {
    const dataDir = path.join(tempDir('consilium-att-'), 'data');
    const gw1 = await Gateway.start({ dataDir, set: SET });
    const clin = await gw1.connectAs(CLIN);
    const coord = await gw1.connectAs(COORD);
    const bound = await uploadOk(gw1, clin, 'application/pdf');
    const png = await uploadOk(gw1, clin, 'image/png');
    const unbound = await uploadOk(gw1, clin, 'image/webp');
    const cons = okConsult(await clin.request(consultRequest({ attachments: [bound.id, png.id] })));
    await gw1.stop();

    const gw2 = await Gateway.start({ dataDir, set: SET });
    const clin2 = await gw2.connectAs({ token: clin.token });
    const coord2 = await gw2.connectAs({ token: coord.token });
    const again = clin2.welcome.consults.find((c) => c.id === cons.id);
    assert.ok(again, 'the consult is back');
    assert.deepEqual(again.attachments.map(brief), [brief(bound), brief(png)]);
    await assertReadable(gw2, clin2, bound, FILES['application/pdf'].bytes, 'the uploader (bound, after restart)');
    await assertReadable(gw2, coord2, png, FILES['image/png'].bytes, 'the coordinator (bound, after restart)');
    await assertReadable(gw2, clin2, unbound, FILES['image/webp'].bytes, 'the uploader (unbound, after restart)');
    await assertHidden(gw2, coord2, unbound, 'the coordinator (unbound, after restart)');
    // Still unbound: it can be bound now, and only once.
    const later = okConsult(await clin2.request(consultRequest({ specialty: 'neurology', urgency: 'planned', attachments: [unbound.id] })));
    assert.deepEqual(later.attachments, [brief(unbound)]);
    assertError(await clin2.request(consultRequest({ attachments: [bound.id] })), 'exists', 'attachments');
    await gw2.stop();
  });
});
