// diskfull.test.js — the disk fills during a recording (issue 8, "Faults"):
// the consult goes on, the recording is marked incomplete with a reason that
// says the disk is full, and nothing crashes; once there is room again a new
// recording of the same consult works.
//
//   cd tests && CONSILIUM_BIN=/work/main/build/consilium node --test e2e/diskfull.test.js
//
// As root, a small tmpfs is mounted in the test's own folder and given to the
// gateway as recording.dir; a filler file leaves only FREE_BYTES of it, which
// the call's capture fills a few seconds after the recording starts. Two
// Chromium pages are in the call (set up as in recording-file.test.js: the
// request, accept and recording messages go over WebSockets from node, each
// participant joins the call in the web client). When the disk is full:
// both participants are told (consult.updated: recording off, the file
// incomplete, its error naming the full disk), the pages' recording mark goes
// and the consult's details show why, the audit trail says why it stopped,
// media keeps flowing both ways for several seconds, chat still works, and
// the gateway keeps running. Then the filler is deleted and a second
// recording of the same consult is captured, post-processed and served as a
// WebM.
//
// Then the two faults at once: the disk fills again while another process
// (tests/tools/sqlite_lock, built next to the gateway by the Makefile's tools
// rule) holds the database's write lock for longer than the gateway waits for
// one write. Media keeps flowing meanwhile; the stop cannot be stored at
// first; once the lock goes it is stored and announced, and the consult's
// recording is off, not "on" for ever; the pages' call flows on (or, if their
// signalling went unanswered past the client's heartbeat, they rejoin and it
// flows again).
//
// The gateway must exit 0 on SIGTERM at the end. The tmpfs is unmounted in
// after(), whatever happened.
//
// Behaviour only: waits are bounded and generous; how long the disk took to
// fill, the capture's byte rate and what the pages received while the
// database was locked are printed with t.diagnostic. Skips, saying why, when
// not root, when mounting fails, or when chromium, ffmpeg or ffprobe (or,
// for the second case, sqlite_lock) is missing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Gateway, BIN, cleanup, okConsult, apiRequest, tempDir, sleep } from '../lib/gateway.js';
import { FFMPEG, FFPROBE, executable, makeTone, probe } from '../lib/avfile.js';
import { closeBrowsers, pageProblems, WEB_ROOT, CHROMIUM } from './lib/browser.js';
import { rtpSnapshot, until } from './lib/media.js';
import { newConsult, joinCall, pagesFlowing, serverConsult, recordingFile, captureTaking } from './lib/call.js';
import { LOCK_TOOL, lockDb, releaseLocks } from '../lib/sqlite-lock.js';

const WAIT = 30000;                 // UI steps; the machine may be busy
const MEDIA_WAIT = 25000;
const FULL_WAIT = 90000;            // the capture filling FREE_BYTES (a few seconds at the call's rate)
const SETTLE_WAIT = 90000;          // post-processing after a stop, at low priority
const TMPFS_BYTES = 32 << 20;
const FREE_BYTES = 384 << 10;       // what the filler leaves: a few seconds of the call
const FLOWING_MS = 6000;            // media watched after the disk filled
const SECOND_RECORDING_MS = 5000;
const LOCK_PAST_FULL_MS = 12000;    // the database stays locked this long after the disk filled (a write gives up after ~4 s)
const REJOIN_WAIT = 60000;          // the pages' calls coming back after the lock
const TONES = { clinician: 440, specialist: 660 };
const NO_SPACE = /No space left on device/;

const missing = [[CHROMIUM, 'chromium'], [FFMPEG, 'ffmpeg'], [FFPROBE, 'ffprobe']]
  .filter(([p]) => !executable(p)).map(([p, name]) => `${name} (${p})`);
let SKIP = missing.length ? `needs ${missing.join(', ')}: apt-get install -y chromium ffmpeg` : '';
if (!SKIP && process.getuid?.() !== 0) SKIP = 'mounting a tmpfs needs root (CI runs as root)';

let work;                           // temp folder: the tone files
let mountBase = '';                 // ours (not tempDir's): removed only once unmounted
let mnt = '';                       // the tmpfs: recording.dir
let mounted = false;
let gw = null;
let shared = null;                  // the first case's call, for the second
const wavs = {};
const clients = [];

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20000 });
  return { ok: r.status === 0, text: `${cmd} ${args.join(' ')}: ${r.error?.message ?? ''}${r.stderr ?? ''}`.trim() };
}

function unmount() {
  if (!mounted) return;
  // The gateway is gone by now; a lazy unmount is the last resort.
  for (const args of [[mnt], [mnt], ['-l', mnt]]) {
    if (run('umount', args).ok) { mounted = false; break; }
    spawnSync('sleep', ['0.5']);
  }
  if (mounted) throw new Error(`could not unmount ${mnt}`);
}

// Last resort when the test process dies with the tmpfs still mounted.
process.on('exit', () => { if (mounted) spawnSync('umount', ['-l', mnt]); });

/** The gateway with recording.dir on the tmpfs, media on loopback. */
function startGateway() {
  return Gateway.start({ set: { web_root: WEB_ROOT, 'media.addresses': '127.0.0.1', 'recording.dir': mnt }, timeout: 10000 });
}

const flowing = (pages) => pagesFlowing(pages, { timeout: MEDIA_WAIT });

/** The gateway, a consult (requested and accepted over WebSockets from node)
 *  and both participants in its call, each page with their tone as
 *  microphone: { consult, pages }. */
async function setUpCall() {
  gw = await startGateway();
  const consult = await newConsult(gw, clients);
  const join = (who) => joinCall(gw, `diskfull-${who}`, consult.tokens[who],
    { args: [`--use-file-for-fake-audio-capture=${wavs[who]}`], timeout: WAIT });
  const [clinician, specialist] = await Promise.all([join('clinician'), join('specialist')]);
  const pages = { clinician, specialist };
  await flowing(pages);
  return { consult, pages };
}

/** Bytes free on the tmpfs. */
function free() {
  const s = statfsSync(mnt);
  return Number(s.bavail) * s.bsize;
}

/** A filler file that leaves FREE_BYTES of the tmpfs (the gateway's own
 *  folders on it are tiny): its path. */
function fill(name) {
  const file = path.join(mnt, name);
  writeFileSync(file, Buffer.alloc(free() - FREE_BYTES, 0x5a));
  return file;
}

/** Asks to record; the clinician consents when asked (a consent holds for the
 *  consult). Resolves the new file once the capture takes the call's packets. */
async function startRecording(consult) {
  let rec = okConsult(await consult.spec.request({ type: 'recording.start', consult_id: consult.id })).recording;
  if (rec?.state === 'consent') {
    rec = okConsult(await consult.clin.request({ type: 'recording.consent', consult_id: consult.id, consent: true })).recording;
  }
  const file = recordingFile(rec);
  await captureTaking(gw, { timeout: WAIT });
  return file;
}

/** The consult.updated that tells a participant, unasked, that the recording
 *  of the file is off and the file incomplete. */
const stoppedNotice = (c, consultId, fileId) => c.nextNotice('consult.updated', {
  consultId, timeout: FULL_WAIT,
  where: (m) => m.consult.recording?.state === 'off' && m.consult.recording.files.some((f) => f.id === fileId && f.incomplete),
});

/** Polls until the file leaves recording/queued/processing: the file. */
async function settled(client, consultId, fileId) {
  let file;
  await until(async () => {
    file = (await serverConsult(client, consultId))?.recording?.files.find((f) => f.id === fileId);
    return file && (file.state === 'ready' || file.state === 'failed');
  }, { timeout: SETTLE_WAIT, interval: 500, what: () => `recording ${fileId} to be ready or failed (last: ${JSON.stringify(file)})` });
  return file;
}

/** Media keeps arriving in a page over ms: every remote audio stream gains
 *  packets and energy, every remote video stream gains packets and decoded frames. */
async function keepsFlowing(page, label, ms) {
  const first = await rtpSnapshot(page);
  await sleep(ms);
  const last = await rtpSnapshot(page);
  assert.ok(first && last, `${label}: the call is still in the page`);
  const base = new Map(first.inbound.map((r) => [r.id, r]));
  const grew = last.inbound.map((r) => {
    const b = base.get(r.id) ?? { packets: 0, frames: 0, energy: 0 };
    return { kind: r.kind, packets: r.packets - b.packets, frames: r.frames - b.frames, energy: r.energy - b.energy };
  });
  const audio = grew.filter((g) => g.kind === 'audio' && g.packets >= 25 && g.energy > 0);
  const video = grew.filter((g) => g.kind === 'video' && g.packets >= 25 && g.frames >= 10);
  assert.ok(audio.length >= 1 && video.length >= 1,
    `${label}: audio and video kept flowing for ${ms} ms after the disk filled: ${JSON.stringify(grew)} (ice ${last.ice}, ${last.conn})`);
  return grew;
}

before(async () => {
  if (SKIP) return;
  assert.ok(existsSync(BIN), `gateway binary missing: ${BIN} (make build, or set CONSILIUM_BIN)`);
  work = tempDir('consilium-diskfull-');
  for (const [who, hz] of Object.entries(TONES)) wavs[who] = await makeTone(path.join(work, `${who}-${hz}.wav`), { hz });
  mountBase = mkdtempSync(path.join(tmpdir(), 'consilium-diskfull-mnt-'));
  mnt = path.join(mountBase, 'recordings');
  mkdirSync(mnt);
  const m = run('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_BYTES},mode=0700`, 'tmpfs', mnt]);
  if (!m.ok) { SKIP = `cannot mount a tmpfs: ${m.text}`; return; }
  mounted = true;
});

after(async () => {
  await releaseLocks();
  for (const c of clients) c.terminate();
  await closeBrowsers();
  if (gw?.running) await gw.kill9();   // a failed test: nothing may hold the tmpfs
  try {
    unmount();
    if (mountBase) rmSync(mountBase, { recursive: true, force: true });
  } finally {
    await cleanup(); // removes the temp folders; fails if a gateway crashed by itself
  }
});

test('the disk fills during a recording: the consult goes on, the file is incomplete and says why, a new recording works once there is room', { timeout: 300000 }, async (t) => {
  if (SKIP) { t.skip(SKIP); return; }
  const { consult, pages } = await setUpCall();
  const { clinician, specialist } = pages;
  const filler = fill('filler-1');
  t.diagnostic(`tmpfs ${TMPFS_BYTES} bytes, filler ${statSync(filler).size}, free ${free()}`);

  for (const c of [consult.spec, consult.clin]) c.skipAll();
  const startedAt = Date.now();
  const started = await startRecording(consult);
  for (const page of Object.values(pages)) {
    await page.locator('.rec-bar[data-state="on"]').waitFor({ timeout: WAIT });
  }

  // The disk fills: each participant is told, unasked, that recording stopped and why.
  const [toSpec, toClin] = await Promise.all([stoppedNotice(consult.spec, consult.id, started.id), stoppedNotice(consult.clin, consult.id, started.id)]);
  const fullAfterMs = Date.now() - startedAt;
  const m = await gw.metrics();
  t.diagnostic(`the disk filled ${fullAfterMs} ms after the recording started (about ${Math.round(FREE_BYTES / fullAfterMs)} kB/s of capture); free now ${free()} bytes`);
  for (const n of [toSpec, toClin]) {
    assert.equal(n.consult.state, 'in_progress', 'the consult goes on');
    const f = n.consult.recording.files.find((x) => x.id === started.id);
    assert.equal(f.incomplete, true, JSON.stringify(f));
    assert.match(f.error ?? '', NO_SPACE, `the file says the disk is full: ${JSON.stringify(f)}`);
    assert.notEqual(f.state, 'recording', JSON.stringify(f));
    assert.equal(typeof f.stopped_at, 'number');
  }
  assert.ok(gw.running, 'the gateway is still running');
  assert.equal(m['consilium_recording_capture_failures_total'], 1, 'one capture failed on a write error (/metrics)');

  // The audit trail says who stopped it (the system) and why.
  const history = await consult.spec.request({ type: 'consult.history', consult_id: consult.id });
  assert.equal(history.type, 'consult.history', JSON.stringify(history).slice(0, 300));
  const stopEvent = history.events.find((e) => e.kind === 'recording_stopped');
  assert.ok(stopEvent, `a recording_stopped event: ${JSON.stringify(history.events.map((e) => e.kind))}`);
  assert.match(stopEvent.detail, NO_SPACE, JSON.stringify(stopEvent));
  assert.equal(stopEvent.actor, 'system', JSON.stringify(stopEvent));

  // The pages: the recording mark is gone.
  for (const [who, page] of Object.entries(pages)) {
    await page.locator('.rec-bar[data-state="off"]').waitFor({ state: 'attached', timeout: WAIT })
      .catch((e) => { throw new Error(`${who}: the recording mark stays (${e.message.split('\n')[0]})`); });
    assert.equal(await page.locator('.rec-mark').textContent(), '', `${who}: no recording mark`);
  }

  // The consult goes on: media both ways for several seconds, and chat.
  const grown = await Promise.all(Object.entries(pages).map(([who, page]) => keepsFlowing(page, who, FLOWING_MS)));
  t.diagnostic(`media in the ${FLOWING_MS} ms after the disk filled: ${JSON.stringify(grown)}`);
  consult.spec.skipAll();
  const said = await consult.clin.request({ type: 'chat.send', consult_id: consult.id, text: 'Do you still see the ECG? The recording stopped.' });
  assert.equal(said.type, 'ok', JSON.stringify(said));
  const heard = await consult.spec.next((x) => x.type === 'chat.message' && x.message?.id === said.message.id, WAIT, 'the chat message');
  assert.equal(heard.message.text, 'Do you still see the ECG? The recording stopped.');

  // What was saved ends ready (incomplete) or, with the disk still full,
  // failed; either way the file still says the disk was full.
  const first = await settled(consult.spec, consult.id, started.id);
  t.diagnostic(`the first file settled: ${JSON.stringify(first)}`);
  assert.equal(first.incomplete, true, JSON.stringify(first));
  assert.match(first.error ?? '', NO_SPACE, `the settled file still says the disk was full: ${JSON.stringify(first)}`);
  // The specialist's page shows it with the reason in the consult's details.
  await specialist.getByRole('tab', { name: 'Details' }).click({ timeout: WAIT });
  const row = specialist.locator('.rec-files-panel li.rec-file').first();
  await row.getByText(NO_SPACE).first().waitFor({ timeout: WAIT }).catch(async (e) => {
    throw new Error(`the page does not say why (${e.message.split('\n')[0]}): "${await row.textContent().catch(() => '')}"`);
  });
  assert.equal(await row.locator('.rec-incomplete-badge').count(), 1, 'marked incomplete in the page');

  // Room again: the filler goes; a new recording of the same consult works.
  unlinkSync(filler);
  t.diagnostic(`free after deleting the filler: ${free()} bytes`);
  await flowing(pages);
  const second = await startRecording(consult);
  await sleep(SECOND_RECORDING_MS);
  const stopped = okConsult(await consult.spec.request({ type: 'recording.stop', consult_id: consult.id }));
  assert.equal(stopped.recording.state, 'off');
  const done = await settled(consult.spec, consult.id, second.id);
  t.diagnostic(`the second file: ${JSON.stringify(done)}`);
  assert.equal(done.state, 'ready', JSON.stringify(done));
  assert.equal(done.incomplete, false, JSON.stringify(done));
  assert.equal(done.error, null);
  const got = await apiRequest(gw, { path: `/api/recordings/${done.id}`, headers: { Authorization: `Bearer ${consult.spec.token}` }, timeout: 30000 });
  assert.equal(got.status, 200, `GET /api/recordings/${done.id}: ${got.status}`);
  assert.equal(got.body.length, done.size);
  const webm = path.join(work, 'second.webm');
  writeFileSync(webm, got.body);
  const info = await probe(webm);
  assert.match(info.format.format_name, /(^|,)webm(,|$)/);
  assert.deepEqual(info.streams.map((s) => s.codec_name).sort(), ['opus', 'vp8'], JSON.stringify(info.streams));
  assert.ok(Number(info.format.duration) > 2, `the second recording holds its seconds: ${info.format.duration}`);
  assert.ok(gw.running, 'the gateway is still running');
  shared = { consult, pages };
});

test('the disk fills while the database is locked: the stop is stored once the lock goes, not lost', { timeout: 300000 }, async (t) => {
  if (SKIP) { t.skip(SKIP); return; }
  if (!existsSync(LOCK_TOOL)) { t.skip(`needs ${LOCK_TOOL} (tests/tools/sqlite_lock.c; the Makefile's integration target builds it)`); return; }
  const { consult, pages } = shared ?? await setUpCall();
  await flowing(pages);
  const filler = fill('filler-2');
  for (const c of [consult.spec, consult.clin]) c.skipAll();
  const started = await startRecording(consult);

  // Another process holds the database's write lock while the disk fills:
  // the gateway's first try to store the stop gives up (a write waits at
  // most about 4 s: gateway/storage/storage.c), so the lock is held well past that.
  const lock = await lockDb(path.join(gw.dataDir, 'consilium.db'), 'immediate', 5 * 60000);
  await until(() => free() === 0, { timeout: FULL_WAIT, what: 'the capture to fill the disk' });
  const fullAt = Date.now();
  // Media does not wait for the database: the media workers never touch it.
  const during = await Promise.all(Object.entries(pages).map(([who, page]) => keepsFlowing(page, who, FLOWING_MS)));
  t.diagnostic(`media while the database was locked and the disk full: ${JSON.stringify(during)}`);
  await sleep(Math.max(0, fullAt + LOCK_PAST_FULL_MS - Date.now()));
  assert.ok(lock.holding, 'the lock was held all that time');
  const released = await lock.release();
  assert.equal(released.code, 0, `the lock was held and released: ${JSON.stringify(released)}`);
  const releasedAt = Date.now();

  // The stop is stored and announced once the database is free again.
  const notices = await Promise.all([stoppedNotice(consult.spec, consult.id, started.id), stoppedNotice(consult.clin, consult.id, started.id)]);
  const retries = gw.stderr.split('\n').filter((l) => l.includes('the stop could not be stored yet')).length;
  t.diagnostic(`lock held ${released.heldMs} ms, ${releasedAt - fullAt} ms of it after the disk filled; the stop announced ${Date.now() - releasedAt} ms after the release; ` +
    `tries to store it that gave up while the lock was held: ${retries}`);
  for (const n of notices) {
    const f = n.consult.recording.files.find((x) => x.id === started.id);
    assert.match(f.error ?? '', NO_SPACE, JSON.stringify(f));
  }
  const now = await serverConsult(consult.spec, consult.id);
  assert.equal(now.recording.state, 'off', JSON.stringify(now.recording));
  const history = await consult.spec.request({ type: 'consult.history', consult_id: consult.id });
  const stops = history.events.filter((e) => e.kind === 'recording_stopped' && NO_SPACE.test(e.detail));
  assert.equal(stops.length, 2, `both disk-full stops are in the audit trail: ${JSON.stringify(stops)}`);
  assert.equal((await gw.metrics())['consilium_recording_capture_failures_total'], 2);
  const calls = await Promise.all(Object.values(pages).map((page) => rtpSnapshot(page).then((s) => s && `${s.ice}/${s.conn}`).catch((e) => e.message)));
  t.diagnostic(`the pages' calls (ice/connection) right after the lock: ${calls.join(', ')}`);
  // The signalling thread waits a few seconds for the database now and then
  // (gateway/storage/storage.c): the call flows on, or, should the web client
  // have given up on its heartbeat (no pong within 10 s), it rejoins by itself.
  const back0 = Date.now();
  await pagesFlowing(pages, { timeout: REJOIN_WAIT, when: 'after the lock' });
  t.diagnostic(`both pages' media flowed again ${Date.now() - back0} ms after that`);

  const last = await settled(consult.spec, consult.id, started.id);
  assert.match(last.error ?? '', NO_SPACE, JSON.stringify(last));
  unlinkSync(filler);
});

test('nothing crashed: the gateway exits 0 on SIGTERM', async (t) => {
  if (SKIP) { t.skip(SKIP); return; }
  assert.ok(gw?.running, 'the gateway is still running');
  await gw.stop();
});

test('no page errors, and no token in the console', (t) => {
  if (SKIP) { t.skip(SKIP); return; }
  assert.deepEqual(pageProblems, []);
});
