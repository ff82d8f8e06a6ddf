// recording.test.js — recording a consultation through the browser client
// (web/js/recording.js) against the real gateway binary, in Debian's chromium
// with fake camera and microphone (PROTOCOL.md "Recording"):
//
//   CONSILIUM_BIN=$PWD/build/consilium node --test tests/e2e/recording.test.js
//   (RECORDING_SHOTS=/tmp/some-dir also saves screenshots of the dialog and the mark)
//
// (1) A clinician and a specialist in a call (Russian); the clinician has no
// Record button, the specialist presses it; the clinician is asked in a modal
// dialog (focus on the refusal, Tab kept inside), consents with the keyboard;
// both see the red "Идёт запись" mark, the coordinator's card a "запись"
// badge. The patient is invited and joins late (English): they are asked,
// the others see them as not recorded until they consent. After a few seconds
// of media the specialist stops; the recording is post-processed by the
// gateway and reaches "готово" in the consult's details for the specialist
// and the clinician; its player, fed by the link the client fetched with its
// Authorization header, plays more than four seconds of video; the download
// link is that file.
// (2) Another consult where the clinician refuses: nothing records (the
// server's consult says off, no file), the specialist reads who refused and
// may ask again.
// Behaviour only: every wait is bounded, nothing asserts how long anything took.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Gateway, BIN, cleanup, okConsult, sleep } from '../lib/gateway.js';
import { openBrowser, closeBrowsers, pageProblems, WEB_ROOT, CHROMIUM } from './lib/browser.js';
import { until } from './lib/media.js';
import { USERS, PATIENT } from './lib/people.js';
import { newConsult, pagesFlowing, serverConsult } from './lib/call.js';

const WAIT = 15000;
const MEDIA_WAIT = 25000;
const READY_WAIT = 60000;   // post-processing runs in the gateway after the stop
const SHOTS = process.env.RECORDING_SHOTS || '';

let gw;
const clients = [];

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** A participant's browser, signed in with their link, on their list. */
async function signedIn(label, { token, invite, locale = 'ru-RU' }) {
  const page = await openBrowser(label, { locale, secrets: [token, invite] });
  await page.goto(`${gw.httpUrl}/#${token ? `token=${token}` : `invite=${invite}`}`);
  await page.locator('#hdr-conn[data-state="open"]').waitFor({ timeout: WAIT });
  return page;
}

/** Presses Join in the list and waits for the room and the call's peer connection. */
async function enterRoom(page, label, { guest = false, locale = 'ru-RU' } = {}) {
  const ru = locale.startsWith('ru');
  const join = guest
    ? page.getByRole('button', { name: ru ? 'Подключиться' : 'Join', exact: true })
    : page.getByRole('button', { name: `${ru ? 'Подключиться' : 'Join'}: ${PATIENT}` });
  await join.first().click({ timeout: WAIT });
  await page.locator('.room-status').getByText(ru ? 'Вы в комнате.' : 'You are in the room.').waitFor({ timeout: WAIT });
  await page.waitForFunction(() => !!window.consiliumCall?.pc, null, { timeout: MEDIA_WAIT }).catch(async (e) => {
    const media = await page.locator('.media-slot').textContent().catch(() => '');
    throw new Error(`${label}: no peer connection (${e.message}); the media panel says: ${media}`);
  });
  return page;
}

async function joinCall(label, { token, locale = 'ru-RU' }) {
  return enterRoom(await signedIn(label, { token, locale }), label, { locale });
}

/** The red mark: a status whose whole text is "● <text>" (announcements may hold the word too). */
const mark = (page, text) => page.getByRole('status').filter({ hasText: new RegExp(`^●\\s*${text}$`) });
const consentDialog = (page, name) => page.getByRole('dialog', { name });
const bar = (page) => page.locator('.rec-bar');
const focusedText = (page) => page.evaluate(() => document.activeElement?.textContent?.trim() || '');

before(async () => {
  assert.ok(existsSync(BIN), `gateway binary missing: ${BIN} (make build, or set CONSILIUM_BIN)`);
  assert.ok(existsSync(CHROMIUM), `chromium missing: ${CHROMIUM} (apt-get install -y chromium)`);
  if (SHOTS) await mkdir(SHOTS, { recursive: true });
  gw = await Gateway.start({ set: { web_root: WEB_ROOT, 'media.addresses': '127.0.0.1' }, timeout: 10000 });
});

after(async () => {
  for (const c of clients) c.terminate();
  await closeBrowsers();
  await cleanup(); // fails if the gateway crashed meanwhile
});

test('(1) consent from everyone, the mark for all, a late joiner asked, the recording plays', { timeout: 240000 }, async () => {
  try {
    await recordWithConsent();
  } finally {
    await closeBrowsers(); // four browsers: the next test starts with none
  }
});

async function recordWithConsent() {
  const consult = await newConsult(gw, clients);
  const invite = await consult.clin.request({ type: 'consult.invite', consult_id: consult.id, role: 'patient', name: PATIENT });
  assert.equal(invite.type, 'invite', JSON.stringify(invite));

  const clin = await joinCall('clinician', { token: consult.tokens.clinician });
  const spec = await joinCall('specialist', { token: consult.tokens.specialist });
  await pagesFlowing({ clinician: clin, specialist: spec }, { timeout: MEDIA_WAIT });
  const coordToken = gw.token(USERS.coordinator);
  const coord = await openBrowser('coordinator', { locale: 'ru-RU', secrets: [coordToken] });
  await coord.goto(`${gw.httpUrl}/#token=${coordToken}`);
  const coordCard = coord.locator('.panel-live li.card', { hasText: PATIENT });
  await coordCard.waitFor({ timeout: WAIT });
  // The patient, invited, waits on their list (English) and joins once recording is on.
  const patient = await signedIn('patient', { invite: invite.code, locale: 'en-GB' });

  // Only the consult's specialist (and coordinators) may ask.
  const record = spec.getByRole('button', { name: 'Записать консультацию' });
  await record.waitFor({ timeout: WAIT });
  assert.equal(await clin.getByRole('button', { name: 'Записать консультацию' }).count(), 0);
  await record.click();

  // The specialist waits for the clinician; the clinician is asked.
  await bar(spec).getByText('Ожидается согласие: Фельдшер Анна Петрова').waitFor({ timeout: WAIT });
  await bar(clin).getByText('Ожидается согласие: Фельдшер Анна Петрова').waitFor({ timeout: WAIT });
  const dialog = consentDialog(clin, 'Запись консультации');
  await dialog.waitFor({ timeout: WAIT });
  await dialog.getByText('Dr Elena Ivanova просит записать эту консультацию.').waitFor();
  await dialog.getByText(/шифруется и хранится вместе с консультацией.*участники консультации и координаторы центра/).waitFor();
  assert.equal(await focusedText(clin), 'Не согласен', 'the refusal has the focus');
  await clin.keyboard.press('Tab');
  assert.equal(await focusedText(clin), 'Согласен');
  await clin.keyboard.press('Tab');
  assert.equal(await focusedText(clin), 'Не согласен', 'Tab stays inside the dialog');
  await clin.keyboard.press('Shift+Tab');
  assert.equal(await focusedText(clin), 'Согласен');
  await shot(clin, 'rec-01-consent-dialog');
  await clin.keyboard.press('Enter');
  await dialog.waitFor({ state: 'hidden', timeout: WAIT });

  // Recording: everyone in the room sees the red mark; the coordinator's card has a badge.
  for (const page of [clin, spec]) await mark(page, 'Идёт запись').waitFor({ timeout: WAIT });
  assert.equal(await bar(spec).getAttribute('data-state'), 'on');
  await coordCard.locator('.rec-badge', { hasText: 'запись' }).waitFor({ timeout: WAIT });
  assert.equal(await spec.getByRole('button', { name: 'Записать консультацию' }).count(), 0);
  await shot(spec, 'rec-02-mark-specialist');
  const on = await serverConsult(consult.spec, consult.id);
  assert.equal(on.recording?.state, 'on', JSON.stringify(on.recording));

  // A late joiner is asked; until they answer, the others see them as not recorded.
  await enterRoom(patient, 'patient', { guest: true, locale: 'en-GB' });
  const late = consentDialog(patient, 'Recording the consultation');
  await late.waitFor({ timeout: WAIT });
  await late.getByText('Dr Elena Ivanova asks to record this consultation.').waitFor();
  await late.getByText(/until you consent, your video and sound are not recorded/).waitFor();
  await bar(spec).getByText(`Не записываются: ${PATIENT} (ожидается согласие)`).waitFor({ timeout: WAIT });
  await mark(patient, 'Recording').waitFor({ timeout: WAIT }); // the mark is for everyone, asked or not
  await shot(patient, 'rec-03-late-joiner-dialog');
  await late.getByRole('button', { name: 'I consent' }).click();
  await late.waitFor({ state: 'hidden', timeout: WAIT });
  await until(async () => (await bar(spec).getByText('Не записываются').count()) === 0,
    { timeout: WAIT, what: 'the patient no longer listed as not recorded' });
  const given = await serverConsult(consult.spec, consult.id);
  assert.deepEqual(given.recording.consents.map((x) => x.answer).sort(), ['given', 'given', 'given']);

  // A few more seconds of media, then the specialist stops.
  await sleep(6000);
  await spec.getByRole('button', { name: 'Остановить запись' }).click();
  for (const page of [clin, spec]) {
    await until(async () => (await mark(page, 'Идёт запись').count()) === 0, { timeout: WAIT, what: 'the mark gone' });
  }
  await until(async () => (await coordCard.locator('.rec-badge').count()) === 0, { timeout: WAIT, what: 'the card badge gone' });
  // Fewer browsers while the gateway post-processes (two cores are enough for two).
  await patient.context().close();
  await coord.context().close();

  // The recording, in the consult's details: post-processed, then ready with a player.
  await spec.getByRole('tab', { name: 'Сведения' }).click();
  const files = spec.locator('.rec-files-panel');
  await files.getByRole('heading', { name: 'Записи' }).waitFor({ timeout: WAIT });
  const row = files.locator('li.rec-file').first();
  await row.getByText('Запись 1').waitFor();
  await row.getByText(/^готово \d+:\d\d, [\d\s,]+ (КБ|МБ)$/).waitFor({ timeout: READY_WAIT }).catch(async (e) => {
    const server = await serverConsult(consult.spec, consult.id).catch((err) => ({ error: err.message }));
    throw new Error(`the recording is not ready (${e.message.split('\n')[0]}); the page says "${await row.locator('.rec-file-state').textContent()}"; `
      + `the server's files: ${JSON.stringify(server?.recording?.files ?? server)}; `
      + `the gateway's log about it: ${gw.stderr.split('\n').filter((l) => /record|postproc/i.test(l)).slice(-15).join('\n')}`);
  });
  const video = row.locator('video');
  await video.scrollIntoViewIfNeeded(); // the link is fetched (and audited) once the player is in view
  await until(async () => /^\/api\/recordings\/[^/?]+\?access=/.test(await video.getAttribute('src') || ''),
    { timeout: WAIT, what: 'the player pointed at a recording link' });
  const src = await video.getAttribute('src');
  assert.equal(await row.getByRole('link', { name: /Скачать запись 1/ }).getAttribute('href'), src);
  assert.match(await row.getByRole('link', { name: /Скачать запись 1/ }).getAttribute('download'), /\.webm$/);
  const played = await video.evaluate(async (v) => {
    v.muted = true;
    await v.play();
    const end = Date.now() + 15000;
    while (Date.now() < end && !(v.readyState >= 2 && v.currentTime > 0.5)) await new Promise((r) => setTimeout(r, 200));
    return { readyState: v.readyState, duration: v.duration, currentTime: v.currentTime, width: v.videoWidth, error: v.error?.code ?? null };
  });
  assert.ok(played.readyState >= 2 && played.error === null, `the player plays: ${JSON.stringify(played)}`);
  assert.ok(played.duration > 4 && played.width > 0, `more than four seconds of video: ${JSON.stringify(played)}`);
  await shot(spec, 'rec-04-recordings');

  // A participant who did not ask sees it too.
  await clin.getByRole('tab', { name: 'Сведения' }).click();
  await clin.locator('.rec-files-panel li.rec-file').getByText(/^готово /).waitFor({ timeout: WAIT });

  const done = await serverConsult(consult.spec, consult.id);
  assert.equal(done.recording.state, 'off');
  assert.equal(done.recording.files.length, 1);
  assert.equal(done.recording.files[0].state, 'ready');
  okConsult(await consult.clin.request({ type: 'consult.end', consult_id: consult.id }));
}

test('(2) a refusal: nothing is recorded', { timeout: 120000 }, async () => {
  const consult = await newConsult(gw, clients);
  const clin = await joinCall('clinician-2', { token: consult.tokens.clinician });
  const spec = await joinCall('specialist-2', { token: consult.tokens.specialist });
  await pagesFlowing({ clinician: clin, specialist: spec }, { timeout: MEDIA_WAIT });
  await spec.getByRole('button', { name: 'Записать консультацию' }).click();
  const dialog = consentDialog(clin, 'Запись консультации');
  await dialog.waitFor({ timeout: WAIT });
  await dialog.getByRole('button', { name: 'Не согласен' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: WAIT });

  await bar(spec).getByText('Запись не начата — не дали согласия: Фельдшер Анна Петрова.').waitFor({ timeout: WAIT });
  await spec.getByRole('button', { name: 'Записать консультацию' }).waitFor({ timeout: WAIT }); // may ask again
  for (const page of [clin, spec]) assert.equal(await mark(page, 'Идёт запись').count(), 0);
  const c = await serverConsult(consult.spec, consult.id);
  assert.equal(c.recording?.state, 'off', JSON.stringify(c.recording));
  assert.deepEqual(c.recording.files, []);
  assert.equal(c.recording.consents.find((x) => x.subject === USERS.clinician.subject)?.answer, 'refused');
  await spec.getByRole('tab', { name: 'Сведения' }).click();
  assert.equal(await spec.locator('.rec-files-panel:visible').count(), 0, 'no recordings listed');
  okConsult(await consult.clin.request({ type: 'consult.end', consult_id: consult.id }));
});

test('no page errors, and no token in the console', () => {
  assert.deepEqual(pageProblems, []);
});
