// gateway.js — drive the real `consilium` binary from Node tests and benchmarks.
//
//   const gw = await Gateway.start({ set: { 'limits.rate': 1000 } });
//   const c = await gw.connectAs({ role: 'clinician', tenant: 'kirov', name: 'Anna' });
//   const reply = await c.request(consultRequest({ urgency: 'urgent' }));
//   const note = await c.next((m) => m.type === 'consult.updated');
//   await gw.stop();                // SIGTERM, asserts exit code 0
//   after(cleanup);                 // in every test file: kills leftovers, removes temp dirs
//
// Every wait has a timeout (DEFAULT_TIMEOUT_MS unless given), so a failing
// test reports what it was waiting for instead of hanging.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import WebSocket from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.CONSILIUM_BIN || path.resolve(here, '../../build/consilium');
export const HOST = '127.0.0.1';
export const DEFAULT_TIMEOUT_MS = 5000;

// ---- bookkeeping: whatever a test file starts, cleanup() ends ----------------

const liveGateways = new Set();
const tempDirs = new Set();

/** A fresh temporary folder, removed by cleanup(). */
export function tempDir(prefix = 'consilium-test-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/**
 * Kills every gateway still running (SIGKILL), closes their clients, removes
 * temp dirs. Throws if a gateway had exited on its own (a crash) meanwhile,
 * with the tail of its log, so a crash never passes unnoticed.
 */
export async function cleanup() {
  const waits = [];
  const crashed = [];
  for (const gw of liveGateways) {
    gw.closeClients();
    if (gw.running) {
      gw.expectExit = true;
      gw.proc.kill('SIGKILL');
      waits.push(gw.exited.catch(() => {}));
    } else if (!gw.expectExit) {
      crashed.push(gw);
    }
  }
  await Promise.all(waits);
  liveGateways.clear();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
  if (crashed.length) {
    throw new Error(crashed.map((gw) => `gateway ${gw.pid} exited by itself (code ${gw.exit.code}, signal ${gw.exit.signal}); stderr tail:\n${gw.stderr.slice(-3000)}`).join('\n'));
  }
}

// Last resort when the test process dies with gateways still running.
process.on('exit', () => {
  for (const gw of liveGateways) if (gw.running) try { gw.proc.kill('SIGKILL'); } catch {}
  for (const dir of tempDirs) try { fs.rmSync(dir, { recursive: true, force: true }); } catch {}
});

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with `what` after ms unless promise settles first. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Retries fn (an async check that throws while the condition does not hold)
 * until it passes; rethrows its last error after timeout. For conditions that
 * settle on the server after the client's view (e.g. a close being processed).
 */
export async function eventually(fn, { timeout = DEFAULT_TIMEOUT_MS, interval = 25 } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() >= end) throw e;
      await sleep(interval);
    }
  }
}

/** A TCP port that was free a moment ago (bind to 0, read it, close). */
export function freePort(host = HOST) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// ---- running the binary -------------------------------------------------------

/** Turns { key: value } into ['--set', 'key=value', ...]. */
export function setArgs(set = {}) {
  return Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
}

/** Runs `consilium ...args` to completion: { status, stdout, stderr }. */
export function runCli(args, { timeout = 10000, input } = {}) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', timeout, input });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Mints a token with `consilium token`. opts: role, tenant, name, subject,
 * specialties (array or string), ttl ('8h'), alg, dataDir (required).
 */
export function mintToken({ dataDir, role, tenant = 'kirov', name, subject, specialties, specialty, ttl = '8h', alg, extraArgs = [] }) {
  const specs = [].concat(specialties ?? specialty ?? []);
  const args = ['token', '--data-dir', dataDir, '--role', role, '--tenant', tenant, '--name', name ?? subject ?? role];
  if (subject) args.push('--subject', subject);
  for (const s of specs) args.push('--specialty', s);
  if (ttl) args.push('--ttl', ttl);
  if (alg) args.push('--alg', alg);
  args.push(...extraArgs);
  const r = runCli(args);
  if (r.status !== 0) throw new Error(`consilium token failed (${r.status}): ${r.stderr.trim()}`);
  const token = r.stdout.trim();
  if (token.split('.').length !== 3) throw new Error(`consilium token printed no JWT: ${r.stdout}`);
  return token;
}

// ---- JWT helpers for hand-crafted tokens ---------------------------------------

export const b64url = (buf) => Buffer.from(buf).toString('base64url');
export const b64urlJson = (obj) => b64url(JSON.stringify(obj));

/** The decoded { header, payload } of a compact JWT (no verification). */
export function decodeJwt(token) {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
  };
}

/** Signs claims with HS256 using the secret text of a gateway's data dir (<dir>/jwt-secret). */
export function signHs256(secret, claims, header = { alg: 'HS256', typ: 'JWT' }) {
  const input = `${b64urlJson(header)}.${b64urlJson(claims)}`;
  const sig = crypto.createHmac('sha256', secret).update(input).digest();
  return `${input}.${b64url(sig)}`;
}

/** The HS256 secret the gateway uses: the first line of <dataDir>/jwt-secret, as bytes. */
export function readSecret(dataDir) {
  const text = fs.readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8');
  return Buffer.from(text.split(/\r?\n/)[0], 'utf8');
}

// ---- the gateway process --------------------------------------------------------

export class Gateway {
  /**
   * Starts `consilium run` on 127.0.0.1 with --port 0 and reads the chosen port
   * from the "listening on ... (port N)" log line.
   * opts: dataDir (kept if given, else a fresh temp dir), set {key: value},
   *       args [extra CLI args], listen, port, timeout, nofile (run it under
   *       `prlimit --nofile=N:N`, an open-files limit of N).
   */
  static async start(opts = {}) {
    const level = opts.logLevel ?? opts.set?.['log.level'];
    if ((level === 'warn' || level === 'error') && !opts.port) {
      // The "listening on" line is logged at info: pick the port here instead
      // and wait for /healthz.
      const gw = new Gateway({ ...opts, port: await freePort(), quiet: true });
      await gw.ready;
      return gw;
    }
    const gw = new Gateway(opts);
    await gw.ready;
    return gw;
  }

  constructor({ dataDir, set = {}, args = [], listen = HOST, port = 0, timeout = DEFAULT_TIMEOUT_MS, logLevel, quiet = false, nofile } = {}) {
    this.dataDir = dataDir ?? tempDir('consilium-gw-');
    this.set = set;
    this.clients = new Set();
    this.tokens = new Map();
    this.stderr = '';
    this.stdout = '';
    const argv = ['run', '--data-dir', this.dataDir, '--listen', listen, '--port', String(port),
      ...setArgs(set), ...(logLevel ? ['--set', `log.level=${logLevel}`] : []), ...args];
    this.argv = argv;
    // prlimit sets the limit and execs the gateway: the same process.
    this.proc = nofile
      ? spawn('prlimit', [`--nofile=${nofile}:${nofile}`, BIN, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(BIN, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.proc.pid;
    this.running = true;
    liveGateways.add(this);
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.running = false;
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    this.proc.on('error', () => {}); // reported through 'exit' or the ready timeout
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d) => { this.stdout += d; });
    this.proc.stderr.setEncoding('utf8');
    let lineBuf = '';
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gateway did not report listening within ${timeout} ms; stderr:\n${this.stderr}`)), timeout);
      this.proc.stderr.on('data', (d) => {
        this.stderr += d;
        if (this.stderr.length > 1 << 20) this.stderr = this.stderr.slice(-(1 << 19)); // keep the tail
        lineBuf += d;
        let nl;
        while ((nl = lineBuf.indexOf('\n')) >= 0) {
          const line = lineBuf.slice(0, nl);
          lineBuf = lineBuf.slice(nl + 1);
          const m = /listening on .*\(port (\d+)\)/.exec(line);
          if (m && !this.port) {
            this.port = Number(m[1]);
            clearTimeout(timer);
            resolve(this);
          }
        }
      });
      this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`gateway exited (code ${code}, signal ${signal}) before listening; stderr:\n${this.stderr}`));
      });
      if (quiet) {
        // No log line to wait for: poll /healthz on the port we chose.
        this.port = port;
        const poll = () => {
          if (!this.running) return;
          httpRequest({ port, path: '/healthz', timeout: 1000 }).then(
            (r) => { if (r.status === 200) { clearTimeout(timer); resolve(this); } else setTimeout(poll, 20); },
            () => setTimeout(poll, 20));
        };
        poll();
      }
    });
    this.ready.catch(() => {}); // awaited by start(); avoid unhandled rejections otherwise
  }

  get httpUrl() { return `http://${HOST}:${this.port}`; }
  get wsUrl() { return `ws://${HOST}:${this.port}/ws`; }

  /** SIGTERM and wait; throws unless the exit code is 0 (pass {expectClean:false} to skip). */
  async stop({ timeout = 10000, expectClean = true } = {}) {
    this.expectExit = true;
    if (this.running) this.proc.kill('SIGTERM');
    const exit = await withTimeout(this.exited, timeout, `gateway ${this.pid} to exit after SIGTERM`);
    liveGateways.delete(this);
    this.closeClients();
    if (expectClean && (exit.code !== 0 || exit.signal)) {
      throw new Error(`gateway exited with code ${exit.code} signal ${exit.signal}; stderr tail:\n${this.stderr.slice(-3000)}`);
    }
    return exit;
  }

  /** kill -9 and wait. */
  async kill9({ timeout = 10000 } = {}) {
    this.expectExit = true;
    if (this.running) this.proc.kill('SIGKILL');
    const exit = await withTimeout(this.exited, timeout, `gateway ${this.pid} to die after SIGKILL`);
    liveGateways.delete(this);
    this.closeClients();
    return exit;
  }

  closeClients() {
    for (const c of this.clients) c.terminate();
    this.clients.clear();
  }

  /** VmRSS of the gateway process in KiB (Linux). */
  rssKiB() {
    const status = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return m ? Number(m[1]) : NaN;
  }

  /** Mints (and caches) a token for a user of this gateway's data dir. */
  token(user) {
    const key = JSON.stringify(user);
    if (!user.fresh && this.tokens.has(key)) return this.tokens.get(key);
    const t = mintToken({ dataDir: this.dataDir, ...user });
    this.tokens.set(key, t);
    return t;
  }

  /** Opens a WebSocket to /ws (not authenticated). */
  async connect(opts = {}) {
    const c = await Client.open(this.wsUrl, opts);
    this.clients.add(c);
    c.closed.then(() => this.clients.delete(c));
    return c;
  }

  /**
   * Connects and says hello as user ({role, tenant, name, subject, specialties, ttl})
   * or with {token}; asserts a welcome and keeps it as client.welcome.
   */
  async connectAs(user, opts = {}) {
    const token = user.token ?? this.token(user);
    const c = await this.connect(opts);
    const reply = await c.request({ type: 'hello', token });
    if (reply.type !== 'welcome') {
      throw new Error(`hello as ${JSON.stringify(user)} got ${JSON.stringify(reply)}`);
    }
    c.welcome = reply;
    c.user = reply.user;
    c.token = token;
    return c;
  }

  /** GET (or another method) on the gateway: { status, headers, body }. */
  http(pathname, { method = 'GET', timeout = DEFAULT_TIMEOUT_MS, headers = {} } = {}) {
    return httpRequest({ host: HOST, port: this.port, path: pathname, method, headers, timeout });
  }

  /** /metrics parsed into { 'name{labels}': number }. */
  async metrics() {
    const r = await this.http('/metrics');
    if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
    return parseMetrics(r.body);
  }
}

/** A raw HTTP request (no URL normalisation, so '/../x' goes out as is), with
 *  an optional Buffer body: { status, headers, bytes (Buffer) }. */
function rawRequest({ host = HOST, port, path: p, method = 'GET', headers = {}, body, timeout = DEFAULT_TIMEOUT_MS }) {
  return withTimeout(new Promise((resolve, reject) => {
    const h = body === undefined ? headers : { ...headers, 'Content-Length': String(body.length) };
    const req = http.request({ host, port, path: p, method, headers: h, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, bytes: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  }), timeout, `HTTP ${method} ${p}`);
}

/** rawRequest with the body as text: { status, headers, body (string) }. */
export async function httpRequest(opts) {
  const r = await rawRequest(opts);
  return { status: r.status, headers: r.headers, body: r.bytes.toString('utf8') };
}

/** An API call to gw with a binary body: { status, headers, body (Buffer), json (or undefined) }. */
export async function apiRequest(gw, opts) {
  const r = await rawRequest({ ...opts, port: gw.port });
  let json;
  try { json = JSON.parse(r.bytes.toString('utf8')); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, body: r.bytes, json };
}

/** Asserts a signalling error reply of code (and, when given, about field). */
export function assertErrorReply(r, code, field) {
  assert.equal(r.type, 'error', JSON.stringify(r).slice(0, 600));
  assert.equal(r.code, code, JSON.stringify(r).slice(0, 600));
  if (field) assert.equal(r.field, field, `field: ${JSON.stringify(r)}`);
}

/** Prometheus text → { 'name{labels}': value } (labels exactly as written). */
export function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+?(?:\{[^}]*\})?)\s+(\S+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

// ---- the WebSocket client -----------------------------------------------------------

// Reply types that carry the request's id.
const REPLY_TYPES = new Set(['ok', 'error', 'welcome', 'state', 'pong', 'invite', 'consult.history', 'media.answer', 'chat.history', 'conclusion']);

export class Client {
  static open(url, { timeout = DEFAULT_TIMEOUT_MS, protocols, wsOptions = {} } = {}) {
    const c = new Client(url, protocols, wsOptions);
    return withTimeout(c.opened, timeout, `WebSocket open ${url}`).then(() => c, (e) => { c.terminate(); throw e; });
  }

  constructor(url, protocols, wsOptions) {
    this.log = [];            // every message received, parsed (or {raw} when not JSON)
    this.consumed = new Set(); // indexes handed out by next()/request()
    this.waiters = [];
    this.seq = 0;
    this.ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...wsOptions });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode} on upgrade`)));
    });
    this.opened.catch(() => {});
    this.ws.on('error', (e) => { this.lastError = e; });
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString('utf8') };
        resolve(this.closeInfo);
        for (const w of this.waiters.splice(0)) w.onClose(this.closeInfo);
      });
    });
    this.ws.on('message', (data, isBinary) => {
      const text = data.toString('utf8');
      let msg;
      try { msg = JSON.parse(text); } catch { msg = { raw: text }; }
      if (isBinary) msg = { binary: true, raw: text };
      const index = this.log.push(msg) - 1;
      for (let i = 0; i < this.waiters.length; i++) {
        const w = this.waiters[i];
        if (w.pred(msg)) {
          this.consumed.add(index);
          this.waiters.splice(i, 1);
          w.resolve(msg);
          return;
        }
      }
    });
  }

  get isOpen() { return this.ws.readyState === WebSocket.OPEN; }

  /** Sends obj as one JSON text frame. */
  send(obj) {
    this.ws.send(JSON.stringify(obj));
  }

  /** Sends a raw text (string) or binary (Buffer with {binary:true}) frame. */
  sendRaw(data, opts = {}) {
    this.ws.send(data, opts);
  }

  /**
   * Sends obj with a fresh id (unless it has one) and resolves with the reply
   * carrying that id (one of REPLY_TYPES).
   */
  request(obj, timeout = DEFAULT_TIMEOUT_MS) {
    const id = obj.id ?? `r${++this.seq}`;
    const msg = { ...obj, id };
    const p = this.next((m) => m.id === id && REPLY_TYPES.has(m.type), timeout, `reply to ${obj.type} id ${id}`);
    this.send(msg);
    return p;
  }

  /**
   * The first message (received so far and not yet handed out, or arriving
   * later) for which pred is true. Rejects after timeout or if the connection
   * closes first.
   */
  next(pred, timeout = DEFAULT_TIMEOUT_MS, what = pred.toString()) {
    for (let i = 0; i < this.log.length; i++) {
      if (!this.consumed.has(i) && pred(this.log[i])) {
        this.consumed.add(i);
        return Promise.resolve(this.log[i]);
      }
    }
    if (this.closeInfo) {
      return Promise.reject(new Error(`connection closed (${this.closeInfo.code} ${this.closeInfo.reason}) before ${what}`));
    }
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (m) => { clearTimeout(w.timer); resolve(m); },
        onClose: (info) => { clearTimeout(w.timer); reject(new Error(`connection closed (${info.code} ${info.reason}) before ${what}; last messages: ${this.tail()}`)); },
      };
      w.timer = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`timed out after ${timeout} ms waiting for ${what}; last messages: ${this.tail()}`));
      }, timeout);
      this.waiters.push(w);
    });
  }

  /** Shorthand: the next notice of a type, optionally for one consult id (and state). */
  nextNotice(type, { consultId, state, timeout = DEFAULT_TIMEOUT_MS, where } = {}) {
    return this.next((m) => m.type === type && m.id === undefined &&
      (!consultId || (m.consult?.id ?? m.consult_id) === consultId) &&
      (!state || m.consult?.state === state) && (!where || where(m)),
    timeout, `${type}${consultId ? ` for ${consultId}` : ''}${state ? ` in state ${state}` : ''}`);
  }

  /** Messages received so far that match pred (consumed or not). */
  received(pred = () => true) {
    return this.log.filter(pred);
  }

  /** Marks everything received so far as handed out (next() only sees newer messages). */
  skipAll() {
    for (let i = 0; i < this.log.length; i++) this.consumed.add(i);
  }

  /**
   * A barrier: a ping round trip. The server handles each connection's
   * messages in order on one thread, so every notice caused by work finished
   * before the ping has been delivered once the pong arrives.
   */
  async barrier(timeout = DEFAULT_TIMEOUT_MS) {
    const r = await this.request({ type: 'ping' }, timeout);
    if (r.type !== 'pong') throw new Error(`barrier ping got ${JSON.stringify(r)}`);
    return r;
  }

  /** Waits for the close: { code, reason }. */
  waitClose(timeout = DEFAULT_TIMEOUT_MS) {
    return withTimeout(this.closed, timeout, 'the connection to close');
  }

  close(code = 1000, reason = '') {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, reason);
    return this.closed;
  }

  terminate() {
    this.ws.terminate();
  }

  tail(n = 5) {
    return JSON.stringify(this.log.slice(-n)).slice(0, 2000);
  }
}

// ---- realistic payloads -----------------------------------------------------------------

let patientSeq = 0;

/** A consult.request message body (without id); fields can be overridden. */
export function consultRequest(over = {}) {
  patientSeq++;
  return {
    type: 'consult.request',
    patient: { id: `SNILS 112-233-${String(445 + patientSeq).padStart(3, '0')} 95`, name: 'Иван Сидоров', birth_date: '1956-03-02' },
    specialty: 'cardiology',
    urgency: 'emergency',
    mode: 'realtime',
    reason: 'Chest pain for 2 hours, ST elevation in V2–V4.',
    ...over,
  };
}

/** Asserts a reply is ok and returns its consult (throws with the reply otherwise). */
export function okConsult(reply) {
  if (reply.type !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(reply)}`);
  return reply.consult;
}
