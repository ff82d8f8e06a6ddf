// load.js — running consilium-load (tests/load/) against a test gateway and
// reading its JSON report, for the integration tests that drive synthetic
// peers (load.test.js, hostile-media.test.js).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { BIN, tempDir, withTimeout } from './gateway.js';

export const LOAD = path.join(path.dirname(BIN), 'consilium-load');

/** Runs consilium-load to the end: { status, stdout, stderr, report (the JSON), why }. */
export async function runLoad(gw, args, { secret = path.join(gw.dataDir, 'jwt-secret'), timeout = 45000 } = {}) {
  const json = path.join(tempDir('consilium-load-'), 'report.json');
  const argv = ['--url', gw.wsUrl, '--secret', secret, '--warmup', '1', '--setup-timeout', '15',
    '--server-pid', String(gw.pid), '--json', json, ...args];
  const proc = spawn(LOAD, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  proc.stdout.on('data', (d) => { stdout += d; });
  proc.stderr.on('data', (d) => { stderr += d; });
  const status = await withTimeout(new Promise((resolve, reject) => {
    proc.on('error', reject);
    proc.on('exit', (code, signal) => resolve(signal ? `signal ${signal}` : code));
  }), timeout, `consilium-load ${argv.join(' ')}`).catch((e) => { proc.kill('SIGKILL'); throw e; });
  const report = fs.existsSync(json) ? JSON.parse(fs.readFileSync(json, 'utf8')) : null;
  return { status, stdout, stderr, report, why: `exit ${status}\n${stdout}\n${stderr.slice(-3000)}` };
}

/** The window's media went through: both kinds received, under 1 % lost
 * after recovery, latencies matched, frames decoded without error. */
export function assertMediaFlowed(w, why) {
  for (const kind of ['audio', 'video']) {
    assert.ok(w[kind].packets_received > 0, `${kind} received: ${why}`);
    assert.ok(w[kind].loss_percent < 1, `${kind} loss ${w[kind].loss_percent} %: ${why}`);
    assert.ok(w[kind].latency_us.matched > 0, `${kind} latency matched: ${why}`);
  }
  assert.equal(w.packets_received, w.audio.packets_received + w.video.packets_received);
  assert.ok(w.loss_percent < 1, why);
  assert.ok(w.latency_us.matched > 0 && w.latency_us.p50 > 0 && w.latency_us.p99 >= w.latency_us.p50, why);
  assert.ok(w.frames_decoded > 0, `frames decoded: ${why}`);
  assert.equal(w.decode_errors, 0, why);
}
