// precall.test.js — the pre-call check of the room view (views/precall.js) and
// the active speaker outline of the call (views/media.js), in Debian's chromium
// with its fake camera (a moving picture) and fake microphone (a beep).
//
//   cd tests && node --test e2e/precall.test.js      (CONSILIUM_BIN: build/consilium)
//
// (a) The clinician opens the room of a realtime consult the specialist has not
//     accepted yet: the check shows the camera playing, a level meter above
//     zero and a camera and a microphone select, each labelled; when the
//     specialist accepts and both join, the check gives way to the call.
// (b) In a two-page call the remote tile gets .is-speaking within 10 s.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Gateway, BIN, cleanup, consultRequest, okConsult } from '../lib/gateway.js';
import { openBrowser, closeBrowsers, pageProblems, WEB_ROOT, CHROMIUM } from './lib/browser.js';
import { USERS, PATIENT } from './lib/people.js';

const WAIT = 15000;
const clients = [];
let gw = null;

before(async () => {
  assert.ok(existsSync(BIN), `gateway binary missing: ${BIN}`);
  assert.ok(existsSync(CHROMIUM), `chromium missing: ${CHROMIUM}`);
  gw = await Gateway.start({ set: { web_root: WEB_ROOT, 'media.addresses': '127.0.0.1' }, timeout: 10000 });
});

after(async () => {
  for (const c of clients) c.terminate();
  await closeBrowsers();
  await cleanup();
});

/** A realtime consult requested by the clinician (over WebSockets), not accepted yet. */
async function requested() {
  const spec = await gw.connectAs(USERS.specialist);
  const clin = await gw.connectAs(USERS.clinician);
  clients.push(spec, clin);
  const c = okConsult(await clin.request(consultRequest({ mode: 'realtime', patient: { id: 'SNILS 112-233-445 95', name: PATIENT, birth_date: '1956-03-02' } })));
  return { id: c.id, spec, clin };
}

async function signedIn(label, token, locale = 'en-GB') {
  const page = await openBrowser(label, { locale, secrets: [token] });
  await page.goto(`${gw.httpUrl}/#token=${token}`);
  await page.locator('#hdr-conn[data-state="open"]').waitFor({ timeout: WAIT });
  return page;
}

async function joinFromList(page) {
  await page.getByRole('button', { name: `Join: ${PATIENT}` }).first().click({ timeout: WAIT });
  await page.locator('.room-status').getByText('You are in the room.').waitFor({ timeout: WAIT });
  await page.waitForFunction(() => !!window.consiliumCall?.pc, null, { timeout: WAIT });
}

test('(a) the pre-call check: camera playing, level meter moving, device selects', { timeout: 60000 }, async () => {
  const c = await requested();
  const page = await signedIn('precall-clinician', c.clin.token);
  await page.evaluate((id) => { location.hash = `#/call/${id}`; }, c.id);
  const check = page.getByRole('region', { name: 'Camera and microphone check' });
  await check.waitFor({ timeout: WAIT });

  // The camera plays.
  await page.waitForFunction(() => document.querySelector('.precall-video')?.videoWidth > 0, null, { timeout: WAIT });
  // The meter moves with the fake microphone's beep.
  await page.waitForFunction(() => Number(document.querySelector('.precall-meter')?.dataset.level) > 0, null, { timeout: WAIT });
  const meter = check.getByRole('meter', { name: 'Sound level' });
  assert.equal(await meter.count(), 1);
  // Both selects are labelled and list a device.
  const cam = check.getByLabel('Camera', { exact: true });
  const mic = check.getByLabel('Microphone', { exact: true });
  assert.ok(await cam.locator('option').count() >= 1, 'a camera is listed');
  assert.ok(await mic.locator('option').count() >= 1, 'a microphone is listed');
  // Keyboard reachable.
  await cam.focus();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.kind), 'audioinput');
  // Choosing a device re-acquires it, and the call will use it.
  const micId = await mic.evaluate((s) => s.options[s.options.length - 1].value);
  await mic.selectOption(micId);
  await page.waitForFunction(() => Number(document.querySelector('.precall-meter')?.dataset.level) > 0, null, { timeout: WAIT });

  // Russian.
  await page.getByRole('button', { name: 'Русский' }).click();
  const ru = page.getByRole('region', { name: 'Проверка камеры и микрофона' });
  await ru.waitFor({ timeout: WAIT });
  assert.equal(await ru.getByLabel('Камера', { exact: true }).count(), 1);
  assert.equal(await ru.getByLabel('Микрофон', { exact: true }).count(), 1);
  assert.equal(await ru.getByRole('meter', { name: 'Уровень звука' }).count(), 1);
  await page.getByRole('button', { name: 'English' }).click();
  // Accepted: the specialist joins, the clinician rejoins with Join, the check gives way.
  okConsult(await c.spec.request({ type: 'consult.accept', consult_id: c.id }));
  const rejoin = page.locator('.call-actions button[data-focus="rejoin"]');
  await rejoin.waitFor({ timeout: WAIT });
  await rejoin.click();
  await page.waitForFunction(() => !!window.consiliumCall?.pc, null, { timeout: WAIT });
  await page.locator('.precall').waitFor({ state: 'detached', timeout: WAIT });
  const micSent = () => window.consiliumCall.pc.getSenders().find((x) => x.track?.kind === 'audio')?.track;
  await page.waitForFunction(micSent, null, { timeout: WAIT });
  const used = await page.evaluate((f) => (0, eval)(f)().getSettings().deviceId, `(${micSent})`);
  assert.equal(used, micId, 'the call opened the microphone chosen in the check');
  assert.deepEqual(pageProblems, []);
});

test('(b) the remote participant who speaks gets the speaking outline', { timeout: 60000 }, async () => {
  const c = await requested();
  okConsult(await c.spec.request({ type: 'consult.accept', consult_id: c.id }));
  const clin = await signedIn('speak-clinician', c.clin.token);
  await joinFromList(clin);
  const spec = await signedIn('speak-specialist', c.spec.token);
  await joinFromList(spec);
  for (const [page, other] of [[clin, 'ivanova'], [spec, 'petrova']]) {
    await page.locator(`.tile-camera.is-speaking[data-user="${other}"]`).waitFor({ timeout: 10000 });
  }
  assert.deepEqual(pageProblems, []);
});
