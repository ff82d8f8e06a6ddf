// signaling-ui.test.js — end-to-end test of the browser client's signalling UI
// (web/) against the real gateway binary, driven through Debian's chromium by
// playwright-core. Each user gets its own browser with a fresh profile.
//
//   node --test tests/e2e/          (CONSILIUM_BIN defaults to build/consilium)
//
// Covers: specialist goes available; clinician requests an emergency
// cardiology consult; the specialist's queue order; accept; state on both
// sides; Join → room with the other participant present; End → ended for both;
// coordinator sees an overdue request highlighted with an alert and assigns it;
// an invalid token → sign-in screen with a message; RU/EN switch; reconnect
// after a gateway restart. Screenshots of each main view go to
// tests/e2e/screenshots/ (1366×768).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
// DESIGN.md's flags (fake camera and microphone): the room pages start a call when the gateway has media.
import { CHROME_ARGS } from './lib/browser.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const BIN = process.env.CONSILIUM_BIN || path.join(repo, 'build', 'consilium');
const WEB_ROOT = path.join(repo, 'web');
const SHOTS = path.join(here, 'screenshots');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const VIEWPORT = { width: 1366, height: 768 };
const WAIT = 15000;

const PATIENT1 = { id: 'SNILS 112-233-445 95', name: 'Иван Сидоров', birth: '1956-03-02', reason: 'Chest pain for 2 hours, ST elevation in V2–V4.' };
const PATIENT3 = { id: 'POLICY 4455667788', name: 'Пётр Орлов', birth: '1961-07-14', reason: 'Palpitations since the morning, HR 150, BP 100/60.' };
const PATIENT4 = { id: 'MR-2024-0203', name: 'Ольга Белова', birth: '2019-05-30', reason: 'Heart murmur found at a routine check.' };
const PATIENT2 = { id: 'MR-2024-0117', name: 'Мария Кузнецова', birth: '1948-11-20', reason: 'Planned review of atrial fibrillation treatment.' };

let dataDir;
let port;
let base;
let gateway;
let gatewayLog = '';
const tokens = {};
const browsers = [];
const pageProblems = [];

// ---- helpers ------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port: p } = srv.address();
      srv.close(() => resolve(p));
    });
  });
}

function startGateway() {
  gateway = spawn(BIN, [
    '--port', String(port), '--data-dir', dataDir,
    '--set', `web_root=${WEB_ROOT}`,
    // A planned request turns "warning" after 2 s and "overdue" after 4 s,
    // so the coordinator's escalation view can be seen within the test.
    '--set', 'queue.planned.warn=2s', '--set', 'queue.planned.deadline=4s',
    // No clock-skew leeway, so a 4-second token really expires within the test.
    '--set', 'auth.leeway=0s',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  gateway.stdout.on('data', (d) => { gatewayLog += d; });
  gateway.stderr.on('data', (d) => { gatewayLog += d; });
  return waitForHealth();
}

async function waitForHealth() {
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    if (gateway.exitCode !== null) throw new Error(`gateway exited: ${gatewayLog}`);
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) return;
    } catch { /* not yet listening */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gateway did not become healthy: ${gatewayLog}`);
}

function stopGateway() {
  return new Promise((resolve) => {
    if (!gateway || gateway.exitCode !== null) return resolve();
    gateway.once('exit', () => resolve());
    gateway.kill('SIGTERM');
    setTimeout(() => { if (gateway.exitCode === null) gateway.kill('SIGKILL'); }, 5000);
  });
}

function mintToken({ role, name, subject, specialty, ttl }) {
  const args = ['token', '--data-dir', dataDir, '--role', role, '--tenant', 'kirov', '--name', name, '--subject', subject];
  if (specialty) args.push('--specialty', specialty);
  if (ttl) args.push('--ttl', ttl);
  return new Promise((resolve, reject) => {
    execFile(BIN, args, (err, stdout, stderr) => {
      if (err) reject(new Error(`token: ${stderr}`));
      else resolve(stdout.trim().split('\n').pop().trim());
    });
  });
}

/** A browser of its own (fresh profile) for one user, with an open page. */
async function openBrowser(label, { locale = 'en-GB' } = {}) {
  const profile = await mkdtemp(path.join(tmpdir(), `consilium-e2e-${label}-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: CHROME_ARGS, viewport: VIEWPORT, locale,
  });
  browsers.push({ context, profile });
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => pageProblems.push(`${label}: ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    for (const tok of Object.values(tokens)) if (tok && text.includes(tok)) pageProblems.push(`${label}: a token was logged`);
    // Failed WebSocket connects while the gateway restarts are expected.
    if (m.type() === 'error' && !/WebSocket connection|ERR_CONNECTION_REFUSED|Failed to load resource/.test(text)) {
      pageProblems.push(`${label}: console error: ${text}`);
    }
  });
  return page;
}

async function signIn(page, token) {
  await page.goto(`${base}/#token=${token}`);
  await page.locator('#hdr-conn[data-state="open"]').waitFor({ timeout: WAIT });
  assert.ok(!page.url().includes('token='), 'the token is removed from the address bar');
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

const card = (page, listSelector, text) => page.locator(`${listSelector} > li`, { hasText: text });

// ---- the pages of the main flow ---------------------------------------------------

let spec;
let clin;
let coord;

before(async () => {
  assert.ok(existsSync(BIN), `gateway binary missing: ${BIN} (make build, or set CONSILIUM_BIN)`);
  assert.ok(existsSync(CHROMIUM), `chromium missing: ${CHROMIUM} (apt-get install -y chromium)`);
  await mkdir(SHOTS, { recursive: true });
  dataDir = await mkdtemp(path.join(tmpdir(), 'consilium-e2e-data-'));
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  await startGateway();
  tokens.specialist = await mintToken({ role: 'specialist', name: 'Dr Elena Ivanova', subject: 'ivanova', specialty: 'cardiology' });
  tokens.clinician = await mintToken({ role: 'clinician', name: 'Фельдшер Анна Петрова', subject: 'petrova' });
  tokens.coordinator = await mintToken({ role: 'coordinator', name: 'Oleg Smirnov', subject: 'smirnov' });
  tokens.specialist2 = await mintToken({ role: 'specialist', name: 'Dr Pavel Sokolov', subject: 'sokolov', specialty: 'cardiology' });
  tokens.specialist3 = await mintToken({ role: 'specialist', name: 'Dr Irina Volkova', subject: 'volkova', specialty: 'cardiology' });
});

after(async () => {
  for (const b of browsers) {
    await b.context.close().catch(() => {});
    await rm(b.profile, { recursive: true, force: true }).catch(() => {});
  }
  await stopGateway();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('without a token the sign-in screen explains what to do', { timeout: 60000 }, async () => {
  const page = await openBrowser('anon');
  await page.goto(`${base}/`);
  await page.getByRole('heading', { name: 'Sign in to Consilium' }).waitFor({ timeout: WAIT });
  await page.getByText('Open the personal link your regional centre sent you').waitFor();
  await page.getByLabel('Or paste the link or the sign-in code here').waitFor();
  await shot(page, '01-signin');
});

test('an invalid token leads back to the sign-in screen with a message', { timeout: 60000 }, async () => {
  const page = await openBrowser('bad');
  await page.goto(`${base}/#token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bm90LWEtc2lnbmF0dXJl`);
  await page.getByRole('heading', { name: 'Sign in to Consilium' }).waitFor({ timeout: WAIT });
  await page.getByText('The sign-in link was not accepted').waitFor({ timeout: WAIT });
  assert.ok(!page.url().includes('token='), 'the bad token is gone from the address bar');
  const stored = await page.evaluate(() => sessionStorage.getItem('consilium.credentials'));
  assert.equal(stored, null, 'a refused token is not kept');
  await shot(page, '02-signin-refused');

  // Pasting something that is not a link says so, in words.
  await page.getByLabel('Or paste the link or the sign-in code here').fill('hello');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('This does not look like a sign-in link or code').waitFor();
});

test('a session whose token expires goes back to sign-in, and the old link is refused', { timeout: 60000 }, async () => {
  const token = await mintToken({ role: 'clinician', name: 'Short Session', subject: 'short', ttl: '4s' });
  tokens.short = token;
  const page = await openBrowser('expiring', { locale: 'ru-RU' });
  await signIn(page, token);
  await page.getByRole('heading', { name: 'Новый запрос на консультацию' }).waitFor(); // ru-RU browser → Russian
  await page.getByText('Сеанс завершён: истёк срок действия ссылки для входа').waitFor({ timeout: WAIT });
  await page.getByRole('heading', { name: 'Вход в Consilium' }).waitFor();
  assert.equal(await page.locator('#error-region').isHidden(), true, 'said once, on the sign-in screen');
  await shot(page, '02b-signin-session-expired-ru');
  await page.goto(`${base}/#token=${token}`);
  await page.getByText('Срок действия ссылки для входа истёк').waitFor({ timeout: WAIT });
});

test('specialist signs in and becomes available', { timeout: 60000 }, async () => {
  spec = await openBrowser('specialist');
  await signIn(spec, tokens.specialist);
  await spec.getByText('Dr Elena Ivanova').waitFor();
  const available = spec.getByRole('radio', { name: 'Available' });
  assert.equal(await spec.getByRole('radio', { name: 'Away' }).isChecked(), true, 'a specialist starts away');
  await spec.locator('label[for="presence-available"]').click();
  await spec.waitForFunction(() => document.querySelector('#presence-available')?.checked
    && !document.querySelector('.presence-switch[aria-busy]'), null, { timeout: WAIT });
  assert.equal(await available.isChecked(), true);
  await spec.getByText('You are not marked available').waitFor({ state: 'hidden' });
});

test('coordinator signs in and sees the specialist available', { timeout: 60000 }, async () => {
  coord = await openBrowser('coordinator');
  await signIn(coord, tokens.coordinator);
  await coord.locator('.spec-list li', { hasText: 'Dr Elena Ivanova' }).getByText('Available').waitFor({ timeout: WAIT });
});

test('clinician validates and submits requests', { timeout: 60000 }, async () => {
  clin = await openBrowser('clinician');
  await signIn(clin, tokens.clinician);
  await clin.getByRole('heading', { name: 'New consultation request' }).waitFor();

  // Empty submit: every required field is marked, focus goes to the first.
  await clin.getByRole('button', { name: 'Send request' }).click();
  await clin.getByText('Please correct the marked fields.').waitFor();
  assert.equal(await clin.getByLabel('Patient identifier').getAttribute('aria-invalid'), 'true');
  assert.equal(await clin.evaluate(() => document.activeElement.id), 'f-patient-name');
  await shot(clin, '03-clinician-validation');

  // A planned request first: with the shortened deadlines it becomes overdue.
  await fillRequest(clin, PATIENT2, 'Planned');
  await clin.getByRole('button', { name: 'Send request' }).click();
  await clin.getByText(`Request sent: ${PATIENT2.name}`).waitFor({ timeout: WAIT });

  await fillRequest(clin, PATIENT1, 'Emergency');
  await shot(clin, '04-clinician-form-filled');
  await clin.getByRole('button', { name: 'Send request' }).click();
  await clin.getByText(`Request sent: ${PATIENT1.name}`).waitFor({ timeout: WAIT });
  const row = card(clin, '.panel-list .cards', PATIENT1.name);
  await row.getByText('Offered to specialists').waitFor({ timeout: WAIT });
  // The deadline is two hours away: after 22:00 it is tomorrow, and says so ("23 Nov, 00:40").
  await row.getByText(/Accept by (\d{1,2} [A-Za-z]{3}, )?\d\d:\d\d: (1 h 5\d min|2 h) left/).waitFor();
  await shot(clin, '05-clinician-list');
});

async function fillRequest(page, p, urgency) {
  await page.getByLabel('Patient identifier').fill(p.id);
  await page.getByLabel('Full name').fill(p.name);
  await page.getByLabel('Date of birth').fill(p.birth);
  await page.getByLabel('Specialty').selectOption('cardiology');
  await page.getByRole('radio', { name: urgency }).check();
  await page.getByLabel('Reason for consultation').fill(p.reason);
}

test('specialist sees the queue in protocol order and accepts', { timeout: 60000 }, async () => {
  const queue = spec.locator('.panel-queue .cards > li');
  await card(spec, '.panel-queue .cards', PATIENT1.name).waitFor({ timeout: WAIT });
  await card(spec, '.panel-queue .cards', PATIENT2.name).waitFor({ timeout: WAIT });
  const texts = await queue.allTextContents();
  assert.ok(texts[0].includes(PATIENT1.name) && texts[0].includes('Emergency'), 'emergency first');
  assert.ok(texts[1].includes(PATIENT2.name) && texts[1].includes('Planned'), 'planned after it');
  const offer = card(spec, '.panel-queue .cards', PATIENT1.name);
  await offer.getByText(PATIENT1.reason).waitFor();
  await offer.getByText(/age \d+ years/).waitFor();
  await shot(spec, '06-specialist-queue');

  await spec.getByRole('button', { name: `Accept: ${PATIENT1.name}` }).click();
  const mine = card(spec, '.panel-mine .cards', PATIENT1.name);
  await mine.getByText('Accepted', { exact: true }).waitFor({ timeout: WAIT });
  // Presence is the specialist's own choice: accepting leaves it as it was.
  assert.equal(await spec.getByRole('radio', { name: 'Available' }).isChecked(), true);
  await shot(spec, '07-specialist-accepted');
});

test('clinician sees the request accepted', { timeout: 60000 }, async () => {
  const row = card(clin, '.panel-list .cards', PATIENT1.name);
  await row.getByText('Accepted', { exact: true }).waitFor({ timeout: WAIT });
  await row.getByText('Specialist: Dr Elena Ivanova').waitFor();
  await row.getByRole('button', { name: `Join: ${PATIENT1.name}` }).waitFor();
});

test('both join the room and see each other present', { timeout: 60000 }, async () => {
  await clin.getByRole('button', { name: `Join: ${PATIENT1.name}` }).click();
  await clin.getByRole('heading', { name: /Consultation room/ }).waitFor({ timeout: WAIT });
  await clin.locator('.room-status').getByText('You are in the room.').waitFor({ timeout: WAIT });

  await spec.getByRole('button', { name: `Join: ${PATIENT1.name}` }).click();
  await spec.getByRole('heading', { name: /Consultation room/ }).waitFor({ timeout: WAIT });
  // In the room the client sets the specialist busy (and the coordinator sees it).
  await spec.waitForFunction(() => document.querySelector('#presence-busy')?.checked, null, { timeout: WAIT });
  await coord.locator('.spec-list li', { hasText: 'Dr Elena Ivanova' }).getByText('Busy').waitFor({ timeout: WAIT });

  for (const [page, other] of [[clin, 'Dr Elena Ivanova'], [spec, 'Фельдшер Анна Петрова']]) {
    await page.locator('.call-participants li', { hasText: other }).getByText('in the room').waitFor({ timeout: WAIT });
    await page.locator('.call-head').getByText('In progress', { exact: true }).waitFor({ timeout: WAIT });
  }
  await coord.locator('.panel-live .cards > li', { hasText: PATIENT1.name }).getByText('In progress', { exact: true }).waitFor({ timeout: WAIT });
  await shot(clin, '08-call-clinician');
  await shot(spec, '09-call-specialist');
  await shot(coord, '10-coordinator-live');
});

test('specialist ends the consultation; both see it ended', { timeout: 60000 }, async () => {
  await spec.getByRole('button', { name: 'End consultation' }).click();
  const dialog = spec.getByRole('dialog');
  await dialog.getByText('The consultation for Иван Сидоров ends for all participants').waitFor();
  await shot(spec, '11-confirm-end');
  await dialog.getByRole('button', { name: 'End consultation' }).click();
  for (const page of [spec, clin]) {
    await page.locator('.room-status').getByText(/The consultation ended at \d\d:\d\d\./).waitFor({ timeout: WAIT });
    await page.locator('.call-head').getByText('Ended', { exact: true }).waitFor();
  }
  await shot(clin, '12-call-ended');
  await clin.getByRole('link', { name: 'Back to the list' }).first().click();
  await clin.getByRole('heading', { name: 'New consultation request' }).waitFor();
  await spec.getByRole('link', { name: 'Back to the list' }).first().click();
  await card(spec, '.panel-mine .finished .cards', PATIENT1.name).getByText('Ended', { exact: true }).waitFor({ state: 'attached' });
  // Out of the room: "available" again.
  await spec.waitForFunction(() => document.querySelector('#presence-available')?.checked, null, { timeout: WAIT });
  await coord.locator('.spec-list li', { hasText: 'Dr Elena Ivanova' }).getByText('Available').waitFor({ timeout: WAIT });
});

test('coordinator sees the overdue request and assigns it', { timeout: 60000 }, async () => {
  const row = card(coord, '.panel-queue .cards', PATIENT2.name);
  await row.getByText('Overdue: not accepted in time').waitFor({ timeout: WAIT });
  assert.match(await row.getAttribute('class'), /esc-row-overdue/);
  await coord.locator('.alert-list li', { hasText: PATIENT2.name }).first().waitFor({ timeout: WAIT });
  await shot(coord, '13-coordinator-overdue');

  await coord.getByRole('button', { name: `Assign: ${PATIENT2.name}` }).click();
  const dialog = coord.getByRole('dialog');
  await dialog.getByLabel('Specialist (Cardiology)').selectOption('ivanova');
  await shot(coord, '14-coordinator-assign');
  await dialog.getByRole('button', { name: 'Assign' }).click();
  const live = card(coord, '.panel-live .cards', PATIENT2.name);
  await live.getByText('Accepted', { exact: true }).waitFor({ timeout: WAIT });
  await live.getByText('Specialist: Dr Elena Ivanova').waitFor();
  // No longer queued: its alerts are gone.
  await coord.locator('.alert-list li', { hasText: PATIENT2.name }).first().waitFor({ state: 'detached', timeout: WAIT });
  await card(spec, '.panel-mine .cards', PATIENT2.name).waitFor({ timeout: WAIT });
});

test('a request taken by another specialist says so; Decline removes an offer', { timeout: 60000 }, async () => {
  // Sokolov's link to the gateway loses the "withdrawn" notices, so his
  // screen still offers a request that someone else has just accepted.
  const spec2 = await openBrowser('specialist2');
  await spec2.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => server.send(m));
    server.onMessage((m) => { if (!String(m).includes('"consult.withdrawn"')) ws.send(m); });
  });
  await signIn(spec2, tokens.specialist2);
  await spec2.locator('label[for="presence-available"]').click();
  await spec2.waitForFunction(() => document.querySelector('#presence-available')?.checked
    && !document.querySelector('.presence-switch[aria-busy]'), null, { timeout: WAIT });

  await fillRequest(clin, PATIENT3, 'Urgent');
  await clin.getByRole('button', { name: 'Send request' }).click();
  await clin.getByText(`Request sent: ${PATIENT3.name}`).waitFor({ timeout: WAIT });
  const offer = card(spec2, '.panel-queue .cards', PATIENT3.name);
  await offer.waitFor({ timeout: WAIT });
  const consultId = await offer.getAttribute('data-key');

  // Dr Volkova accepts it first, from a plain WebSocket in another page.
  const other = await openBrowser('specialist3');
  await other.goto(`${base}/`);
  const reply = await other.evaluate(([token, id]) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', id: 'h', token }));
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.id === 'h') ws.send(JSON.stringify({ type: 'consult.accept', id: 'a', consult_id: id }));
      if (m.id === 'a') { ws.close(); resolve(m.type); }
    };
    ws.onerror = () => reject(new Error('ws error'));
  }), [tokens.specialist3, consultId]);
  assert.equal(reply, 'ok');

  await spec2.getByRole('button', { name: `Accept: ${PATIENT3.name}` }).click();
  await spec2.getByRole('alert').getByText('Another specialist took this request.').waitFor({ timeout: WAIT });
  await offer.waitFor({ state: 'detached', timeout: WAIT });
  await shot(spec2, '21-specialist-taken');

  // Decline: confirm, then the offer leaves this specialist's queue.
  await fillRequest(clin, PATIENT4, 'Planned');
  await clin.getByRole('button', { name: 'Send request' }).click();
  await clin.getByText(`Request sent: ${PATIENT4.name}`).waitFor({ timeout: WAIT });
  await card(spec2, '.panel-queue .cards', PATIENT4.name).waitFor({ timeout: WAIT });
  await spec2.getByRole('button', { name: `Decline: ${PATIENT4.name}` }).click();
  await spec2.getByRole('dialog').getByRole('button', { name: 'Decline' }).click();
  await card(spec2, '.panel-queue .cards', PATIENT4.name).waitFor({ state: 'detached', timeout: WAIT });
});

test('an invited patient signs in with #invite= and joins their consult', { timeout: 60000 }, async () => {
  const consultId = await card(coord, '.panel-live .cards', PATIENT2.name).getAttribute('data-key');
  // The clinician invites the patient (no invite button in this UI yet: plain WebSocket).
  const helper = await openBrowser('inviter');
  await helper.goto(`${base}/`);
  const code = await helper.evaluate(([token, id, name]) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', id: 'h', token }));
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.id === 'h') ws.send(JSON.stringify({ type: 'consult.invite', id: 'i', consult_id: id, role: 'patient', name }));
      if (m.id === 'i') { ws.close(); if (m.type === 'invite') resolve(m.code); else reject(new Error(m.code)); }
    };
  }), [tokens.clinician, consultId, PATIENT2.name]);

  const guest = await openBrowser('guest');
  await guest.goto(`${base}/#invite=${code}`);
  await guest.locator('#hdr-conn[data-state="open"]').waitFor({ timeout: WAIT });
  assert.ok(!guest.url().includes(code), 'the invitation code is removed from the address bar');
  await guest.getByRole('heading', { name: 'Your consultation' }).waitFor();
  await shot(guest, '22-guest');
  await guest.getByRole('button', { name: 'Join' }).click();
  await guest.locator('.room-status').getByText('You are in the room.').waitFor({ timeout: WAIT });
  await guest.locator('.call-participants li', { hasText: PATIENT2.name }).getByText('in the room').waitFor();
  await coord.locator('.panel-live .cards > li', { hasText: PATIENT2.name })
    .locator('.participants li', { hasText: 'Patient' }).getByText('in the room').waitFor({ timeout: WAIT });
  // Back to the list leaves the room.
  await guest.getByRole('link', { name: 'Back to the list' }).first().click();
  await coord.locator('.panel-live .cards > li', { hasText: PATIENT2.name })
    .locator('.participants li', { hasText: 'Patient' }).getByText(/left at/).waitFor({ timeout: WAIT });
});

test('language switch shows Russian labels and is remembered', { timeout: 60000 }, async () => {
  await clin.getByRole('button', { name: 'Русский' }).click();
  await clin.getByRole('heading', { name: 'Новый запрос на консультацию' }).waitFor();
  await clin.getByLabel('Идентификатор пациента').waitFor();
  await clin.getByRole('radio', { name: 'Экстренная' }).waitFor();
  await clin.getByRole('heading', { name: 'Мои запросы' }).waitFor();
  assert.equal(await clin.evaluate(() => document.documentElement.lang), 'ru');
  await clin.reload();
  await clin.getByRole('heading', { name: 'Новый запрос на консультацию' }).waitFor({ timeout: WAIT });
  await clin.locator('#hdr-conn[data-state="open"]').waitFor({ timeout: WAIT });
  await card(clin, '.panel-list .cards', PATIENT2.name).getByText('Принята', { exact: true }).waitFor({ timeout: WAIT });
  await shot(clin, '15-clinician-ru');

  await spec.getByRole('button', { name: 'Русский' }).click();
  await spec.getByRole('heading', { name: /Запросы в очереди/ }).waitFor();
  await spec.getByRole('radio', { name: 'Доступен' }).waitFor();
  await shot(spec, '16-specialist-ru');
});

test('a narrow laptop screen still shows every control', { timeout: 60000 }, async () => {
  const narrow = { width: 1024, height: 640 };
  for (const [page, name] of [[clin, '18-narrow-clinician'], [spec, '19-narrow-specialist'], [coord, '20-narrow-coordinator']]) {
    await page.setViewportSize(narrow);
    await page.evaluate(() => window.scrollTo(0, 0));
    // Nothing may scroll sideways.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${name}: horizontal overflow of ${overflow}px`);
    await shot(page, name);
    await page.setViewportSize(VIEWPORT);
  }
});

test('after a gateway restart the client reconnects and says hello again', { timeout: 90000 }, async () => {
  await stopGateway();
  await coord.locator('#conn-banner').getByText('Connection to the centre lost.').waitFor({ timeout: WAIT });
  await shot(coord, '17-reconnecting');
  await startGateway();
  await coord.locator('#hdr-conn[data-state="open"]').waitFor({ timeout: 45000 });
  await coord.locator('#conn-banner').waitFor({ state: 'hidden' });
  await card(coord, '.panel-live .cards', PATIENT2.name).waitFor({ timeout: WAIT });
  // The gateway starts a new connection "away"; the client puts back the specialist's choice.
  await spec.locator('#hdr-conn[data-state="open"]').waitFor({ timeout: 45000 });
  await spec.waitForFunction(() => document.querySelector('#presence-available')?.checked
    && !document.querySelector('.presence-switch[aria-busy]'), null, { timeout: WAIT });
  await coord.locator('.spec-list li', { hasText: 'Dr Elena Ivanova' }).getByText('Available').waitFor({ timeout: WAIT });
  await clin.locator('#hdr-conn[data-state="open"]').waitFor({ timeout: 45000 });
});

test('no page errors, and no token in the console', () => {
  assert.deepEqual(pageProblems, []);
});
