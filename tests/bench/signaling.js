#!/usr/bin/env node
// signaling.js — signalling benchmarks against the real gateway binary.
//
//   node bench/signaling.js --bin build/consilium --out build/bench/signaling.json
//
// (a) connections: open N authenticated WebSocket connections (clinicians and
//     specialists of several centres), hold them, check each still answers a
//     ping; report how many were held, the establishment rate and the
//     gateway's resident memory (VmRSS).
// (b) pairing latency: S available specialists spread evenly over K
//     specialties, C clinicians sending consult.request open-loop at R per
//     second for D seconds, each for a specialty in turn. Like a person at a
//     screen, a specialist takes one offer at a time: it accepts one of the
//     four oldest offers it holds (colleagues tend to pick different ones),
//     and when that is won (it then ends the consult at once) or lost
//     ("taken"), the next one. Offers withdrawn meanwhile are dropped.
//     Latency = from sending consult.request to the clinician receiving
//     consult.updated with state "accepted". --specialties 1 makes every
//     specialist a candidate for every request (the heaviest fan-out).
//
// Options (defaults in brackets): --connections [10000] --hold [10] (s)
//   --rate [500] (requests/s) --duration [20] (s) --specialists [50]
//   --specialties [10] --clinicians [1000] --concurrency [200] (handshakes in flight)
//   --only connections|pairing
// Tokens are HS256 JWTs signed here with the gateway's own generated secret
// (<data_dir>/jwt-secret), with the same claims `consilium token` writes; one
// token per phase is also minted with the CLI and checked to verify alike.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    bin: { type: 'string' },
    out: { type: 'string' },
    connections: { type: 'string', default: '10000' },
    hold: { type: 'string', default: '10' },
    rate: { type: 'string', default: '500' },
    duration: { type: 'string', default: '20' },
    specialists: { type: 'string', default: '50' },
    specialties: { type: 'string', default: '10' },
    clinicians: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '200' },
    only: { type: 'string' },
  },
});
if (opt.bin) process.env.CONSILIUM_BIN = path.resolve(opt.bin);
const lib = await import('../lib/gateway.js');
const { default: WebSocket } = await import('ws');

const N = Number(opt.connections);
const HOLD_S = Number(opt.hold);
const RATE = Number(opt.rate);
const DURATION_S = Number(opt.duration);
const SPECIALISTS = Number(opt.specialists);
const SPECIALTY_COUNT = Math.max(1, Math.min(Number(opt.specialties), 26));
const ALL_SPECIALTIES = ['cardiology', 'neurology', 'pulmonology', 'pediatrics', 'surgery', 'traumatology',
  'oncology', 'infectious-diseases', 'obstetrics', 'psychiatry', 'endocrinology', 'nephrology',
  'gastroenterology', 'hematology', 'rheumatology', 'urology', 'ophthalmology', 'otolaryngology',
  'dermatology', 'neurosurgery', 'toxicology', 'neonatology', 'anesthesiology', 'radiology',
  'geriatrics', 'allergology'];
const SPECIALTIES = ALL_SPECIALTIES.slice(0, SPECIALTY_COUNT);
const CLINICIANS = Number(opt.clinicians);
const CONCURRENCY = Number(opt.concurrency);

const GATEWAY_SET = {
  'limits.max_connections': 20000,
  'limits.rate': 1000,
  'limits.burst': 1000,
  'limits.max_open_per_clinician': 1000,
  'limits.auth_timeout': '60s',
};

const TENANTS = ['kirov', 'vologda', 'perm', 'tver', 'omsk'];
const CONNECTION_SPECIALTIES = ALL_SPECIALTIES.slice(0, 6); // for the held-connections phase
const REASONS = [
  'Chest pain for 2 hours, ST elevation in V2–V4, troponin pending.',
  'Sudden weakness of the right arm and slurred speech since 07:40; CT without bleeding.',
  'Shortness of breath at rest, SpO2 88% on room air, bilateral crackles.',
  'Creatinine doubled in 48 hours after contrast; urine output 300 ml per day.',
  'Irregular pigmented lesion on the left shoulder, grown over 3 months. Photos attached.',
  'Syncope while walking, heart rate 38, AV block on ECG.\nNo previous cardiac history.',
];
const NAMES = ['Иван Сидоров', 'Мария Кузнецова', 'Пётр Смирнов', 'Анна Волкова', 'Olga Petrova', 'Sergei Ivanov'];

const log = (...a) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

// ---- helpers ------------------------------------------------------------------

function mintLocal(secret, { sub, name, role, tenant, specialties }) {
  const iat = Math.floor(Date.now() / 1000);
  const claims = { sub, name, role, tenant, iat, exp: iat + 8 * 3600 };
  if (specialties) claims.specialties = specialties;
  return lib.signHs256(secret, claims);
}

function percentile(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** CPU seconds (user + system) the process has used, from /proc/<pid>/stat. */
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** Opens a WebSocket, says hello, resolves with the socket after welcome. */
function openAuthed(url, token, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('timeout')); }, timeoutMs);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', id: 'h', token })));
    ws.once('message', (data) => {
      clearTimeout(timer);
      const m = JSON.parse(data.toString());
      if (m.type === 'welcome') resolve(ws);
      else { ws.terminate(); reject(new Error(`hello: ${m.code}`)); }
    });
    ws.once('error', (e) => { clearTimeout(timer); reject(new Error(e.code || e.message)); });
    ws.once('close', (code) => { clearTimeout(timer); reject(new Error(`closed ${code}`)); });
  });
}

async function startGateway() {
  const gw = await lib.Gateway.start({ set: GATEWAY_SET, timeout: 15000 });
  const secret = lib.readSecret(gw.dataDir);
  // The locally signed tokens must be exactly as good as the CLI's.
  const cli = gw.token({ role: 'clinician', tenant: 'kirov', name: 'CLI Check', subject: 'cli-check' });
  for (const token of [cli, mintLocal(secret, { sub: 'local-check', name: 'Local Check', role: 'clinician', tenant: 'kirov' })]) {
    const ws = await openAuthed(gw.wsUrl, token);
    ws.terminate();
  }
  return { gw, secret };
}

async function waitFor(cond, timeoutMs, stepMs = 100) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await lib.sleep(stepMs);
  }
  return false;
}

// ---- (a) connections --------------------------------------------------------------

async function benchConnections() {
  log(`connections: opening ${N} authenticated connections (${CONCURRENCY} handshakes in flight)`);
  const { gw, secret } = await startGateway();
  const rssIdleKiB = gw.rssKiB();
  const tokens = Array.from({ length: N }, (_, i) => {
    const tenant = TENANTS[i % TENANTS.length];
    if (i % 5 === 4) { // one in five a specialist
      const s = [CONNECTION_SPECIALTIES[i % CONNECTION_SPECIALTIES.length], CONNECTION_SPECIALTIES[(i + 1) % CONNECTION_SPECIALTIES.length]];
      return mintLocal(secret, { sub: `spec-${i}`, name: `Dr Specialist ${i}`, role: 'specialist', tenant, specialties: s });
    }
    return mintLocal(secret, { sub: `clin-${i}`, name: `Фельдшер ${i}`, role: 'clinician', tenant });
  });

  const conns = [];
  const failures = {};
  let next = 0;
  let peakRss = rssIdleKiB;
  const cpu0 = cpuSeconds(gw.pid);
  const cpuClient0 = process.cpuUsage();
  const t0 = performance.now();
  const progress = setInterval(() => {
    peakRss = Math.max(peakRss, gw.rssKiB());
    log(`  ${conns.length} established`);
  }, 2000);
  async function worker() {
    while (next < N) {
      const i = next++;
      try {
        const ws = await openAuthed(gw.wsUrl, tokens[i]);
        ws.closedEarly = false;
        ws.on('close', () => { ws.closedEarly = true; });
        ws.on('error', () => {});
        conns.push(ws);
      } catch (e) {
        failures[e.message] = (failures[e.message] || 0) + 1;
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const establishS = (performance.now() - t0) / 1000;
  const cpuEstablish = cpuSeconds(gw.pid) - cpu0;
  const cpuClientUsage = process.cpuUsage(cpuClient0);
  const cpuClientEstablish = (cpuClientUsage.user + cpuClientUsage.system) / 1e6;
  clearInterval(progress);
  const rssEstablishedKiB = gw.rssKiB();
  peakRss = Math.max(peakRss, rssEstablishedKiB);
  log(`  ${conns.length} established in ${establishS.toFixed(1)} s; holding ${HOLD_S} s`);

  const holdEnd = Date.now() + HOLD_S * 1000;
  while (Date.now() < holdEnd) {
    peakRss = Math.max(peakRss, gw.rssKiB());
    await lib.sleep(500);
  }
  const rssHeldKiB = gw.rssKiB();
  const metrics = await gw.metrics();

  // Each connection must still be alive: one ping each.
  const open = conns.filter((ws) => !ws.closedEarly && ws.readyState === WebSocket.OPEN);
  const tp = performance.now();
  const pongs = await Promise.all(open.map((ws, i) => new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 30000);
    ws.on('message', (data) => {
      if (data.toString().includes('"pong"')) { clearTimeout(timer); resolve(true); }
    });
    ws.send(JSON.stringify({ type: 'ping', id: `p${i}` }));
  })));
  const pingAllS = (performance.now() - tp) / 1000;
  const held = pongs.filter(Boolean).length;
  peakRss = Math.max(peakRss, gw.rssKiB());
  log(`  ${held} of ${N} answered a ping after the hold (${pingAllS.toFixed(2)} s for all)`);

  for (const ws of conns) ws.terminate();
  await waitFor(async () => (await gw.metrics()).consilium_connections === 0, 30000, 250);
  const rssAfterCloseKiB = gw.rssKiB();
  const exit = await gw.stop({ expectClean: false, timeout: 30000 });

  return {
    requested: N,
    established: conns.length,
    failed: N - conns.length,
    failures,
    held_after_s: HOLD_S,
    held,
    establish_seconds: +establishS.toFixed(3),
    connections_per_second: +(conns.length / establishS).toFixed(1),
    handshakes_in_flight: CONCURRENCY,
    gateway_cpu_seconds_establishing: +cpuEstablish.toFixed(2),
    client_cpu_seconds_establishing: +cpuClientEstablish.toFixed(2),
    ping_all_seconds: +pingAllS.toFixed(3),
    gateway_metrics: { connections: metrics.consilium_connections, sessions: metrics.consilium_sessions, users_online: metrics.consilium_users_online },
    rss_kib: { idle: rssIdleKiB, established: rssEstablishedKiB, after_hold: rssHeldKiB, peak: peakRss, after_close: rssAfterCloseKiB },
    rss_per_connection_bytes: Math.round(((rssHeldKiB - rssIdleKiB) * 1024) / Math.max(1, conns.length)),
    gateway_exit: exit,
  };
}

// ---- (b) request → paired latency ---------------------------------------------------------

async function benchPairing() {
  log(`pairing: ${SPECIALISTS} specialists over ${SPECIALTY_COUNT} specialties, ${CLINICIANS} clinicians, ${RATE} requests/s for ${DURATION_S} s (open loop)`);
  const { gw, secret } = await startGateway();
  const TENANT = 'kirov';

  // Specialists: one offer at a time, oldest first; the winner ends the consult at once.
  const stats = { offers: 0, accepts: 0, wins: 0, taken: 0, ends: 0, withdrawn: 0, errors: {} };
  const closes = { specialists: {}, clinicians: {} }; // unexpected closes during the run, by code and reason
  let closing = false;
  const winsBySpecialist = new Array(SPECIALISTS).fill(0);
  const specialists = [];
  for (let s = 0; s < SPECIALISTS; s++) {
    const specialty = SPECIALTIES[s % SPECIALTY_COUNT];
    const ws = await openAuthed(gw.wsUrl, mintLocal(secret, { sub: `spec-${s}`, name: `Dr Specialist ${s}`, role: 'specialist', tenant: TENANT, specialties: [specialty] }));
    const held = new Set();   // consult ids offered and not withdrawn, oldest first
    let inHand = null;        // the consult being accepted or ended
    let seq = 0;
    const takeNext = () => {
      if (inHand !== null || held.size === 0) return;
      // Among the few oldest offers, each specialist picks a different one
      // more often than not, as colleagues looking at one queue do.
      const oldest = [...held].slice(0, 4);
      inHand = oldest[(s + seq) % oldest.length];
      held.delete(inHand);
      stats.accepts++;
      ws.send(`{"type":"consult.accept","id":"a${++seq}","consult_id":"${inHand}"}`);
    };
    ws.on('message', (data) => {
      const text = data.toString();
      const type = /^\{"type":"([^"]+)"/.exec(text)?.[1];
      if (type === 'consult.offered') {
        stats.offers++;
        held.add(/"consult":\{"id":"([0-9a-f-]{36})"/.exec(text)?.[1] ?? JSON.parse(text).consult.id);
        takeNext();
      } else if (type === 'consult.withdrawn') {
        stats.withdrawn++;
        held.delete(/"consult_id":"([0-9a-f-]{36})"/.exec(text)?.[1] ?? JSON.parse(text).consult_id);
      } else if (type === 'ok' || type === 'error') {
        const m = JSON.parse(text);
        if (m.id?.startsWith('a')) {
          if (type === 'ok') {
            stats.wins++;
            winsBySpecialist[s]++;
            ws.send(`{"type":"consult.end","id":"e${++seq}","consult_id":"${inHand}"}`);
            return;
          }
          if (m.code === 'taken') stats.taken++;
          else stats.errors[`accept:${m.code}`] = (stats.errors[`accept:${m.code}`] || 0) + 1;
        } else if (m.id?.startsWith('e')) {
          if (type === 'ok') stats.ends++;
          else stats.errors[`end:${m.code}`] = (stats.errors[`end:${m.code}`] || 0) + 1;
        } else {
          if (type === 'error') stats.errors[`specialist:${m.code}`] = (stats.errors[`specialist:${m.code}`] || 0) + 1;
          return;
        }
        inHand = null;
        takeNext();
      }
    });
    ws.on('close', (code, reason) => {
      if (closing) return;
      const k = `${code} ${reason}`;
      closes.specialists[k] = (closes.specialists[k] || 0) + 1;
    });
    specialists.push(ws);
  }
  for (const ws of specialists) ws.send('{"type":"presence.set","id":"avail","status":"available"}');

  // Clinicians.
  const sentAt = new Map();     // request id → ms
  const consultOf = new Map();  // request id → consult id
  const reqOfConsult = new Map();
  const acceptedEarly = new Map(); // consult id → ms, if accepted before its ok was read
  const latencies = [];
  const clinErrors = {};
  let replies = 0;
  function onAccepted(cid, at) {
    const rid = reqOfConsult.get(cid);
    if (rid === undefined) { acceptedEarly.set(cid, at); return; }
    if (!sentAt.has(rid)) return;
    latencies.push(at - sentAt.get(rid));
    sentAt.delete(rid);
  }
  const clinicians = [];
  const t0c = performance.now();
  let nextC = 0;
  async function openClinicians() {
    while (nextC < CLINICIANS) {
      const c = nextC++;
      const ws = await openAuthed(gw.wsUrl, mintLocal(secret, { sub: `clin-${c}`, name: `Фельдшер ${c}`, role: 'clinician', tenant: TENANT }));
      ws.on('message', (data) => {
        const at = performance.now();
        const m = JSON.parse(data.toString());
        if (m.type === 'ok' && m.consult) {
          replies++;
          consultOf.set(m.id, m.consult.id);
          reqOfConsult.set(m.consult.id, m.id);
          if (acceptedEarly.has(m.consult.id)) onAccepted(m.consult.id, acceptedEarly.get(m.consult.id));
        } else if (m.type === 'error') {
          replies++;
          clinErrors[m.code] = (clinErrors[m.code] || 0) + 1;
          sentAt.delete(m.id);
        } else if (m.type === 'consult.updated' && m.consult.state === 'accepted') {
          onAccepted(m.consult.id, at);
        }
      });
      ws.on('close', (code, reason) => {
        if (closing) return;
        const k = `${code} ${reason}`;
        closes.clinicians[k] = (closes.clinicians[k] || 0) + 1;
      });
      clinicians[c] = ws;
    }
  }
  await Promise.all(Array.from({ length: 50 }, openClinicians));
  log(`  ${CLINICIANS} clinicians connected in ${((performance.now() - t0c) / 1000).toFixed(1)} s`);
  await lib.sleep(500); // presence.set replies settle

  const total = RATE * DURATION_S;
  const interval = 1000 / RATE;
  let sent = 0;
  let maxLagMs = 0;
  let peakRss = gw.rssKiB();
  const cpuGw0 = cpuSeconds(gw.pid);
  const cpuClient0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - t0) / interval) + 1);
      while (sent < due) {
        const i = sent++;
        const rid = `q${i}`;
        const urgency = i % 10 === 0 ? 'emergency' : i % 3 === 0 ? 'planned' : 'urgent';
        const msg = JSON.stringify({
          type: 'consult.request', id: rid,
          patient: { id: `SNILS ${String(100000000 + i).replace(/(\d{3})(\d{3})(\d{3})/, '$1-$2-$3')} ${String(i % 100).padStart(2, '0')}`, name: NAMES[i % NAMES.length], birth_date: `19${String(30 + (i % 70)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}` },
          specialty: SPECIALTIES[i % SPECIALTY_COUNT], urgency, mode: i % 7 === 0 ? 'deferred' : 'realtime', reason: REASONS[i % REASONS.length],
        });
        sentAt.set(rid, performance.now());
        maxLagMs = Math.max(maxLagMs, performance.now() - (t0 + i * interval));
        clinicians[i % CLINICIANS].send(msg);
      }
      if (sent >= total) return resolve();
      setTimeout(tick, 1);
    };
    tick();
  });
  const sendS = (performance.now() - t0) / 1000;
  const rssTimer = setInterval(() => { peakRss = Math.max(peakRss, gw.rssKiB()); }, 250);
  log(`  sent ${sent} in ${sendS.toFixed(2)} s; waiting for the last pairings`);
  await waitFor(() => sentAt.size === 0 && replies >= sent, 15000, 50);
  const doneS = (performance.now() - t0) / 1000;
  clearInterval(rssTimer);
  peakRss = Math.max(peakRss, gw.rssKiB());
  const cpuGw = cpuSeconds(gw.pid) - cpuGw0;
  const cpuClient = process.cpuUsage(cpuClient0);
  await waitFor(() => stats.ends >= stats.wins, 5000, 50);
  const metrics = await gw.metrics();

  const sorted = latencies.slice().sort((a, b) => a - b);
  const r = (x) => (x === null ? null : +x.toFixed(2));
  const result = {
    specialists: SPECIALISTS,
    specialties: SPECIALTY_COUNT,
    clinicians: CLINICIANS,
    target_rate_per_s: RATE,
    duration_s: DURATION_S,
    requests_sent: sent,
    achieved_send_rate_per_s: +(sent / sendS).toFixed(1),
    max_send_lag_ms: r(maxLagMs),
    replies,
    paired: latencies.length,
    unpaired: sent - latencies.length - Object.values(clinErrors).reduce((a, b) => a + b, 0),
    pairing_rate_per_s: +(latencies.length / doneS).toFixed(1),
    latency_ms: {
      p50: r(percentile(sorted, 0.5)), p90: r(percentile(sorted, 0.9)), p99: r(percentile(sorted, 0.99)),
      max: r(sorted.at(-1) ?? null), mean: r(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
    },
    clinician_errors: clinErrors,
    specialists_stats: {
      offers_received: stats.offers, accepts_sent: stats.accepts, won: stats.wins, taken: stats.taken, withdrawn_notices: stats.withdrawn,
      consults_ended: stats.ends, other_errors: stats.errors,
      wins_per_specialist: { min: Math.min(...winsBySpecialist), max: Math.max(...winsBySpecialist) },
    },
    gateway_cpu_seconds: +cpuGw.toFixed(2),
    gateway_cpu_percent: +((cpuGw / doneS) * 100).toFixed(1),
    client_cpu_percent: +(((cpuClient.user + cpuClient.system) / 1e6 / doneS) * 100).toFixed(1),
    gateway_rss_kib_peak: peakRss,
    gateway_metrics: {
      pairing_count: metrics.consilium_pairing_seconds_count,
      pairing_sum_s: metrics.consilium_pairing_seconds_sum,
      consults_ended: metrics['consilium_consults{state="ended"}'],
      consults_queued: (metrics['consilium_consults{state="requested"}'] ?? 0) + (metrics['consilium_consults{state="offered"}'] ?? 0),
      messages_total: metrics.consilium_messages_total,
      errors_total: metrics.consilium_errors_total,
      rate_limited_total: metrics.consilium_rate_limited_total,
    },
  };
  result.unexpected_closes = closes;
  closing = true;
  for (const ws of [...specialists, ...clinicians]) ws.terminate();
  await waitFor(async () => (await gw.metrics()).consilium_connections === 0, 15000, 250);
  result.gateway_exit = await gw.stop({ expectClean: false, timeout: 30000 });
  return result;
}

// ---- report --------------------------------------------------------------------------------

function printTable(title, rows) {
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log(`\n${title}`);
  console.log('-'.repeat(Math.max(title.length, w + 24)));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
}

const mib = (kib) => `${(kib / 1024).toFixed(1)} MiB`;

const out = { when: new Date().toISOString(), host: { cpus: (await import('node:os')).cpus().length, node: process.version }, gateway: lib.BIN };
try {
  if (!opt.only || opt.only === 'connections') out.connections = await benchConnections();
  if (!opt.only || opt.only === 'pairing') out.pairing = await benchPairing();
} finally {
  await lib.cleanup();
}

if (out.connections) {
  const c = out.connections;
  printTable(`(a) ${c.requested} authenticated WebSocket connections`, [
    ['established', `${c.established} of ${c.requested}${c.failed ? ` (failures: ${JSON.stringify(c.failures)})` : ''}`],
    ['establishment rate', `${c.connections_per_second} connections/s (${c.establish_seconds} s, ${c.handshakes_in_flight} in flight)`],
    [`held after ${c.held_after_s} s (answer a ping)`, `${c.held}`],
    ['gateway sessions (metrics)', `${c.gateway_metrics.sessions}`],
    ['gateway RSS idle', mib(c.rss_kib.idle)],
    ['gateway RSS with all connected', mib(c.rss_kib.after_hold)],
    ['gateway RSS peak', mib(c.rss_kib.peak)],
    ['gateway RSS per connection', `${(c.rss_per_connection_bytes / 1024).toFixed(1)} KiB`],
    ['gateway RSS after all closed', mib(c.rss_kib.after_close)],
    ['CPU while establishing', `gateway ${c.gateway_cpu_seconds_establishing} s, client ${c.client_cpu_seconds_establishing} s`],
    ['gateway exit (SIGTERM)', `code ${c.gateway_exit.code}`],
  ]);
}
if (out.pairing) {
  const p = out.pairing;
  printTable(`(b) request → accepted latency, ${p.specialists} specialists over ${p.specialties} specialties, ${p.clinicians} clinicians, ${p.target_rate_per_s}/s for ${p.duration_s} s`, [
    ['requests sent', `${p.requests_sent} (achieved ${p.achieved_send_rate_per_s}/s, max send lag ${p.max_send_lag_ms} ms)`],
    ['paired (accepted seen by clinician)', `${p.paired}${p.unpaired ? `, ${p.unpaired} not paired` : ''}`],
    ['pairing throughput', `${p.pairing_rate_per_s}/s`],
    ['latency p50', `${p.latency_ms.p50} ms`],
    ['latency p90', `${p.latency_ms.p90} ms`],
    ['latency p99', `${p.latency_ms.p99} ms`],
    ['latency max', `${p.latency_ms.max} ms`],
    ['latency mean', `${p.latency_ms.mean} ms`],
    ['clinician errors', JSON.stringify(p.clinician_errors)],
    ['offers / accepts / won / taken', `${p.specialists_stats.offers_received} / ${p.specialists_stats.accepts_sent} / ${p.specialists_stats.won} / ${p.specialists_stats.taken}`],
    ['consults ended by the winner', `${p.specialists_stats.consults_ended}`],
    ['connections closed by the gateway', `specialists ${JSON.stringify(p.unexpected_closes.specialists)}, clinicians ${JSON.stringify(p.unexpected_closes.clinicians)}`],
    ['wins per specialist (min–max)', `${p.specialists_stats.wins_per_specialist.min}–${p.specialists_stats.wins_per_specialist.max}`],
    ['gateway CPU / client CPU', `${p.gateway_cpu_percent}% / ${p.client_cpu_percent}% of one core`],
    ['gateway RSS peak', mib(p.gateway_rss_kib_peak)],
    ['gateway pairing_seconds_count', `${p.gateway_metrics.pairing_count}`],
    ['gateway exit (SIGTERM)', `code ${p.gateway_exit.code}`],
  ]);
}

if (opt.out) {
  fs.mkdirSync(path.dirname(opt.out), { recursive: true });
  fs.writeFileSync(opt.out, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nJSON: ${opt.out}`);
}
