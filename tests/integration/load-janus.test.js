// load-janus.test.js — the load tool against an independent WebRTC server:
// `consilium-load --target janus` drives a real Janus (the Debian package,
// VideoRoom over its WebSocket API) with synthetic peers publishing Opus and
// VP8 and subscribing to each other, and media must flow both ways with
// near-zero loss, matched latency and decodable frames. This is also the
// proof that our peers interoperate with a WebRTC stack we did not write.
// Janus and the tool run in a network namespace of their own (tests/lib/
// janus.js), so every packet stays on 127.0.0.0/8. Skipped, with the
// reason, where Janus is not installed or no namespace can be made.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';

import { tempDir, cleanup, eventually, withTimeout } from '../lib/gateway.js';
import { janusMissingReason, janusRooms, startJanus } from '../lib/janus.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const GATEWAY_BIN = process.env.CONSILIUM_BIN || path.resolve(here, '../../build/consilium');
const LOAD_BIN = path.join(path.dirname(GATEWAY_BIN), 'consilium-load');
const skip = janusMissingReason() ?? (fs.existsSync(LOAD_BIN) ? false : `${LOAD_BIN} not built`);

let janus;
after(async () => {
  if (janus) await janus.stop();
  await cleanup();
});

/** Runs consilium-load to completion: { code, stdout, stderr }. */
function runLoad(args, timeoutMs) {
  return withTimeout(new Promise((resolve, reject) => {
    const argv = janus.exec([LOAD_BIN, ...args]);   /* inside Janus's namespace */
    const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('error', reject);
    p.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  }), timeoutMs, 'consilium-load to finish');
}

test('consilium-load drives Janus VideoRoom: two consults publish and receive each other', { skip, timeout: 60000 }, async () => {
  janus = await startJanus();
  const out = path.join(tempDir('consilium-load-janus-'), 'janus.json');
  const r = await runLoad(['--target', 'janus', '--url', janus.url, '--bind', janus.ip,
    '--consults', '2', '--participants', '2', '--warmup', '1', '--duration', '4',
    '--json', out, '--quiet'], 45000);
  const context = `exit ${r.code} ${r.signal ?? ''}\nstderr:\n${r.stderr.slice(-3000)}\njanus log:\n${janus.logTail(3000)}`;
  assert.equal(r.code, 0, context);

  const report = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(report.target, 'janus');
  assert.equal(report.ok, true, context);
  assert.equal(report.setup.consults, 2);
  assert.equal(report.setup.ready, 2, JSON.stringify(report.setup));
  assert.equal(report.setup.failed, 0, JSON.stringify(report.setup));

  const w = report.window;
  assert.ok(w.audio.packets_received > 0, `audio packets received: ${JSON.stringify(w.audio)}`);
  assert.ok(w.video.packets_received > 0, `video packets received: ${JSON.stringify(w.video)}`);
  assert.ok(w.loss_percent < 1, `loss ${w.loss_percent} %`);
  assert.ok(w.latency_us.matched > 0, `latency matched: ${JSON.stringify(w.latency_us)}`);
  assert.ok(w.frames_decoded > 0, `frames decoded: ${w.frames_decoded}`);
  assert.equal(w.decode_errors, 0);

  // The tool ended its consults as a browser page would: the rooms it made are gone.
  await eventually(async () => {
    const left = janusRooms(janus).filter((room) => /^consilium-load /.test(room.description ?? ''));
    assert.deepEqual(left, []);
  }, { timeout: 5000, interval: 200 });
  assert.ok(janus.running(), `Janus exited during the run; log:\n${janus.logTail(3000)}`);
});
