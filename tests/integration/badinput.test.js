// badinput.test.js — malformed and hostile input, limits and refused tokens.
// After each bad input an already authenticated second client must still get
// pong for ping and state for sync, and at the end the gateway is still alive
// and ready.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';

import {
  Gateway, b64url, b64urlJson, cleanup, consultRequest, decodeJwt, eventually, mintToken, okConsult, readSecret, signHs256, sleep, tempDir,
} from '../lib/gateway.js';

const GOOD = { role: 'coordinator', tenant: 'kirov', name: 'Good Coordinator', subject: 'good' };
const BAD = { role: 'clinician', tenant: 'kirov', name: 'Bad Clinician', subject: 'bad' };

/** The good client answers ping with pong and sync with state. */
async function stillWorks(good) {
  const p = await good.request({ type: 'ping' });
  assert.equal(p.type, 'pong');
  assert.equal(typeof p.server_time, 'number');
  const s = await good.request({ type: 'sync' });
  assert.equal(s.type, 'state');
}

/** The next error without an id (a message whose id could not be read). */
const nextError = (c) => c.next((m) => m.type === 'error', undefined, 'an error');

function assertInvalid(r, field) {
  assert.equal(r.type, 'error', JSON.stringify(r));
  assert.equal(r.code, 'invalid', JSON.stringify(r));
  if (field) {
    assert.ok(r.message.includes(field), `message names ${field}: ${r.message}`);
    assert.ok(r.field === field || r.field?.endsWith(`.${field}`), `field member names ${field}: ${JSON.stringify(r)}`);
  }
}

describe('bad input on one connection does not disturb another', () => {
  let gw, good, bad;
  before(async () => {
    gw = await Gateway.start({ set: { 'limits.rate': 300, 'limits.burst': 300, 'auth.leeway': '0s' } });
    good = await gw.connectAs(GOOD);
    bad = await gw.connectAs(BAD);
  });
  afterEach(() => stillWorks(good));
  after(async () => {
    try {
      await gw.stop(); // still alive after all of it: a clean stop, exit code 0
    } finally {
      await cleanup();
    }
  });

  test('malformed JSON → invalid; the connection stays open', async () => {
    for (const text of ['{"type": "ping", "id": "m1"', '{type: ping}', '', ' ', '{"type":"ping"} trailing', '\u00ff\u00fe']) {
      bad.sendRaw(text);
      assertInvalid(await nextError(bad));
    }
    await bad.barrier();
  });

  test('JSON that is not an object → invalid', async () => {
    for (const text of ['[1,2,3]', '"ping"', '42', 'null', 'true', '[{"type":"ping","id":"x"}]']) {
      bad.sendRaw(text);
      assertInvalid(await nextError(bad));
    }
    await bad.barrier();
  });

  test('unknown type → unsupported (with the id); missing type → invalid', async () => {
    const r = await bad.request({ type: 'consult.teleport', consult_id: '00000000-0000-4000-8000-000000000000' });
    assert.equal(r.type, 'error');
    assert.equal(r.code, 'unsupported');
    assertInvalid(await bad.request({ kind: 'ping' }), 'type');
    assertInvalid(await bad.request({ type: 5 }));
  });

  test('missing fields → invalid naming the field', async () => {
    const full = consultRequest();
    for (const field of ['patient', 'specialty', 'urgency', 'reason']) {
      const msg = { ...full };
      delete msg[field];
      assertInvalid(await bad.request(msg), field);
    }
    for (const field of ['id', 'name', 'birth_date']) {
      const patient = { ...full.patient };
      delete patient[field];
      const r = await bad.request({ ...full, patient });
      assertInvalid(r, field);
      assert.equal(r.field, `patient.${field}`);
    }
    assertInvalid(await bad.request({ ...full, reason: '' }), 'reason');
    assertInvalid(await bad.request({ type: 'consult.accept' }), 'consult_id');
    assertInvalid(await bad.request({ type: 'presence.set' }), 'status');
  });

  test('wrongly typed fields → invalid naming the field', async () => {
    assertInvalid(await bad.request(consultRequest({ urgency: 5 })), 'urgency');
    assertInvalid(await bad.request(consultRequest({ specialty: ['cardiology'] })), 'specialty');
    assertInvalid(await bad.request(consultRequest({ patient: 'Ivan' })), 'patient');
    assertInvalid(await bad.request(consultRequest({ reason: { text: 'x' } })), 'reason');
    assertInvalid(await bad.request({ type: 'consult.accept', consult_id: 123 }), 'consult_id');
    bad.send({ type: 'ping', id: 7 });
    assertInvalid(await nextError(bad), 'id');
  });

  test('unknown values → invalid naming the field', async () => {
    assertInvalid(await bad.request(consultRequest({ urgency: 'asap' })), 'urgency');
    assertInvalid(await bad.request(consultRequest({ mode: 'telepathy' })), 'mode');
    assertInvalid(await bad.request(consultRequest({ specialty: 'Cardiology' })), 'specialty');
    assertInvalid(await bad.request({ type: 'presence.set', status: 'offline' }), 'status');
    assertInvalid(await bad.request({ type: 'consult.accept', consult_id: 'not-a-uuid' }), 'consult_id');
    assertInvalid(await bad.request({ type: 'consult.accept', consult_id: '9B2C1F7E-3D0A-4C55-8E0B-0F3A6F1D2C44' }), 'consult_id');
  });

  test('too long fields → invalid naming the field; the documented maximum is accepted', async () => {
    assertInvalid(await bad.request(consultRequest({ reason: 'x'.repeat(5000) })), 'reason');
    assertInvalid(await bad.request(consultRequest({ reason: 'x'.repeat(4096) })), 'reason');
    assertInvalid(await bad.request(consultRequest({ patient: { id: 'p'.repeat(64), name: 'Ivan', birth_date: '1956-03-02' } })), 'id');
    assertInvalid(await bad.request(consultRequest({ patient: { id: 'p1', name: 'n'.repeat(128), birth_date: '1956-03-02' } })), 'name');
    assertInvalid(await bad.request(consultRequest({ specialty: 'c'.repeat(64) })), 'specialty');
    // reason ≤ 4,095 bytes (here in two-byte characters: 2047 × 2 = 4094 bytes).
    const c1 = okConsult(await bad.request(consultRequest({ reason: 'x'.repeat(4095) })));
    assert.equal(c1.reason.length, 4095);
    const c2 = okConsult(await bad.request(consultRequest({ reason: 'Ж'.repeat(2047) })));
    assert.equal(c2.reason, 'Ж'.repeat(2047));
    assertInvalid(await bad.request(consultRequest({ reason: 'Ж'.repeat(2048) })), 'reason');
    for (const c of [c1, c2]) okConsult(await bad.request({ type: 'consult.cancel', consult_id: c.id }));
  });

  test('the request id: at most 63 characters, no control characters', async () => {
    const id63 = 'i'.repeat(63);
    const r = await bad.request({ type: 'ping', id: id63 });
    assert.equal(r.type, 'pong');
    bad.send({ type: 'ping', id: 'i'.repeat(64) });
    assertInvalid(await nextError(bad), 'id');
    bad.send({ type: 'ping', id: 'a\tb' });
    assertInvalid(await nextError(bad), 'id');
  });

  test('deeply nested JSON (100 levels) → invalid; 16 levels are fine', async () => {
    const nest = (n) => `{"type":"ping","id":"n${n}","x":${'['.repeat(n - 1)}${']'.repeat(n - 1)}}`;
    bad.sendRaw(nest(100));
    assertInvalid(await nextError(bad));
    bad.sendRaw(`${'['.repeat(100)}${']'.repeat(100)}`);
    assertInvalid(await nextError(bad));
    bad.sendRaw(nest(17));
    assertInvalid(await nextError(bad));
    bad.sendRaw(nest(16));
    const pong = await bad.next((m) => m.id === 'n16');
    assert.equal(pong.type, 'pong');
    // Brackets inside strings do not count.
    const r = await bad.request({ type: 'ping', note: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[' });
    assert.equal(r.type, 'pong');
  });

  test('invalid dates → invalid naming birth_date', async () => {
    for (const d of ['2023-02-30', '1956-3-2', '1956-13-01', '19560302', 'yesterday', '2023-02-29', '0000-00-00']) {
      const r = await bad.request(consultRequest({ patient: { id: 'p1', name: 'Ivan', birth_date: d } }));
      assertInvalid(r, 'birth_date');
    }
    // 2024 is a leap year.
    const ok = okConsult(await bad.request(consultRequest({ patient: { id: 'p1', name: 'Ivan', birth_date: '2024-02-29' } })));
    okConsult(await bad.request({ type: 'consult.cancel', consult_id: ok.id }));
  });

  test('duplicate keys, NUL in strings and invalid UTF-8 → invalid', async () => {
    bad.sendRaw('{"type":"ping","type":"sync","id":"dup"}');
    assertInvalid(await bad.next((m) => m.type === 'error' && (m.id === 'dup' || m.id === undefined)));
    bad.sendRaw('{"type":"ping","id":"nul\\u0000x"}');
    assertInvalid(await nextError(bad));
    const req = consultRequest();
    bad.sendRaw(JSON.stringify({ ...req, id: 'nul2', reason: 'abc' }).replace('"abc"', '"a\\u0000bc"'));
    assertInvalid(await bad.next((m) => m.type === 'error' && (m.id === 'nul2' || m.id === undefined)));
    // Raw bytes that are not UTF-8, sent as a text frame.
    bad.sendRaw(Buffer.from([0x7b, 0x22, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
    const e = await bad.next((m) => m.type === 'error', 3000, 'an error for invalid UTF-8').catch((err) => err);
    if (e instanceof Error) {
      assert.fail(`invalid UTF-8 was not answered with an error; close: ${JSON.stringify(bad.closeInfo)}`);
    }
    assertInvalid(e);
    await bad.barrier();
  });

  test('unknown fields are ignored', async () => {
    const r = await bad.request({ type: 'ping', future_field: { nested: [1, 2, 3] }, another: 'x' });
    assert.equal(r.type, 'pong');
  });

  test('a message over 64 KiB → close 1009; exactly 64 KiB is accepted', async () => {
    const c = await gw.connectAs({ ...BAD, subject: 'big' });
    const exact = (n, id) => {
      const head = `{"type":"ping","id":"${id}","pad":"`;
      return head + 'x'.repeat(n - head.length - 2) + '"}';
    };
    const m64 = exact(65536, 'exact');
    assert.equal(Buffer.byteLength(m64), 65536);
    c.sendRaw(m64);
    assert.equal((await c.next((m) => m.id === 'exact')).type, 'pong');
    c.sendRaw(exact(65537, 'over'));
    assert.deepEqual(await c.waitClose(), { code: 1009, reason: 'message too big' });
  });

  test('fragmented messages are reassembled; fragments together over 64 KiB → close 1009', async () => {
    const c = await gw.connectAs({ ...BAD, subject: 'frag' });
    c.ws.send('{"type":"pi', { fin: false });
    c.ws.send('ng","id":"fr', { fin: false });
    c.ws.send('ag1"}', { fin: true });
    assert.equal((await c.next((m) => m.id === 'frag1')).type, 'pong');
    c.ws.send(`{"type":"ping","id":"frag2","pad":"${'x'.repeat(40000)}`, { fin: false });
    c.ws.send(`${'x'.repeat(40000)}"}`, { fin: true });
    assert.deepEqual(await c.waitClose(), { code: 1009, reason: 'message too big' });
  });

  test('a binary frame → close 1003', async () => {
    const c = await gw.connectAs({ ...BAD, subject: 'binary' });
    c.sendRaw(Buffer.from(JSON.stringify({ type: 'ping', id: 'b1' })), { binary: true });
    assert.deepEqual(await c.waitClose(), { code: 1003, reason: 'text messages only' });
  });

  test('before hello: only hello and ping; anything else → unauthenticated, connection stays open', async () => {
    const c = await gw.connect();
    assert.equal((await c.request({ type: 'ping' })).type, 'pong');
    for (const msg of [{ type: 'sync' }, consultRequest(), { type: 'presence.set', status: 'available' },
      { type: 'consult.history', consult_id: '00000000-0000-4000-8000-000000000000' }]) {
      const r = await c.request(msg);
      assert.equal(r.type, 'error');
      assert.equal(r.code, 'unauthenticated', `${msg.type}: ${r.code}`);
    }
    // Malformed hellos are invalid (not an authentication failure): still open.
    assertInvalid(await c.request({ type: 'hello' }), 'token');
    assertInvalid(await c.request({ type: 'hello', token: gw.token(BAD), invite: 'ab'.repeat(24) }));
    assert.equal((await c.request({ type: 'ping' })).type, 'pong');
    // And a good hello still works afterwards.
    assert.equal((await c.request({ type: 'hello', token: gw.token(BAD) })).type, 'welcome');
  });

  /** Says hello with token on a new connection; returns { reply, close } (close: null when left open). */
  async function helloRefused(token) {
    const c = await gw.connect();
    const reply = await c.request({ type: 'hello', token });
    if (reply.code === 'invalid') {
      assert.equal((await c.request({ type: 'ping' })).type, 'pong', 'an invalid hello leaves the connection open');
      c.close();
      return { reply, close: null };
    }
    const close = await c.waitClose();
    return { reply, close };
  }

  test('control: a token signed here with the gateway\'s own secret is accepted', async () => {
    const secret = readSecret(gw.dataDir);
    const now = Math.floor(Date.now() / 1000);
    const tok = signHs256(secret, { sub: 'crafted', name: 'Crafted', role: 'clinician', tenant: 'kirov', iat: now, exp: now + 600 });
    const c = await gw.connect();
    assert.equal((await c.request({ type: 'hello', token: tok })).type, 'welcome');
  });

  test('an expired token → error expired, close 4001 "token expired"', async () => {
    const token = mintToken({ dataDir: gw.dataDir, ...BAD, subject: 'expiring', ttl: '1s' });
    const { exp } = decodeJwt(token).payload;
    const wait = exp * 1000 + 50 - Date.now();
    if (wait > 0) await sleep(wait);
    const { reply, close } = await helloRefused(token);
    assert.equal(reply.type, 'error');
    assert.equal(reply.code, 'expired');
    assert.deepEqual(close, { code: 4001, reason: 'token expired' });
  });

  test('forged, foreign, alg:none and garbage tokens → unauthenticated, close 4001', async () => {
    const real = gw.token(BAD);
    const [h, p, s] = real.split('.');
    const flip = (ch) => (ch === 'A' ? 'B' : 'A');
    const forgedSig = `${h}.${p}.${s.slice(0, 10)}${flip(s[10])}${s.slice(11)}`;
    const claims = decodeJwt(real).payload;
    const forgedPayload = `${h}.${b64urlJson({ ...claims, role: 'coordinator' })}.${s}`;
    const foreign = mintToken({ dataDir: path.join(tempDir(), 'other'), ...BAD });
    const noneEmpty = `${b64urlJson({ alg: 'none', typ: 'JWT' })}.${b64urlJson(claims)}.`;
    const noneSigned = `${b64urlJson({ alg: 'none', typ: 'JWT' })}.${b64urlJson(claims)}.${s}`;
    const secret = readSecret(gw.dataDir);
    const hs512Input = `${b64urlJson({ alg: 'HS512', typ: 'JWT' })}.${b64urlJson(claims)}`;
    const hs512 = `${hs512Input}.${b64url(crypto.createHmac('sha512', secret).update(hs512Input).digest())}`;
    const lower = signHs256(secret, claims, { alg: 'hs256', typ: 'JWT' });
    const noSpecialties = signHs256(secret, { ...claims, role: 'specialist' });
    const noTenant = signHs256(secret, { sub: claims.sub, name: claims.name, role: 'clinician', exp: claims.exp });
    const cases = {
      forgedSig, forgedPayload, foreign, noneEmpty, noneSigned, hs512, lower, noSpecialties, noTenant,
      garbage: 'garbage', dots: '..', twoParts: `${h}.${p}`, fourParts: `${real}.${s}`, long: `${h}.${'A'.repeat(9000)}.${s}`,
    };
    for (const [name, token] of Object.entries(cases)) {
      const { reply, close } = await helloRefused(token);
      assert.equal(reply.type, 'error', name);
      assert.equal(typeof reply.message, 'string');
      if (name === 'long') {
        // Over the token field's bound: refused by message validation instead.
        assert.ok(['unauthenticated', 'invalid'].includes(reply.code), `${name}: ${reply.code}`);
        continue;
      }
      assert.equal(reply.code, 'unauthenticated', `${name}: ${reply.code} ${reply.message}`);
      assert.deepEqual(close, { code: 4001, reason: 'authentication failed' }, name);
    }
  });

  test('a token that expires during the session → error expired, then close 4003', async () => {
    const token = mintToken({ dataDir: gw.dataDir, ...BAD, subject: 'short-session', ttl: '2s' });
    const c = await gw.connect();
    assert.equal((await c.request({ type: 'hello', token })).type, 'welcome');
    const { exp } = decodeJwt(token).payload;
    const timeout = exp * 1000 - Date.now() + 3000;
    const err = await c.next((m) => m.type === 'error', timeout, 'the expiry error');
    assert.equal(err.code, 'expired');
    assert.equal(err.id, undefined);
    assert.ok(Date.now() >= exp * 1000, 'not before exp (leeway 0)');
    assert.deepEqual(await c.waitClose(timeout), { code: 4003, reason: 'token expired' });
  });

  test('[BUG] a message far over the limit (4 MiB): the client receives close 1009 "message too big"', async () => {
    // The gateway sends the close frame and closes the socket at once, with the
    // rest of the message unread: the kernel answers with a TCP RST and the
    // client loses the close frame (sees 1006) most of the time.
    const codes = [];
    for (let i = 0; i < 3; i++) {
      const c = await gw.connectAs({ ...BAD, subject: `huge2-${i}` });
      c.sendRaw(`{"type":"ping","pad":"${'x'.repeat(4 << 20)}"}`);
      codes.push((await c.waitClose()).code);
    }
    assert.deepEqual(codes, [1009, 1009, 1009]);
  });

  test('after all of it: /healthz ready, the process alive, failures counted', async () => {
    assert.ok(gw.running, 'gateway still running');
    const h = await gw.http('/healthz');
    assert.equal(h.status, 200);
    assert.deepEqual(JSON.parse(h.body), { status: 'ready' });
    const m = await gw.metrics();
    assert.ok(m.consilium_auth_failures_total >= 10);
    assert.ok(m.consilium_errors_total >= 50);
  });
});

describe('rate limit and the outgoing queue', () => {
  let gw, good;
  before(async () => {
    gw = await Gateway.start(); // defaults: 20/s, bursts of 40
    good = await gw.connectAs({ ...GOOD, tenant: 'perm' });
  });
  after(cleanup);

  test('300 pings at once: refused beyond the limit, then the connection is closed; another client is unaffected', async () => {
    const before = await gw.metrics();
    const flood = await gw.connectAs(BAD);
    for (let i = 0; i < 300; i++) flood.send({ type: 'ping', id: `f${i}` });
    const close = await flood.waitClose();
    // 1008 is what PROTOCOL.md promises; 1006 is the close frame lost to the
    // bug shown by the [BUG] test below.
    assert.ok(close.code === 1008 || close.code === 1006, `closed with ${close.code}`);
    if (close.code === 1008) {
      assert.equal(close.reason, 'rate limit exceeded');
      const pongs = flood.received((m) => m.type === 'pong').length;
      const limits = flood.received((m) => m.type === 'error' && m.code === 'limit');
      // About a burst's worth of pongs, then refusals; tokens refilled during
      // the flood let a few more through (and restart the count of 100).
      assert.ok(pongs >= 1 && pongs < 300, `pongs: ${pongs}`);
      assert.ok(limits.length >= 1, `limit errors: ${limits.length}`);
      assert.equal(flood.received((m) => m.type === 'error' && m.code !== 'limit').length, 0);
    }
    await stillWorks(good);
    const m = await gw.metrics();
    assert.ok(m.consilium_rate_limited_total - before.consilium_rate_limited_total >= 100, `rate_limited_total ${m.consilium_rate_limited_total}`);
    assert.ok(m.consilium_errors_total - before.consilium_errors_total >= 99, 'limit errors were sent');
  });

  test('[BUG] a flooding client receives its limit errors and close 1008 "rate limit exceeded"', async () => {
    // PROTOCOL.md: over the limit → error "limit"; after 100 refused in a row →
    // close 1008. The gateway closes the socket right after the close frame
    // while the flood is still arriving: TCP RST, the client sees 1006 and
    // loses the replies queued before it.
    const results = [];
    for (let i = 0; i < 5; i++) {
      const flood = await gw.connectAs({ ...BAD, subject: `flood-${i}` });
      for (let k = 0; k < 300; k++) flood.send({ type: 'ping', id: `f${k}` });
      const close = await flood.waitClose();
      results.push({ code: close.code, reason: close.reason, limitErrors: flood.received((m) => m.code === 'limit').length });
    }
    for (const r of results) {
      assert.deepEqual([r.code, r.reason], [1008, 'rate limit exceeded'], JSON.stringify(results));
      assert.ok(r.limitErrors >= 1, JSON.stringify(results));
    }
  });

  test('a burst within the limit is answered in full', async () => {
    const c = await gw.connectAs({ ...BAD, subject: 'polite' });
    const replies = await Promise.all(Array.from({ length: 30 }, () => c.request({ type: 'ping' })));
    assert.ok(replies.every((r) => r.type === 'pong'));
    await stillWorks(good);
  });

  test('a slow reader is closed with 1008 "outgoing queue full"; another client is unaffected', async () => {
    const gw2 = await Gateway.start({ set: { 'limits.max_queued_bytes': 65536, 'limits.rate': 100000, 'limits.burst': 100000, 'limits.max_open_per_clinician': 10000 } });
    const good2 = await gw2.connectAs({ ...GOOD, tenant: 'perm' });
    // A kirov coordinator who stops reading (and sends nothing): every kirov
    // request sends them a ~4.5 KB consult.updated.
    const slow = await gw2.connectAs({ ...GOOD, subject: 'slow-coord' });
    const clin = await gw2.connectAs({ ...BAD, subject: 'busy-clin' });
    slow.ws._socket.pause();
    const reason = 'r'.repeat(4000);
    // ~7 MB of notices: more than the kernel's socket buffers plus the 64 KiB queue.
    // (Five at a time: the clinician's own replies must fit its queue too.)
    for (let i = 0; i < 1500; i += 5) {
      const batch = Array.from({ length: 5 }, (_, k) => clin.request(consultRequest({ urgency: 'planned', reason: `${i + k} ${reason}` })));
      for (const r of await Promise.all(batch)) okConsult(r);
    }
    await stillWorks(good2);
    slow.ws._socket.resume();
    const close = await slow.waitClose(15000);
    assert.deepEqual(close, { code: 1008, reason: 'outgoing queue full' });
    const got = slow.received((m) => m.type === 'consult.updated').length;
    assert.ok(got > 0 && got < 1500, `the slow reader got part of the notices: ${got}`);
    assert.ok(clin.isOpen, 'the clinician, reading promptly, is still connected');
    await stillWorks(good2);
    await gw2.stop();
  });

  test('[PROTOCOL mismatch] a specialist who becomes available with a long queue gets every offer and stays connected', async () => {
    // PROTOCOL.md: "Becoming available offers them every queued consult they may
    // take". All those offers are queued at once, before the ok: when they add
    // up to more than limits.max_queued_bytes the specialist is disconnected
    // (1008 "outgoing queue full") at the moment they become available, however
    // fast they read. (The signalling benchmark hits this with the default
    // 4 MiB: a backlog of ~3,000 requests.)
    const gw2 = await Gateway.start({ set: { 'limits.max_queued_bytes': 65536, 'limits.rate': 1000, 'limits.burst': 1000 } });
    // The specialist signs in first (an empty welcome) and is away while the queue grows.
    const spec = await gw2.connectAs({ role: 'specialist', tenant: 'kirov', name: 'Dr Back', subject: 'back', specialties: ['cardiology'] });
    const clin = await gw2.connectAs({ ...BAD, subject: 'queue-clin' });
    for (let i = 0; i < 20; i++) okConsult(await clin.request(consultRequest({ urgency: 'urgent', reason: `${i} ${'r'.repeat(4000)}` })));
    const r = await spec.request({ type: 'presence.set', status: 'available' }).catch((e) => ({ failed: e.message.slice(0, 200) }));
    assert.equal(r.type, 'ok', `presence.set: ${JSON.stringify(r)}; close ${JSON.stringify(spec.closeInfo)}`);
    assert.equal(spec.received((m) => m.type === 'consult.offered').length, 20);
    await gw2.stop();
  });

  test('[PROTOCOL mismatch] a client that reads promptly gets its welcome even when it is larger than limits.max_queued_bytes', async () => {
    // PROTOCOL.md closes "a client too slow to read ... (more than
    // limits.max_queued_bytes waiting)". A single welcome/state larger than the
    // bound (a coordinator of a busy centre: every consult of the centre,
    // retained for 24 h, with reasons of up to 4 KiB) is refused outright, so
    // such a coordinator can never sign in, however fast they read.
    const gw2 = await Gateway.start({ set: { 'limits.max_queued_bytes': 65536, 'limits.rate': 1000, 'limits.burst': 1000 } });
    const clin = await gw2.connectAs({ ...BAD, subject: 'busy-centre' });
    for (let i = 0; i < 20; i++) okConsult(await clin.request(consultRequest({ urgency: 'planned', reason: `${i} ${'r'.repeat(4000)}` })));
    const c = await gw2.connect();
    const reply = await c.request({ type: 'hello', token: gw2.token({ ...GOOD, subject: 'busy-coord' }) }).catch((e) => ({ failed: e.message }));
    assert.equal(reply.type, 'welcome', `coordinator hello: ${JSON.stringify(reply).slice(0, 300)}; close ${JSON.stringify(c.closeInfo)}`);
    await gw2.stop();
  });
});

describe('connection limits', () => {
  let gw, good;
  before(async () => {
    gw = await Gateway.start({ set: { 'limits.max_connections': 5, 'limits.auth_timeout': '1s' } });
    good = await gw.connectAs(GOOD);
  });
  after(cleanup);

  test('a silent connection is closed with 4002 after limits.auth_timeout', async () => {
    const silent = await gw.connect();
    const pinging = await gw.connect();
    assert.equal((await pinging.request({ type: 'ping' })).type, 'pong');
    assert.deepEqual(await silent.waitClose(), { code: 4002, reason: 'authentication timeout' });
    assert.deepEqual(await pinging.waitClose(), { code: 4002, reason: 'authentication timeout' }, 'pinging is not saying hello');
    await stillWorks(good);
    assert.ok(good.isOpen, 'an authenticated connection is not timed out');
  });

  test('the 6th connection gets close 1013 "too many connections"', async () => {
    await eventually(async () => assert.equal((await gw.metrics()).consilium_connections, 1));
    const others = [];
    for (let i = 0; i < 4; i++) others.push(await gw.connectAs({ ...BAD, subject: `conn-${i}` }));
    const sixth = await gw.connect();
    assert.deepEqual(await sixth.waitClose(), { code: 1013, reason: 'too many connections' });
    await stillWorks(good);
    // One leaves; a new one gets in.
    others[0].close();
    await others[0].closed;
    await eventually(async () => {
      const c = await gw.connect();
      const r = await c.request({ type: 'hello', token: gw.token({ ...BAD, subject: 'late' }) }, 2000);
      assert.equal(r.type, 'welcome');
    });
    assert.equal((await gw.metrics()).consilium_connections, 5);
  });

  test('after all of it: /healthz ready, the process alive', async () => {
    assert.ok(gw.running);
    assert.equal((await gw.http('/healthz')).status, 200);
    await gw.stop();
  });
});
