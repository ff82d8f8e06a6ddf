// idle-flood.test.js — thousands of idle connections against a gateway whose
// open-files limit is low (512, as a unit or shell may leave it): it lowers
// its connection limit with one warning, refuses what does not fit (1013, or
// the connection closed), keeps serving the consult already in progress,
// clears the idle ones (limits.auth_timeout for WebSockets, the front door's
// handshake timeout for silent TCP), accepts new clients after, gives its
// descriptors back and logs no error storm.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import WebSocket from 'ws';

import { Gateway, HOST, cleanup, consultRequest, eventually, okConsult } from '../lib/gateway.js';

const NOFILE = 512;
const RAW_TCP = 1200;   // connect and never send a byte
const WS_IDLE = 1200;   // complete the upgrade and never say hello
const CLEAR_TIMEOUT_MS = 60000;

const CLINICIAN = { role: 'clinician', tenant: 'kirov', name: 'Фельдшер Анна Петрова', subject: 'petrova' };
const SPECIALIST = { role: 'specialist', tenant: 'kirov', name: 'Dr Elena Ivanova', subject: 'ivanova', specialty: 'cardiology' };
const LATE = { role: 'clinician', tenant: 'kirov', name: 'Late Clinician', subject: 'late' };

/** Open descriptors of a process (Linux /proc). */
const fdCount = (pid) => fs.readdirSync(`/proc/${pid}/fd`).length;

/** [soft, hard] "Max open files" of a process ('unlimited' as Infinity). */
function nofile(pid) {
  const line = fs.readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  return line.trim().split(/\s+/).slice(3, 5).map((v) => (v === 'unlimited' ? Infinity : Number(v)));
}

/** This test process holds the flood's client ends: raise its own soft limit
 *  (within the hard one) when it is below what the flood needs. */
function roomForFlood(needed) {
  const [soft, hard] = nofile(process.pid);
  if (soft >= needed) return true;
  if (hard < needed) return false;
  const r = spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${needed}:${hard === Infinity ? 'unlimited' : hard}`]);
  return r.status === 0 && nofile(process.pid)[0] >= needed;
}

/** The gateway's log lines at a level ('error', 'warn'). */
const logLines = (gw, level) => gw.stderr.split('\n').filter((l) => new RegExp(`^\\S+ ${level}\\s`).test(l));

/** The flood: silent connections, each entry recording what the gateway did
 *  with it (closedAt: ms after the flood began). */
class Flood {
  constructor(port) {
    this.port = port;
    this.socks = [];
    this.t0 = Date.now();
  }

  /** WebSockets that complete the upgrade (when let in) and never say hello. */
  webSockets(n) {
    for (let i = 0; i < n; i++) {
      const rec = { kind: 'ws', opened: false, closed: false, code: null };
      rec.ws = new WebSocket(`ws://${HOST}:${this.port}/ws`, { perMessageDeflate: false });
      rec.ws.on('open', () => { rec.opened = true; });
      rec.ws.on('error', (e) => { rec.error = e.code ?? e.message; });
      rec.ws.on('close', (code) => { rec.closed = true; rec.code = code; rec.closedAt = Date.now() - this.t0; });
      this.socks.push(rec);
    }
  }

  /** TCP connections that never send a byte. */
  rawTcp(n) {
    for (let i = 0; i < n; i++) {
      const rec = { kind: 'tcp', connected: false, closed: false };
      rec.sock = net.connect({ port: this.port, host: HOST });
      rec.sock.on('connect', () => { rec.connected = true; });
      rec.sock.on('error', (e) => { rec.error = e.code; });
      rec.sock.on('close', () => { rec.closed = true; rec.closedAt = Date.now() - this.t0; });
      this.socks.push(rec);
    }
  }

  destroy() {
    for (const s of this.socks) (s.sock ? s.sock.destroy() : s.ws.terminate());
  }
}

function tally(socks) {
  const ws = socks.filter((s) => s.kind === 'ws');
  const tcp = socks.filter((s) => s.kind === 'tcp');
  return {
    opened: socks.length,
    wsUpgraded: ws.filter((s) => s.opened).length,
    ws1013: ws.filter((s) => s.opened && s.code === 1013).length,
    ws4002: ws.filter((s) => s.opened && s.code === 4002).length,
    wsClosedBeforeUpgrade: ws.filter((s) => s.closed && !s.opened).length,
    wsOtherClose: ws.filter((s) => s.opened && s.closed && s.code !== 1013 && s.code !== 4002).length,
    tcpClosed: tcp.filter((s) => s.closed).length,
    stillOpen: socks.filter((s) => !s.closed).length,
  };
}

describe(`${RAW_TCP + WS_IDLE} idle connections against a gateway limited to ${NOFILE} open files`, () => {
  let gw, clin, spec, flood, effective, fdsBefore, fdsPeak = 0, sampler;
  const room = roomForFlood(RAW_TCP + WS_IDLE + 512);

  before(async () => {
    if (!room) return;
    gw = await Gateway.start({ nofile: NOFILE, set: { 'limits.auth_timeout': '2s', 'media.workers': 1 }, timeout: 10000 });
  });
  after(async () => {
    clearInterval(sampler);
    flood?.destroy();
    for (const c of [clin, spec]) c?.terminate();
    await cleanup();
  });

  test('the low limit lowers the connection limit, with one warning saying how to raise it', { skip: !room && 'this process cannot hold the flood\'s sockets (hard open-files limit too low)' }, (t) => {
    assert.deepEqual(nofile(gw.pid), [NOFILE, NOFILE], 'the gateway runs under the limit');
    const warn = logLines(gw, 'warn').filter((l) => l.includes('open-files limit'));
    assert.equal(warn.length, 1, gw.stderr);
    const m = /limits\.max_connections = 20000 \(it needs (\d+)\): accepting at most (\d+) connections, keeping (\d+) descriptors/.exec(warn[0]);
    assert.ok(m, warn[0]);
    effective = Number(m[2]);
    assert.ok(effective > 0 && effective < NOFILE, `effective limit ${effective}`);
    assert.equal(effective + Number(m[3]), NOFILE, 'the connections and the reserve fill the limit');
    assert.match(warn[0], new RegExp(`LimitNOFILE=${m[1]}`));
    assert.match(warn[0], /ulimit -n/);
    t.diagnostic(`effective max_connections ${effective} of ${NOFILE} descriptors (${m[3]} kept); 20000 would need ${m[1]}`);
  });

  test('the flood is refused beyond the limit while the consult in progress goes on', { skip: !room }, async (t) => {
    clin = await gw.connectAs(CLINICIAN);
    spec = await gw.connectAs(SPECIALIST);
    assert.equal((await spec.request({ type: 'presence.set', status: 'available' })).type, 'ok');
    fdsBefore = fdCount(gw.pid);
    sampler = setInterval(() => { try { fdsPeak = Math.max(fdsPeak, fdCount(gw.pid)); } catch { /* exited */ } }, 20);

    // WebSockets first, so that they fill the connection limit (the rest get
    // 1013 or, with no descriptor to spare, the connection closed), then the
    // silent TCP connections on top.
    flood = new Flood(gw.port);
    flood.webSockets(WS_IDLE);
    await eventually(() => {
      const n = tally(flood.socks);
      assert.equal(n.wsUpgraded + n.wsClosedBeforeUpgrade, WS_IDLE, JSON.stringify(n));
    }, { timeout: 30000, interval: 50 });
    flood.rawTcp(RAW_TCP);
    // The limit is reached: the gateway has turned connections away, and
    // holds others still (the consult below happens during the flood).
    await eventually(() => {
      const n = tally(flood.socks);
      assert.ok(n.ws1013 > 0 && n.wsClosedBeforeUpgrade + n.ws1013 + n.tcpClosed >= 100, JSON.stringify(n));
      assert.ok(n.stillOpen > 0, JSON.stringify(n));
    }, { timeout: 30000 });

    const consult = okConsult(await clin.request(consultRequest(), 10000));
    const offered = await spec.nextNotice('consult.offered', { consultId: consult.id, timeout: 10000 });
    assert.equal(offered.consult.state, 'offered');
    const accepted = okConsult(await spec.request({ type: 'consult.accept', consult_id: consult.id }, 10000));
    assert.equal(accepted.state, 'accepted');
    await clin.nextNotice('consult.updated', { consultId: consult.id, state: 'accepted', timeout: 10000 });
    const during = tally(flood.socks);
    assert.ok(during.stillOpen > 0, `idle connections still held when the consult was accepted: ${JSON.stringify(during)}`);

    // Not asserted (it depends on whether a slot is free at that instant): a
    // new client and /healthz while the flood holds the slots.
    const newcomer = await gw.connectAs(LATE).then((c) => { c.terminate(); return 'welcome'; }, (e) => `refused (${e.message.slice(0, 60)})`);
    const health = await gw.http('/healthz', { timeout: 3000 }).then((r) => String(r.status), (e) => `no answer (${e.message.slice(0, 60)})`);
    t.diagnostic(`during the flood: ${JSON.stringify(during)}; a new client: ${newcomer}; /healthz: ${health}`);
  });

  test('the idle ones are cleared, new clients connect, descriptors come back, no error storm', { skip: !room }, async (t) => {
    await eventually(() => assert.equal(tally(flood.socks).stillOpen, 0, JSON.stringify(tally(flood.socks))),
      { timeout: CLEAR_TIMEOUT_MS, interval: 100 });
    const cleared = Math.max(...flood.socks.map((s) => s.closedAt));
    const n = tally(flood.socks);
    // Every flood connection was closed by the gateway (the test never closed one).
    assert.equal(n.wsOtherClose, 0, `WebSockets closed otherwise than 1013/4002: ${JSON.stringify(n)}`);
    assert.ok(n.ws1013 > 0, `WebSockets beyond the lowered limit get 1013: ${JSON.stringify(n)}`);
    assert.ok(n.ws4002 > 0, `idle WebSockets are closed by limits.auth_timeout: ${JSON.stringify(n)}`);
    assert.equal(n.tcpClosed, RAW_TCP);

    assert.equal((await gw.http('/healthz', { timeout: 3000 })).status, 200);
    const late = await eventually(() => gw.connectAs(LATE), { timeout: 10000, interval: 200 });
    assert.equal(late.welcome.user.subject, 'late');
    // The consult accepted during the flood is still there for its clinician.
    const sync = await clin.request({ type: 'sync' });
    assert.equal(sync.type, 'state');
    assert.ok(sync.consults.some((c) => c.state === 'accepted'), JSON.stringify(sync).slice(0, 500));
    late.terminate();

    await eventually(() => assert.ok(fdCount(gw.pid) <= fdsBefore + 2, `descriptors ${fdCount(gw.pid)}, before the flood ${fdsBefore}`),
      { timeout: 15000, interval: 100 });
    const fdsAfter = fdCount(gw.pid);
    clearInterval(sampler);

    // Out of descriptors, an accept() failing with EMFILE leaves the connection
    // queued, so libwebsockets' loop turns on it and logs each failure: some
    // 200,000 error lines in ten seconds before the front door kept below
    // its descriptor ceiling.
    const errors = logLines(gw, 'error');
    const warns = logLines(gw, 'warn');
    assert.equal(errors.length, 0, `error lines:\n${errors.slice(0, 5).join('\n')}\n... (${errors.length})`);
    assert.ok(warns.length <= 5, `warning lines:\n${warns.slice(0, 5).join('\n')}\n... (${warns.length})`);
    t.diagnostic(`opened ${n.opened} (${RAW_TCP} raw TCP, ${WS_IDLE} WebSocket); WebSockets upgraded ${n.wsUpgraded}, ` +
      `refused with 1013 ${n.ws1013}, closed before the upgrade ${n.wsClosedBeforeUpgrade}, closed with 4002 ${n.ws4002}; ` +
      `WebSockets refused in all ${n.ws1013 + n.wsClosedBeforeUpgrade}; raw TCP closed by the gateway ${n.tcpClosed} ` +
      '(turned away at accept or after the 5 s handshake timeout)');
    t.diagnostic(`all idle connections gone ${cleared} ms after the flood began; descriptors before ${fdsBefore}, peak ${fdsPeak}, after ${fdsAfter}; ` +
      `log: ${gw.stderr.split('\n').filter(Boolean).length} lines, ${warns.length} warnings, ${errors.length} errors`);
  });

  test('SIGTERM: exit 0', { skip: !room }, async () => {
    for (const c of [clin, spec]) c.terminate();
    assert.deepEqual(await gw.stop({ timeout: 15000, expectClean: false }), { code: 0, signal: null });
  });
});
