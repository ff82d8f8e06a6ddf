// signaling.js — WebSocket client for the Consilium signalling protocol v1
// (docs/PROTOCOL.md). Connects to /ws of the page's own host, says hello with
// a token or an invitation code, matches replies to requests by id, re-emits
// notices as events, checks the link with ping, and reconnects with
// exponential backoff and a fresh hello (whose welcome replaces all state).
//
// Events (CustomEvent, details in brackets):
//   status   {state: 'connecting'|'open'|'reconnecting'|'stopped', attempt, retryAt, reason}
//   welcome  {msg}            — every successful hello (first and after reconnects)
//   notice   {msg}            — a server message without id (consult.updated, presence, …)
//   autherror {code, closeCode} — the credentials were refused or expired: stop, sign in again
//   error    {code, message}  — an error reply nobody was waiting for
// Credentials are never logged and never leave this module except in hello.

export const PROTOCOL_VERSION = 1;
const REQUEST_TIMEOUT_MS = 15000;
const PING_EVERY_MS = 20000;
const PONG_WITHIN_MS = 10000;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;

/** An error reply (protocol code) or a client-side failure (offline, timeout, disconnected). */
export class SignalingError extends Error {
  constructor(code, message, requestType, field) {
    super(message || code);
    this.name = 'SignalingError';
    this.code = code;
    this.requestType = requestType;
    this.field = field || null; // an `invalid` reply's offending field path
  }
}

export function defaultUrl() {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

export class SignalingClient extends EventTarget {
  /** credentials: {token} or {invite}. */
  constructor(credentials, { url = defaultUrl() } = {}) {
    super();
    this.url = url;
    this.credentials = credentials;
    this.ws = null;
    this.state = 'idle';
    this.authenticated = false;
    this.nextId = 1;
    this.pending = new Map();
    this.attempt = 0;
    this.retryTimer = null;
    this.retryAt = 0;
    this.pingTimer = null;
    this.pongTimer = null;
    this.clockOffset = 0; // server_time - local time, ms
    this.onOnline = () => { if (this.state === 'reconnecting') this.retryNow(); };
  }

  start() {
    if (this.state !== 'idle' && this.state !== 'stopped') return;
    window.addEventListener('online', this.onOnline);
    this.connect();
  }

  /** Closes for good (sign-out, refused credentials). */
  stop(code = 1000) {
    this.setState('stopped');
    window.removeEventListener('online', this.onOnline);
    clearTimeout(this.retryTimer);
    this.stopHeartbeat();
    this.failPending('disconnected');
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      try { ws.close(code); } catch { /* already closing */ }
    }
  }

  /** The server's clock now, from the offset measured at welcome/state/pong. */
  serverNow() {
    return Date.now() + this.clockOffset;
  }

  get isOpen() {
    return this.state === 'open';
  }

  /**
   * Sends {type, id, ...fields}; resolves with the reply (ok, state, pong,
   * invite, consult.history, media.answer), rejects with a SignalingError. Nothing is queued
   * while disconnected: an action must not be replayed behind the user's back.
   */
  request(type, fields = {}) {
    if (!this.isOpen || !this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new SignalingError('offline', 'not connected', type));
    }
    return this.send(type, fields);
  }

  /** Retry at once instead of waiting for the backoff timer. */
  retryNow() {
    if (this.state !== 'reconnecting') return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  // ---- internals -------------------------------------------------------------

  send(type, fields) {
    const id = `r${this.nextId++}`;
    const msg = { type, id, ...fields };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SignalingError('timeout', 'no reply', type));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer, type, sentAt: Date.now() });
      try {
        this.ws.send(JSON.stringify(msg));
      } catch {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new SignalingError('offline', 'send failed', type));
      }
    });
  }

  setState(state, extra = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent('status', { detail: { state, attempt: this.attempt, retryAt: this.retryAt, ...extra } }));
  }

  connect() {
    if (this.state === 'stopped') return;
    this.authenticated = false;
    if (this.state !== 'reconnecting') this.setState('connecting');
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect('1006');
      return;
    }
    this.ws = ws;
    ws.addEventListener('open', () => { if (this.ws === ws) this.hello(); });
    ws.addEventListener('message', (ev) => { if (this.ws === ws) this.onMessage(ev.data); });
    ws.addEventListener('close', (ev) => { if (this.ws === ws) this.onClose(ev.code, ev.reason); });
    // 'error' is always followed by 'close'; nothing to do here.
  }

  async hello() {
    const fields = this.credentials.invite ? { invite: this.credentials.invite } : { token: this.credentials.token };
    const sentAt = Date.now();
    let msg;
    try {
      msg = await this.send('hello', fields);
    } catch (err) {
      if (err.code === 'unauthenticated' || err.code === 'expired' || err.code === 'invalid') {
        this.dispatchEvent(new CustomEvent('autherror', { detail: { code: err.code === 'expired' ? 'expired' : 'unauthenticated' } }));
        this.stop(1000);
      } else if (this.ws) {
        // e.g. 'limit' or a timeout: drop this connection and try again later.
        this.dropConnection(err.code);
      }
      return;
    }
    if (msg.type !== 'welcome') return;
    this.measureClock(msg.server_time, sentAt);
    this.authenticated = true;
    this.attempt = 0;
    this.setState('open');
    this.startHeartbeat();
    this.dispatchEvent(new CustomEvent('welcome', { detail: { msg } }));
  }

  measureClock(serverTime, sentAt) {
    if (typeof serverTime !== 'number') return;
    const now = Date.now();
    this.clockOffset = serverTime - (sentAt + now) / 2;
  }

  onMessage(data) {
    if (typeof data !== 'string') return;
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;
    if (typeof msg.id === 'string' && this.pending.has(msg.id)) {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.type === 'state') this.measureClock(msg.server_time, p.sentAt);
      if (msg.type === 'error') p.reject(new SignalingError(msg.code, msg.message, p.type, msg.field));
      else p.resolve(msg);
      return;
    }
    if (msg.type === 'error') {
      this.dispatchEvent(new CustomEvent('error', { detail: { code: msg.code, message: msg.message } }));
      return;
    }
    if (msg.id === undefined) this.dispatchEvent(new CustomEvent('notice', { detail: { msg } }));
  }

  onClose(code, reason) {
    this.ws = null;
    this.stopHeartbeat();
    this.failPending('disconnected');
    if (this.state === 'stopped') return;
    if (code === 4001 || code === 4003) {
      // 4001: the hello was refused (normally already reported by the error reply);
      // 4003: the token expired during the session.
      const expired = code === 4003 || /expired/i.test(reason || '');
      this.dispatchEvent(new CustomEvent('autherror', { detail: { code: expired ? 'expired' : 'unauthenticated', closeCode: code } }));
      this.stop(1000);
      return;
    }
    this.scheduleReconnect(String(code));
  }

  dropConnection(reason) {
    const ws = this.ws;
    this.ws = null;
    this.stopHeartbeat();
    this.failPending('disconnected');
    try { ws.close(4000); } catch { /* ignore */ }
    this.scheduleReconnect(reason);
  }

  scheduleReconnect(reason) {
    if (this.state === 'stopped') return;
    this.attempt += 1;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (this.attempt - 1));
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.retryAt = Date.now() + delay;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.setState('reconnecting', { reason });
  }

  failPending(code) {
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new SignalingError(code, code, p.type));
    }
    this.pending.clear();
  }

  startHeartbeat() {
    this.stopHeartbeat();
    this.pingTimer = setInterval(() => {
      if (!this.isOpen) return;
      const sentAt = Date.now();
      this.pongTimer = setTimeout(() => this.dropConnection('heartbeat'), PONG_WITHIN_MS);
      this.send('ping', {}).then((pong) => {
        clearTimeout(this.pongTimer);
        this.measureClock(pong.server_time, sentAt);
      }, () => { /* a failure is handled by the pong timer or the close */ });
    }, PING_EVERY_MS);
  }

  stopHeartbeat() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = null;
    this.pongTimer = null;
  }
}
