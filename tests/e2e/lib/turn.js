// lib/turn.js — coturn (Debian's /usr/bin/turnserver) on loopback for the
// TURN tests: REST-API shared secret (the scheme the gateway's TURN
// credentials follow), UDP only, no TLS/DTLS/CLI, a free listening port and a
// small relay port range, its database and pid file in a temporary folder.
// Ready once it answers a STUN Binding request; stop() sends SIGTERM (SIGKILL
// after 5 s) and removes the folder.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const TURNSERVER = process.env.TURNSERVER_BIN || '/usr/bin/turnserver';

/** A free UDP port on 127.0.0.1. */
function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** Resolves true when a STUN Binding request to 127.0.0.1:port gets a success response. */
export function stunBinding(port, timeout = 500) {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const tid = crypto.randomBytes(12);
    const req = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]), tid]);
    const done = (ok) => { clearTimeout(timer); s.close(); resolve(ok); };
    const timer = setTimeout(() => done(false), timeout);
    s.on('message', (m) => done(m.length >= 20 && m.readUInt16BE(0) === 0x0101 && m.subarray(8, 20).equals(tid)));
    s.on('error', () => done(false));
    s.send(req, port, '127.0.0.1');
  });
}

/**
 * Starts coturn; resolves { port, secret, url, log(), stop() }.
 * The url is what the gateway hands out: turn:127.0.0.1:PORT?transport=udp.
 */
export async function startTurn({ secret = crypto.randomBytes(16).toString('hex'), timeout = 10000 } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'consilium-turn-'));
  const port = await freeUdpPort(); // UDP only: the TCP listener is off (--no-tcp)
  const minPort = 49152 + Math.floor(Math.random() * 14000);
  const args = ['-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${port}`,
    `--min-port=${minPort}`, `--max-port=${minPort + 200}`,
    '--use-auth-secret', `--static-auth-secret=${secret}`, '--realm=consilium',
    '--no-tls', '--no-dtls', '--no-tcp', '--no-cli', '--allow-loopback-peers', '--no-multicast-peers',
    '--no-software-attribute', '--log-file=stdout', '--simple-log',
    `--pidfile=${path.join(dir, 'turnserver.pid')}`, `--db=${path.join(dir, 'turndb')}`];
  const proc = spawn(TURNSERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d) => { out += d; if (out.length > 200000) out = out.slice(-100000); };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  proc.on('error', (e) => keep(`spawn failed: ${e.message}\n`));
  let running = true;
  exited.then(() => { running = false; });

  const stop = async () => {
    if (running) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => { if (running) proc.kill('SIGKILL'); }, 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const end = Date.now() + timeout;
  while (!(await stunBinding(port))) {
    if (!running || Date.now() > end) {
      await stop();
      throw new Error(`turnserver did not answer STUN on 127.0.0.1:${port}; its log:\n${out.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port, secret, proc,
    url: `turn:127.0.0.1:${port}?transport=udp`,
    get running() { return running; },
    exited,
    log: () => out,
    stop,
  };
}
