// media-firefox.test.js — interoperability of a video call between Firefox and
// Chromium through the real gateway binary (SFU) and the real web client: the
// clinician joins from Debian's firefox-esr driven by puppeteer-core (WebDriver
// BiDi, headless, fake camera and microphone: DESIGN.md "Tests and build"), the
// specialist from Debian's chromium driven by playwright-core (lib/browser.js).
//
//   cd tests && node --test e2e/media-firefox.test.js      (CONSILIUM_BIN: build/consilium)
//
// Media is judged from each page's RTCPeerConnection.getStats() with the
// helpers of lib/media.js (page.evaluate has the same shape in both drivers):
// each side receives the other's audio and video — inbound packets growing,
// video frames decoded growing, audio energy (totalAudioEnergy) growing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { Gateway, BIN, cleanup, consultRequest, okConsult } from '../lib/gateway.js';
import { openBrowser, closeBrowsers, pageProblems, watchPage, WEB_ROOT, SHOTS, CHROMIUM, VIEWPORT } from './lib/browser.js';
import { rtpSnapshot, waitFlowing } from './lib/media.js';
import { USERS, PATIENT } from './lib/people.js';

const FIREFOX = process.env.FIREFOX_BIN || '/usr/bin/firefox-esr';
const WAIT = 15000;
const MEDIA_WAIT = 25000;
/** Firefox preferences of DESIGN.md, and English for the UI (the Join button's name). */
const FIREFOX_PREFS = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'intl.accept_languages': 'en-GB',
};

const started = { clients: [], firefox: null };

/** Firefox (puppeteer-core over WebDriver BiDi; puppeteer makes and removes its own profile) with one page. */
async function openFirefox(label, { secrets = [] } = {}) {
  started.firefox = await puppeteer.launch({
    browser: 'firefox', executablePath: FIREFOX, headless: true,
    extraPrefsFirefox: FIREFOX_PREFS, defaultViewport: VIEWPORT, timeout: WAIT,
  });
  const page = (await started.firefox.pages())[0] || await started.firefox.newPage();
  watchPage(page, label, secrets);
  return page;
}

before(async () => {
  assert.ok(existsSync(BIN), `gateway binary missing: ${BIN} (make build, or set CONSILIUM_BIN)`);
  assert.ok(existsSync(CHROMIUM), `chromium missing: ${CHROMIUM} (apt-get install -y chromium)`);
  assert.ok(existsSync(FIREFOX), `firefox-esr missing: ${FIREFOX} (apt-get install -y firefox-esr)`);
  await mkdir(SHOTS, { recursive: true });
});

after(async () => {
  for (const c of started.clients) c.terminate();
  const ff = started.firefox;
  started.firefox = null;
  if (ff) {
    // close() can hang if Firefox is stuck: bounded, then the process is killed.
    await Promise.race([ff.close(), new Promise((r) => setTimeout(r, 5000))]).catch(() => {});
    try { ff.process()?.kill('SIGKILL'); } catch { /* already gone */ }
  }
  await closeBrowsers();
  await cleanup(); // kills gateways still running, and fails if one had crashed
});

test('Firefox (clinician) and Chromium (specialist) see and hear each other', { timeout: 60000 }, async () => {
  const gw = await Gateway.start({ set: { web_root: WEB_ROOT, 'media.addresses': '127.0.0.1' }, timeout: 10000 });

  // A realtime consult requested by the clinician and accepted by the specialist, over WebSockets.
  const spec = await gw.connectAs(USERS.specialist);
  const clin = await gw.connectAs(USERS.clinician);
  started.clients.push(spec, clin);
  const c = okConsult(await clin.request(consultRequest({ mode: 'realtime', patient: { id: 'SNILS 112-233-445 95', name: PATIENT, birth_date: '1956-03-02' } })));
  okConsult(await spec.request({ type: 'consult.accept', consult_id: c.id }));
  const tokens = { clinician: clin.token, specialist: spec.token };
  spec.close();
  clin.close();

  // Clinician: Firefox, their sign-in link, Join in their list.
  const ff = await openFirefox('clinician-firefox', { secrets: [tokens.clinician] });
  await ff.goto(`${gw.httpUrl}/#token=${tokens.clinician}`, { timeout: WAIT });
  await ff.waitForSelector('#hdr-conn[data-state="open"]', { timeout: WAIT });
  await (await ff.waitForSelector(`button[aria-label="Join: ${PATIENT}"]`, { timeout: WAIT })).click();
  await ff.waitForFunction(() => document.querySelector('.room-status')?.textContent.includes('You are in the room.'), { timeout: WAIT });
  await ff.waitForFunction(() => !!window.consiliumCall?.pc, { timeout: WAIT });

  // Specialist: Chromium, the same way (as media.test.js).
  const ch = await openBrowser('specialist-chromium', { secrets: [tokens.specialist] });
  await ch.goto(`${gw.httpUrl}/#token=${tokens.specialist}`);
  await ch.locator('#hdr-conn[data-state="open"]').waitFor({ timeout: WAIT });
  await ch.getByRole('button', { name: `Join: ${PATIENT}` }).first().click({ timeout: WAIT });
  await ch.locator('.room-status').getByText('You are in the room.').waitFor({ timeout: WAIT });
  await ch.waitForFunction(() => !!window.consiliumCall?.pc, null, { timeout: WAIT });

  const pages = { 'clinician (firefox)': ff, 'specialist (chromium)': ch };
  await Promise.all(Object.entries(pages).map(([label, page]) =>
    waitFlowing(page, { audio: 1, video: 1, timeout: MEDIA_WAIT, label })));

  // The UI agrees: the call is connected and the other one's tile shows video.
  for (const [label, page] of Object.entries(pages)) {
    const s = await rtpSnapshot(page);
    assert.equal(s.status, 'connected', `${label}: media status: ${JSON.stringify(s.status)} ${s.statusText}`);
    assert.equal(await page.evaluate(() => document.querySelectorAll('.tile-camera.has-video').length), 1, `${label}: one remote video tile`);
  }
  await ff.screenshot({ path: path.join(SHOTS, '25-media-firefox-clinician.png') });
  await gw.stop();
});

test('no page errors, and no token in the console', () => {
  assert.deepEqual(pageProblems, []);
});
