// janus.js — start the Debian package's Janus (1.1.x) for a test or the
// media benchmark, with nothing but what the load tool drives: the
// VideoRoom plugin and the WebSocket transport.
//
//   if (!janusAvailable()) test.skip(janusMissingReason())
//   const j = await startJanus({ cpu: 0 });   // cpu: optional `taskset -c` pinning
//   spawn(...j.exec([LOAD_BIN, '--target', 'janus', '--url', j.url, '--bind', j.ip, ...]))
//   await j.stop();                           // SIGTERM, then SIGKILL after a grace period
//
// Its configuration is written to a fresh temporary folder (removed by
// stop()), so the system's /etc/janus is never read: no preset rooms, no
// admin API, full trickle, a port range of its own, its log in that folder
// (j.logTail() for failure messages).
//
// Loopback only: Janus never gathers ICE candidates on a loopback interface
// (its ice.c skips IFF_LOOPBACK), so it runs in a network namespace of its
// own (`ip netns`), made for the run and deleted after, where the loopback
// device is up and a veth interface carries 127.0.0.2: Janus gathers that
// address, and every packet between it and the load tool (run in the same
// namespace through j.exec) stays on 127.0.0.0/8 and inside the namespace.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const JANUS_BIN = process.env.JANUS_BIN || '/usr/bin/janus';
export const JANUS_LIB = process.env.JANUS_LIB || '/usr/lib/x86_64-linux-gnu/janus';
const HOST = '127.0.0.1';
const ICE_IP = '127.0.0.2';

// Plugins and transports the Debian package ships that we keep off: each
// would otherwise load, open ports or start threads and skew the figures.
const OFF_PLUGINS = ['audiobridge', 'duktape', 'echotest', 'lua', 'nosip', 'recordplay', 'sip',
  'streaming', 'textroom', 'videocall', 'voicemail'];
const OFF_TRANSPORTS = ['http', 'mqtt', 'nanomsg', 'pfunix', 'rabbitmq'];

function ip(args) {
  return spawnSync('ip', args, { encoding: 'utf8' });
}

/** Makes the namespace: lo up, a veth with ICE_IP. null, or why not. */
function makeNetns(name) {
  const steps = [['netns', 'add', name], ['-n', name, 'link', 'set', 'lo', 'up'],
    ['-n', name, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1'],
    ['-n', name, 'addr', 'add', `${ICE_IP}/32`, 'dev', 'v0'],
    ['-n', name, 'link', 'set', 'v0', 'up'], ['-n', name, 'link', 'set', 'v1', 'up']];
  for (const s of steps) {
    const r = ip(s);
    if (r.status !== 0) {
      ip(['netns', 'del', name]);
      return `ip ${s.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`;
    }
  }
  return null;
}

let netnsReason;
/** Why a network namespace cannot be made here (root and iproute2 are needed), or null. */
function netnsMissingReason() {
  if (netnsReason === undefined) {
    const name = `consilium-probe-${process.pid}`;
    netnsReason = makeNetns(name);
    if (netnsReason === null) ip(['netns', 'del', name]);
  }
  return netnsReason;
}

/** Why Janus cannot run here, or null when it can (for a test's skip message). */
export function janusMissingReason() {
  if (!fs.existsSync(JANUS_BIN)) return `${JANUS_BIN} not found (Debian package janus)`;
  for (const f of ['plugins/libjanus_videoroom.so', 'transports/libjanus_websockets.so']) {
    if (!fs.existsSync(path.join(JANUS_LIB, f))) return `${path.join(JANUS_LIB, f)} not found`;
  }
  const ns = netnsMissingReason();
  if (ns) return `no network namespace for Janus's loopback-only ICE (${ns})`;
  return null;
}

/** Whether the janus binary, its VideoRoom plugin and an address for ICE are there. */
export function janusAvailable() {
  return janusMissingReason() === null;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const dll = (names) => names.map((n) => `libjanus_${n}.so`).join(',');

function writeConfig(dir, { port, ip, rtpPorts, debugLevel, eventLoops }) {
  const lib = JANUS_LIB;
  const general = [
    `configs_folder = "${dir}"`,
    `plugins_folder = "${lib}/plugins"`,
    `transports_folder = "${lib}/transports"`,
    `events_folder = "${lib}/events"`,
    `loggers_folder = "${lib}/loggers"`,
    `interface = "${ip}"`,
    'log_to_stdout = false',
    `log_to_file = "${dir}/janus.log"`,
    `debug_level = ${debugLevel}`,
    'debug_timestamps = true',
    'debug_colors = false',
    'session_timeout = 60',
    'hide_dependencies = true',
    'protected_folders = ["/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/sbin", "/sys", "/usr", "/var"]',
  ];
  if (eventLoops) general.push(`event_loops = ${eventLoops}`);
  const main = `# written by tests/lib/janus.js for one run
general: {
${general.map((l) => `\t${l}`).join('\n')}
}
certificates: {
}
media: {
\trtp_port_range = "${rtpPorts}"
}
nat: {
\tnice_debug = false
\tfull_trickle = true
\tice_enforce_list = "${ip}"
\tignore_mdns = true
}
plugins: {
\tdisable = "${dll(OFF_PLUGINS)}"
}
transports: {
\tdisable = "${dll(OFF_TRANSPORTS)}"
}
loggers: {
\tdisable = "libjanus_jsonlog.so"
}
events: {
\tbroadcast = false
}
`;
  const ws = `general: {
\tjson = "compact"
\tws = true
\tws_port = ${port}
\tws_ip = "${HOST}"
\twss = false
}
admin: {
\tadmin_ws = false
\tadmin_wss = false
}
`;
  const videoroom = `general: {
}
`;
  fs.writeFileSync(path.join(dir, 'janus.jcfg'), main);
  fs.writeFileSync(path.join(dir, 'janus.transport.websockets.jcfg'), ws);
  fs.writeFileSync(path.join(dir, 'janus.plugin.videoroom.jcfg'), videoroom);
}

/** Resolves once a TCP connection to the WebSocket port, inside the namespace, is accepted. */
async function waitListening(port, proc, exec, timeoutMs, logTail) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`janus exited (code ${proc.exitCode}, signal ${proc.signalCode}) before listening; log:\n${logTail()}`);
    }
    const argv = exec(['bash', '-c', `exec 3<>/dev/tcp/${HOST}/${port}`]);
    if (spawnSync(argv[0], argv.slice(1), { stdio: 'ignore' }).status === 0) return;
    if (Date.now() > end) throw new Error(`janus did not listen on ${HOST}:${port} within ${timeoutMs} ms; log:\n${logTail()}`);
    await sleep(50);
  }
}

let made = 0;

/**
 * Starts Janus in a network namespace of its own. opts: cpu (a CPU number or
 * list for `taskset -c`), port (WebSocket, default 8188), rtpPorts
 * ("min-max"), debugLevel (default 3: warnings), eventLoops (Janus's
 * event_loops; default: its own thread per handle), keepDir (keep the folder
 * after stop), timeout (ms). Returns { url, port, ip, pid, dir, netns,
 * exec(argv) → argv run inside the namespace, stop(), logTail(), exited (a
 * promise), running() }.
 */
export async function startJanus(opts = {}) {
  const why = janusMissingReason();
  if (why) throw new Error(why);
  const netns = `consilium-janus-${process.pid}-${++made}`;
  const nsWhy = makeNetns(netns);
  if (nsWhy) throw new Error(nsWhy);
  const exec = (argv) => ['ip', 'netns', 'exec', netns, ...argv];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'consilium-janus-'));
  const port = opts.port ?? 8188;
  const rtpPorts = opts.rtpPorts ?? '20000-29999';
  writeConfig(dir, { port, ip: ICE_IP, rtpPorts, debugLevel: opts.debugLevel ?? 3, eventLoops: opts.eventLoops });

  const args = [JANUS_BIN, '-C', path.join(dir, 'janus.jcfg'), '-F', dir];
  const argv = exec(opts.cpu === undefined ? args : ['taskset', '-c', String(opts.cpu), ...args]);
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20000); });
  proc.on('error', () => {});
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));

  const logTail = (n = 4000) => {
    let log = '';
    try { log = fs.readFileSync(path.join(dir, 'janus.log'), 'utf8'); } catch { /* not yet written */ }
    return (log + stderr).slice(-n);
  };
  let stopped = false;
  const stop = async ({ graceMs = 5000 } = {}) => {
    if (stopped) return exited;
    stopped = true;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    live.delete(handle);
    ip(['netns', 'del', netns]);
    if (!opts.keepDir) fs.rmSync(dir, { recursive: true, force: true });
    return exited;
  };
  const running = () => proc.exitCode === null && proc.signalCode === null;
  const handle = { url: `ws://${HOST}:${port}`, port, ip: ICE_IP, pid: proc.pid, dir, netns, exec, stop, logTail, exited, running };
  live.add(handle);
  try {
    await waitListening(port, proc, exec, opts.timeout ?? 10000, logTail);
  } catch (e) {
    await stop({ graceMs: 1000 });
    throw e;
  }
  return handle;
}

// The VideoRoom's rooms, asked over a connection of our own from inside the
// namespace (a short node process there, with the tests' `ws` module).
const LIST_ROOMS = `
const WebSocket = require('ws');
const ws = new WebSocket(process.argv[1], 'janus-protocol');
const pending = new Map();
let n = 0;
const ask = (m) => new Promise((resolve) => {
  const transaction = 't' + (++n);
  pending.set(transaction, resolve);
  ws.send(JSON.stringify({ ...m, transaction }));
});
ws.on('message', (d) => {
  const m = JSON.parse(d.toString());
  const done = pending.get(m.transaction);
  if (done && m.janus !== 'ack') { pending.delete(m.transaction); done(m); }
});
ws.on('error', (e) => { console.error(e.message); process.exit(1); });
setTimeout(() => { console.error('timed out'); process.exit(1); }, 5000);
ws.on('open', async () => {
  const session = (await ask({ janus: 'create' })).data.id;
  const handle = (await ask({ janus: 'attach', session_id: session, plugin: 'janus.plugin.videoroom' })).data.id;
  const r = await ask({ janus: 'message', session_id: session, handle_id: handle, body: { request: 'list' } });
  await ask({ janus: 'destroy', session_id: session });
  console.log(JSON.stringify(r.plugindata.data.list));
  process.exit(0);
});`;

/** The rooms of j's VideoRoom (an array of Janus's room descriptions). */
export function janusRooms(j) {
  const argv = j.exec([process.execPath, '-e', LIST_ROOMS, j.url]);
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 10000,
    cwd: path.join(path.dirname(new URL(import.meta.url).pathname), '..') });
  if (r.status !== 0) throw new Error(`listing Janus's rooms: ${r.stderr || r.error?.message}`);
  return JSON.parse(r.stdout);
}

// Last resort when the test or bench process ends with Janus still running.
const live = new Set();
process.on('exit', () => {
  for (const h of live) {
    try { process.kill(h.pid, 'SIGKILL'); } catch { /* gone */ }
    try { fs.rmSync(h.dir, { recursive: true, force: true }); } catch { /* gone */ }
    ip(['netns', 'del', h.netns]);
  }
});

/** Whether `taskset` exists (for CPU pinning). */
export function tasksetAvailable() {
  return spawnSync('taskset', ['-c', '0', 'true']).status === 0;
}
