#!/usr/bin/env node
// media.js — the media benchmark, side by side (`make bench`, issue 7):
// the same load from `consilium-load` against Consilium and then Janus
// (when installed), each server pinned to CPU 0 and the load tool to CPU 1,
// next to the floor measured by bench_floor.
//
//   node bench/media.js --build /abs/build [--quick] [--targets consilium,janus] [--out FILE]
//
// For each target:
//  (1) capacity: 1:1 consults (2 participants) at 10, 20, 40, 60, 80, 120,
//      160, … until a step fails, then a few bisections; a step passes when
//      every consult became ready and loss stayed under 0.5 % over a 10 s
//      window. When the load tool itself runs out of CPU (over ~90 % of its
//      core) before the server does, the search stops there and capacity is
//      extrapolated from the server's CPU per packet: one core's
//      microseconds a second ÷ (µs per packet × packets a consult brings).
//  (2) at half that load: forwarding latency p50/p99, server CPU per relayed
//      packet, RSS per participant.
// Each step runs against a freshly started server (Consilium with
// media.workers=1 and an empty data folder; Janus through tests/lib/janus.js).
// Prints a table (Consilium | Janus | floor) and writes BUILD/bench/media.json.
// Builds nothing: BUILD must hold consilium, consilium-load and bench/bench_floor.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { freePort, httpRequest, sleep } from '../lib/gateway.js';
import { janusMissingReason, startJanus } from '../lib/janus.js';

const { values: opt } = parseArgs({
  options: {
    build: { type: 'string' },
    quick: { type: 'boolean', default: false },
    targets: { type: 'string', default: 'consilium,janus' },
    out: { type: 'string' },
    budget: { type: 'string' }, // seconds per target for the capacity search
  },
});
if (!opt.build) {
  console.error('usage: node bench/media.js --build ABSOLUTE_BUILD_DIR [--quick] [--targets consilium,janus] [--out FILE]');
  process.exit(2);
}
const BUILD = path.resolve(opt.build);
const GATEWAY = path.join(BUILD, 'consilium');
const LOAD = path.join(BUILD, 'consilium-load');
const FLOOR = path.join(BUILD, 'bench', 'bench_floor');
const OUT = opt.out ?? path.join(BUILD, 'bench', 'media.json');

const QUICK = opt.quick;
const LADDER = QUICK ? [2, 4, 8] : [10, 20, 40, 60, 80, 120, 160, 200, 240, 320, 400, 480, 640];
const BISECTIONS = QUICK ? 0 : 3;
const WINDOW_S = QUICK ? 4 : 10;
const WARMUP_S = QUICK ? 1 : 2;
const BUDGET_S = Number(opt.budget ?? (QUICK ? 120 : 240));
const LOSS_LIMIT = 0.5;        // percent
const TOOL_SATURATED = 90;     // percent of its core
const PARTICIPANTS = 2;

// Pinning needs two CPUs; on one, everything shares it (and the figures say so).
const CPUS = os.cpus().length;
const PIN = CPUS >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const pinned = (cpu, argv) => (PIN ? ['taskset', '-c', String(cpu), ...argv] : argv);

const log = (...a) => console.error(`[media ${new Date().toISOString().slice(11, 19)}]`, ...a);
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'consilium-bench-media-'));
process.on('exit', () => fs.rmSync(tmpRoot, { recursive: true, force: true }));

// ---- servers --------------------------------------------------------------------

/** Consilium on 127.0.0.1, pinned to CPU 0, one media worker, a fresh data folder. */
async function startConsilium() {
  const dataDir = fs.mkdtempSync(path.join(tmpRoot, 'gw-'));
  const port = await freePort();
  const argv = pinned(0, [GATEWAY, 'run', '--data-dir', dataDir, '--listen', '127.0.0.1', '--port', String(port),
    '--set', 'media.workers=1', '--set', 'media.addresses=127.0.0.1', '--set', 'log.level=warn']);
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20000); });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const end = Date.now() + 15000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`consilium exited at start: ${stderr}`);
    const r = await httpRequest({ port, path: '/healthz', timeout: 1000 }).catch(() => null);
    if (r?.status === 200) break;
    if (Date.now() > end) { proc.kill('SIGKILL'); throw new Error(`consilium did not answer /healthz: ${stderr}`); }
    await sleep(50);
  }
  return {
    pid: proc.pid,
    args: ['--target', 'consilium', '--url', `ws://127.0.0.1:${port}/ws`, '--secret', path.join(dataDir, 'jwt-secret')],
    logTail: () => stderr.slice(-3000),
    async stop() {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(timer);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function startJanusTarget() {
  const j = await startJanus(PIN ? { cpu: 0 } : {});
  return {
    pid: j.pid,
    args: ['--target', 'janus', '--url', j.url, '--bind', j.ip],
    exec: j.exec,                   // the tool runs in Janus's network namespace
    logTail: () => j.logTail(3000),
    stop: () => j.stop(),
  };
}

const TARGETS = {
  consilium: { label: 'Consilium', start: startConsilium, available: () => (fs.existsSync(GATEWAY) ? null : `${GATEWAY} not built`) },
  janus: { label: 'Janus', start: startJanusTarget, available: janusMissingReason },
};

// ---- one load run ---------------------------------------------------------------

function runTool(args, timeoutMs, exec = (argv) => argv) {
  return new Promise((resolve) => {
    const argv = exec(pinned(1, [LOAD, ...args]));
    const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out = (out + d).slice(-20000); });
    p.stderr.on('data', (d) => { out = (out + d).slice(-20000); });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, out }); });
  });
}

/** One step: a fresh server, n 1:1 consults, the tool's JSON report and our verdict. */
async function step(target, n) {
  const server = await TARGETS[target].start();
  const json = path.join(tmpRoot, `${target}-${n}-${Date.now()}.json`);
  let r;
  try {
    const setupTimeout = Math.max(30, Math.ceil(n / 4));
    r = await runTool([...server.args, '--consults', String(n), '--participants', String(PARTICIPANTS),
      '--warmup', String(WARMUP_S), '--duration', String(WINDOW_S), '--setup-timeout', String(setupTimeout),
      // No decoding: a sampled decoder holds the tool's loop ~1 ms a frame, which
      // would be counted as the server's latency (integrity is the tests' job).
      '--decode-every', '0',
      '--server-pid', String(server.pid), '--json', json, '--quiet'], (setupTimeout + WARMUP_S + WINDOW_S + 60) * 1000,
    server.exec);
  } finally {
    await server.stop();
  }
  let report = null;
  try { report = JSON.parse(fs.readFileSync(json, 'utf8')); } catch { /* no report: a crash or a usage error */ }
  const w = report?.window;
  const s = {
    n,
    exit: r.code,
    ready: report?.setup?.ready ?? 0,
    failed: report?.setup?.failed ?? n,
    errors: report?.setup?.errors ?? [],
    srtp: report?.setup?.srtp_profile ?? null,
    loss: w?.loss_percent ?? null,
    p50_us: w?.latency_us?.p50 ?? null,
    p99_us: w?.latency_us?.p99 ?? null,
    us_per_packet: w?.server?.us_per_packet ?? null,
    server_cpu: w?.server?.cpu_percent ?? null,
    rss_kib_per_participant: w?.server?.rss_kib_per_participant ?? null,
    tool_cpu: w?.tool?.cpu_percent ?? null,
    packets_per_s: w && w.seconds > 0 ? w.packets_received / w.seconds : null,
    consults: w?.consults ?? n,
  };
  s.pass = r.code === 0 && s.ready === n && s.loss !== null && s.loss < LOSS_LIMIT;
  s.tool_saturated = s.tool_cpu !== null && s.tool_cpu > TOOL_SATURATED;
  log(`  ${target} ${n} consults: ${s.pass ? 'pass' : 'FAIL'}  ready ${s.ready}/${n}  loss ${fmt(s.loss, 3)} %` +
      `  server ${fmt(s.server_cpu, 0)} % cpu, ${fmt(s.us_per_packet, 2)} µs/packet  tool ${fmt(s.tool_cpu, 0)} % cpu` +
      (s.pass ? '' : `  (exit ${r.code}${s.errors.length ? `; ${s.errors[0]}` : ''})`));
  if (!report) log(`    no report; tool output tail:\n${r.out.slice(-1500)}`);
  return s;
}

// ---- capacity search --------------------------------------------------------------

async function capacity(target) {
  const t0 = Date.now();
  const steps = [];
  let pass = null;
  let fail = null;
  let limitedBy = 'server';
  const overBudget = () => (Date.now() - t0) / 1000 > BUDGET_S;
  for (const n of LADDER) {
    const s = await step(target, n);
    steps.push(s);
    if (!s.pass) { fail = s; break; }
    pass = s;
    if (s.tool_saturated) { limitedBy = 'tool'; break; }
    if (overBudget()) { limitedBy = 'time budget'; break; }
  }
  if (fail && fail.tool_saturated) limitedBy = 'tool';
  for (let i = 0; i < BISECTIONS && fail && limitedBy === 'server' && !overBudget(); i++) {
    const lo = pass?.n ?? 0;
    const n = Math.floor((lo + fail.n) / 2);
    if (n <= lo || fail.n - lo <= Math.max(2, lo * 0.05)) break;
    const s = await step(target, n);
    steps.push(s);
    if (s.pass) pass = s; else fail = s;
    if (s.tool_saturated) limitedBy = 'tool';
  }
  const result = { measured: pass?.n ?? 0, limited_by: fail ? limitedBy : (limitedBy === 'server' ? 'ladder' : limitedBy), steps };
  if (fail) {
    result.failed_at = { n: fail.n, loss: fail.loss, server_cpu: fail.server_cpu, tool_cpu: fail.tool_cpu, ready: fail.ready, error: fail.errors[0] ?? null };
  }
  // Where the tool (not the server) ran out, extrapolate from the server's cost per packet.
  const basis = pass ?? null;
  if (basis && result.limited_by !== 'server' && basis.us_per_packet > 0 && basis.packets_per_s > 0) {
    const perConsult = basis.packets_per_s / basis.consults;
    result.extrapolated = Math.floor(1e6 / (basis.us_per_packet * perConsult));
  }
  result.consults = result.extrapolated ?? result.measured;
  return result;
}

async function benchTarget(target) {
  const why = TARGETS[target].available();
  if (why) { log(`${target}: skipped (${why})`); return { skipped: why }; }
  log(`${target}: capacity search (1:1 consults, ${WINDOW_S} s window, loss < ${LOSS_LIMIT} %)`);
  const cap = await capacity(target);
  // Half load; never more than a step the tool carried without saturating.
  const carried = cap.steps.filter((s) => s.pass && !s.tool_saturated).map((s) => s.n);
  const halfN = Math.max(1, Math.min(Math.floor(cap.consults / 2), carried.length ? Math.max(...carried) : 1));
  log(`${target}: half load, ${halfN} consults`);
  const half = await step(target, halfN);
  return { capacity: cap, half };
}

// ---- the floor ----------------------------------------------------------------------

function floor() {
  if (!fs.existsSync(FLOOR)) return { error: `${FLOOR} not built` };
  const r = spawnSync(PIN ? 'taskset' : FLOOR, PIN ? ['-c', '0', FLOOR] : [], { encoding: 'utf8', timeout: 120000 });
  const m = /^FLOOR_US gcm=([\d.]+) cm=([\d.]+)/m.exec(r.stdout ?? '');
  if (!m) return { error: `bench_floor printed no FLOOR_US line (exit ${r.status}): ${r.stderr}` };
  return { gcm: Number(m[1]), cm: Number(m[2]), text: r.stdout.trim() };
}

// ---- output -------------------------------------------------------------------------

function fmt(v, digits = 1) {
  return v === null || v === undefined || Number.isNaN(v) ? '—' : Number(v).toFixed(digits);
}

function floorFor(fl, profile) {
  if (fl.error) return null;
  return /GCM/i.test(profile ?? 'GCM') ? fl.gcm : fl.cm;
}

function table(results, fl) {
  const cols = Object.keys(results);
  const head = ['', ...cols.map((t) => TARGETS[t].label), 'floor'];
  const cell = (t, f) => (results[t].skipped ? 'skipped' : f(results[t]));
  const capText = (r) => {
    const c = r.capacity;
    if (c.extrapolated !== undefined) return `~${c.extrapolated} (extrapolated; ${c.limited_by} limit at ${c.measured})`;
    return `${c.measured}${c.limited_by === 'ladder' ? '+' : ''}`;
  };
  const profile = Object.values(results).find((r) => r.half)?.half?.srtp;
  const rows = [
    ['1:1 consults held (loss < 0.5 %)', ...cols.map((t) => cell(t, capText)), ''],
    ['server CPU per relayed packet (µs)', ...cols.map((t) => cell(t, (r) => fmt(r.half.us_per_packet, 2))), fmt(floorFor(fl, profile), 2)],
    ['forwarding latency p50 (µs), half load', ...cols.map((t) => cell(t, (r) => fmt(r.half.p50_us, 0))), ''],
    ['forwarding latency p99 (µs), half load', ...cols.map((t) => cell(t, (r) => fmt(r.half.p99_us, 0))), ''],
    ['server RSS per participant (KiB)', ...cols.map((t) => cell(t, (r) => fmt(r.half.rss_kib_per_participant, 0))), ''],
    ['half load: consults, server CPU %', ...cols.map((t) => cell(t, (r) => `${r.half.n}, ${fmt(r.half.server_cpu, 0)} %`)), ''],
    ['SRTP profile', ...cols.map((t) => cell(t, (r) => r.half.srtp ?? '—')), ''],
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)));
  const line = (row) => row.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function aims(results, fl) {
  const c = results.consilium;
  const j = results.janus;
  if (!c || c.skipped) return {};
  const us = c.half.us_per_packet;
  const f = floorFor(fl, c.half.srtp);
  return {
    cpu_vs_janus: j && !j.skipped && us && j.half.us_per_packet ? { ratio: us / j.half.us_per_packet, aim: '≤ 1/3', met: us * 3 <= j.half.us_per_packet } : null,
    cpu_vs_floor: us && f ? { ratio: us / f, aim: '≤ 2', met: us <= 2 * f } : null,
    p99_under_1ms: c.half.p99_us !== null ? { p99_us: c.half.p99_us, met: c.half.p99_us < 1000 } : null,
    rss_per_participant: c.half.rss_kib_per_participant !== null ? { kib: c.half.rss_kib_per_participant, aim: '≤ 200', met: c.half.rss_kib_per_participant <= 200 } : null,
  };
}

// ---- main ---------------------------------------------------------------------------------

for (const f of [LOAD]) {
  if (!fs.existsSync(f)) { console.error(`media.js: ${f} not built (make build)`); process.exit(1); }
}
log(`${CPUS} CPUs; ${PIN ? 'servers on CPU 0, the load tool on CPU 1' : 'NOT pinned (taskset or a second CPU missing): figures are not comparable'}${QUICK ? '; quick' : ''}`);
const fl = floor();
if (fl.error) log(`floor: ${fl.error}`); else log(`floor: ${fl.gcm} µs (GCM), ${fl.cm} µs (CM) per relayed packet`);

const results = {};
for (const t of opt.targets.split(',').map((s) => s.trim()).filter(Boolean)) {
  if (!TARGETS[t]) { console.error(`media.js: unknown target ${t}`); process.exit(2); }
  results[t] = await benchTarget(t);
}

const out = {
  tool: 'tests/bench/media.js',
  date: new Date().toISOString(),
  machine: { cpus: CPUS, model: os.cpus()[0]?.model ?? '', pinned: PIN },
  settings: { quick: QUICK, window_s: WINDOW_S, warmup_s: WARMUP_S, participants: PARTICIPANTS, loss_limit_percent: LOSS_LIMIT, ladder: LADDER },
  floor: fl.error ? { error: fl.error } : { gcm_us: fl.gcm, cm_us: fl.cm },
  targets: results,
  aims: aims(results, fl),
};
fs.mkdirSync(path.dirname(OUT), { recursive: true });
fs.writeFileSync(OUT, `${JSON.stringify(out, null, 2)}\n`);

console.log('\nMedia relay, side by side (1:1 consults, 640x360 VP8 600 kbit/s + Opus 32 kbit/s each way)');
console.log(table(results, fl));
for (const [t, r] of Object.entries(results)) {
  const f = r.capacity?.failed_at;
  if (f) {
    console.log(`${TARGETS[t].label}: ${f.n} consults failed: ready ${f.ready}/${f.n}, loss ${fmt(f.loss, 3)} %, ` +
      `server ${fmt(f.server_cpu, 0)} % CPU, tool ${fmt(f.tool_cpu, 0)} % CPU${f.error ? `; ${f.error}` : ''}`);
  }
}
for (const [k, v] of Object.entries(out.aims)) if (v) console.log(`aim ${k}: ${JSON.stringify(v)}`);
console.log(`(figures in ${OUT})`);
