// consult-flow.test.js — a whole consultation through the browser client
// (web/) against the real gateway binary, in Debian's chromium (fake camera
// and microphone), one browser per user:
//
//   CONSILIUM_BIN=$PWD/build/consilium node --test tests/e2e/consult-flow.test.js
//
// The specialist goes available; the clinician fills the request form with an
// ECG picture attached (a PNG made here) and sends it; the specialist sees the
// request with the picture and accepts; both join the call and receive each
// other's audio and video (from getStats()); the tiles name each participant
// with their role; a coordinator sees the live consult with its call quality;
// chat messages with a picture go both ways, and an unread count shows on the
// chat tab; the clinician's WebSocket drops: the room says it is reconnecting,
// a message sent meanwhile arrives with the history, and the call comes back
// with a fresh offer; the specialist saves a draft conclusion and signs it;
// the signed document reaches the patient's electronic record (the gateway's
// built-in record store): the delivery line says so to the specialist and the
// clinician, the coordinator's card has a "delivered" badge, and "Download
// PDF" saves the document's PDF; the consult ends; the conclusion is still
// there afterwards (room and list, in Russian too); the specialist amends it
// (the others read the signed version meanwhile), signs the amendment, and the
// clinician reads the new recommendations, delivered again. Screenshots (1366×768) go to
// tests/e2e/screenshots/30-… upward. Behaviour only: every wait is bounded,
// nothing asserts how long anything took.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Gateway, BIN, cleanup, tempDir } from '../lib/gateway.js';
import { openBrowser, closeBrowsers, pageProblems, WEB_ROOT, SHOTS, CHROMIUM, VIEWPORT } from './lib/browser.js';
import { waitFlowing, until } from './lib/media.js';
import { rgbPng, tinyPdf } from '../lib/files.js';
import { USERS } from './lib/people.js';

const WAIT = 15000;
const MEDIA_WAIT = 25000;
const PATIENT = { id: 'SNILS 112-233-445 95', name: 'Иван Сидоров', birth: '1956-03-02', reason: 'Chest pain for 2 hours, ST elevation in V2–V4.' };
const CONCLUSION = {
  findings: 'Sinus rhythm 92/min. ST elevation V2–V4 up to 3 mm.\nReciprocal ST depression in III, aVF.',
  code: 'I21.0',
  recommendations: 'Thrombolysis now unless contraindicated; transfer to the PCI centre.',
};
const AMENDED = 'Thrombolysis given at 14:40; transfer to the PCI centre by air ambulance; cardiac rehabilitation afterwards.';

let gw;
let files;
const pages = {};

// ---- a small, valid PNG (an ECG-like trace), made here ------------------------------------------

/** An ECG strip as an RGB PNG of w×h: pink grid paper with a dark trace (seed shifts the trace). */
function ecgPng(w = 160, h = 90, seed = 0) {
  const trace = (x) => {
    const p = (x + seed * 13) % 40;
    const y = p === 18 ? 15 : p === 19 ? 75 : p === 20 ? 30 : 50 + Math.round(4 * Math.sin((x + seed) / 6));
    return Math.round(y * h / 90);
  };
  return rgbPng(w, h, (x, y) => {
    const ty = trace(x), ty2 = trace(x + 1);
    if (y >= Math.min(ty, ty2) - 1 && y <= Math.max(ty, ty2) + 1) return [30, 30, 40];
    return x % 10 === 0 || y % 10 === 0 ? [240, 170, 170] : [255, 236, 236];
  });
}

// ---- helpers ---------------------------------------------------------------------------------

async function signedIn(label, user, { route } = {}) {
  const token = gw.token(user);
  const page = await openBrowser(label, { secrets: [token] });
  if (route) await route(page);
  await page.goto(`${gw.httpUrl}/#token=${token}`);
  await page.locator('#hdr-conn[data-state="open"]').waitFor({ timeout: WAIT });
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

const card = (page, list, text) => page.locator(`${list} > li`, { hasText: text });

/** Every <img> in the locator has been decoded (naturalWidth > 0); at least `min` of them. */
async function imagesLoaded(locator, min = 1) {
  await until(async () => {
    const sizes = await locator.locator('img').evaluateAll((imgs) => imgs.map((i) => i.complete ? i.naturalWidth : 0));
    return sizes.length >= min && sizes.every((w) => w > 0);
  }, { timeout: WAIT, what: 'attachment images to be decoded' });
}

/** Every control on the page that a keyboard reaches has a name (label, aria-label, text). */
async function unnamedControls(page) {
  return page.evaluate(() => {
    const nameOf = (el) => {
      const by = el.getAttribute('aria-labelledby');
      const parts = [el.getAttribute('aria-label'), by && by.split(/\s+/).map((id) => document.getElementById(id)?.textContent).join(' '),
        ...[...(el.labels || [])].map((l) => l.textContent), el.getAttribute('title'), el.getAttribute('alt')];
      if (!/^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName)) parts.push(el.textContent);
      return parts.filter(Boolean).join(' ').trim();
    };
    const shown = (el) => el.type === 'file' || !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
    return [...document.querySelectorAll('button, a[href], input, select, textarea, [tabindex="0"]')]
      .filter((el) => shown(el) && !el.closest('[hidden], [inert]') && el.getAttribute('role') !== 'log' && !nameOf(el))
      .map((el) => el.outerHTML.slice(0, 120));
  });
}

/** The clinician's WebSocket goes through this route: drop() closes it (both sides); while
 *  blocked, reconnection attempts are refused at once, as when the network is down. */
const link = { current: null, blocked: false };
async function routeClinician(page) {
  await page.routeWebSocket(/\/ws$/, (ws) => {
    if (link.blocked) { ws.close({ code: 4000, reason: 'network down (test)' }); return; }
    const server = ws.connectToServer();
    link.current = { ws, server };
  });
}
async function dropClinician() {
  const c = link.current;
  link.current = null;
  // Closing one side closes the other too (playwright forwards it); both, to be sure.
  await c.server.close({ code: 1000, reason: 'test' }).catch(() => {});
  await c.ws.close({ code: 4000, reason: 'network down (test)' }).catch(() => {});
}

before(async () => {
  assert.ok(existsSync(BIN), `gateway binary missing: ${BIN} (make build, or set CONSILIUM_BIN)`);
  assert.ok(existsSync(CHROMIUM), `chromium missing: ${CHROMIUM} (apt-get install -y chromium)`);
  await mkdir(SHOTS, { recursive: true });
  gw = await Gateway.start({ set: { web_root: WEB_ROOT, 'media.addresses': '127.0.0.1', 'media.quality_interval': '1s' }, timeout: 10000 });
  const dir = tempDir('consilium-e2e-files-');
  files = { ecg: path.join(dir, 'ECG 12 leads.png'), ecg2: path.join(dir, 'ECG 14-05.png'), pdf: path.join(dir, 'Discharge letter.pdf') };
  await writeFile(files.pdf, tinyPdf());
  await writeFile(files.ecg, ecgPng(160, 90, 0));
  await writeFile(files.ecg2, ecgPng(160, 90, 7));
});

after(async () => {
  await closeBrowsers();
  await cleanup();
});

// ---- the flow ------------------------------------------------------------------------------------

let consultId = null;

test('the specialist goes available; the clinician requests with an ECG attached', { timeout: 90000 }, async () => {
  pages.spec = await signedIn('specialist', USERS.specialist);
  await pages.spec.locator('label[for="presence-available"]').click();
  await pages.spec.waitForFunction(() => document.querySelector('#presence-available')?.checked
    && !document.querySelector('.presence-switch[aria-busy]'), null, { timeout: WAIT });
  pages.coord = await signedIn('coordinator', USERS.coordinator);

  const clin = pages.clin = await signedIn('clinician', USERS.clinician, { route: routeClinician });
  await clin.getByRole('heading', { name: 'New consultation request' }).waitFor();
  await clin.getByLabel('Patient identifier').fill(PATIENT.id);
  await clin.getByLabel('Full name').fill(PATIENT.name);
  await clin.getByLabel('Date of birth').fill(PATIENT.birth);
  await clin.getByLabel('Specialty').selectOption('cardiology');
  await clin.getByRole('radio', { name: 'Emergency' }).check();
  await clin.getByLabel('Reason for consultation').fill(PATIENT.reason);
  // The file input is labelled and reachable; the file is checked and uploaded at once.
  const input = clin.locator('.panel-form').getByLabel('Attach files');
  assert.equal(await input.getAttribute('type'), 'file');
  assert.match(await input.getAttribute('accept'), /image\/png/);
  // A kind of file the gateway does not take is refused here, in words.
  await input.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('BP 100/60') });
  await clin.locator('.panel-form').getByText('“notes.txt” cannot be attached: only JPEG, PNG, WEBP, PDF files are accepted.').waitFor();
  // A file whose bytes are not what it claims is refused by the gateway (400 invalid), in words too.
  await input.setInputFiles({ name: 'scan.png', mimeType: 'image/png', buffer: Buffer.from('this is not a PNG file') });
  const bad = clin.locator('.panel-form .file-item[data-state="error"]', { hasText: 'scan.png' });
  await bad.getByText(/Not uploaded: The server refused the file: it is not a readable image or PDF/).waitFor({ timeout: WAIT });
  await bad.getByRole('button', { name: 'Remove the file scan.png' }).click();
  await input.setInputFiles(files.ecg);
  await clin.locator('.panel-form .file-item[data-state="ready"]', { hasText: 'ECG 12 leads.png' }).waitFor({ timeout: WAIT });
  assert.equal(await clin.locator('.panel-form .file-item').count(), 1);
  await shot(clin, '30-clinician-request-attachment');
  assert.deepEqual(await unnamedControls(clin), [], 'every control of the request form is labelled');
  await clin.getByRole('button', { name: 'Send request' }).click();
  await clin.getByText(`Request sent: ${PATIENT.name}`).waitFor({ timeout: WAIT });
  const row = card(clin, '.panel-list .cards', PATIENT.name);
  await row.locator('.att-image').waitFor({ timeout: WAIT });
  consultId = await row.getAttribute('data-key');
  assert.match(consultId, /^[0-9a-f-]{36}$/);
  assert.equal(await clin.locator('.panel-form .file-item').count(), 0, 'the form is cleared after sending');
});

test('the specialist sees the ECG before accepting, opens it larger, and accepts', { timeout: 60000 }, async () => {
  const { spec } = pages;
  const offer = card(spec, '.panel-queue .cards', PATIENT.name);
  await offer.waitFor({ timeout: WAIT });
  await imagesLoaded(offer.locator('.att-strip'));
  await shot(spec, '31-specialist-offer-ecg');
  await offer.getByRole('button', { name: /Open the image larger: ECG 12 leads\.png/ }).click();
  const viewer = spec.getByRole('dialog');
  await imagesLoaded(viewer);
  await viewer.getByRole('button', { name: 'Close' }).click();
  await viewer.waitFor({ state: 'hidden' });
  await spec.getByRole('button', { name: `Accept: ${PATIENT.name}` }).click();
  await card(spec, '.panel-mine .cards', PATIENT.name).getByText('Accepted', { exact: true }).waitFor({ timeout: WAIT });
});

test('both join; audio and video flow both ways; tiles name each one with their role', { timeout: 120000 }, async () => {
  const { spec, clin } = pages;
  await clin.getByRole('button', { name: `Join: ${PATIENT.name}` }).click({ timeout: WAIT });
  await clin.locator('.room-status').getByText('You are in the room.').waitFor({ timeout: WAIT });
  await spec.getByRole('button', { name: `Join: ${PATIENT.name}` }).click({ timeout: WAIT });
  await spec.locator('.room-status').getByText('You are in the room.').waitFor({ timeout: WAIT });
  for (const page of [clin, spec]) await page.waitForFunction(() => !!window.consiliumCall?.pc, null, { timeout: WAIT });
  await Promise.all([
    waitFlowing(clin, { audio: 1, video: 1, timeout: MEDIA_WAIT, label: 'clinician' }),
    waitFlowing(spec, { audio: 1, video: 1, timeout: MEDIA_WAIT, label: 'specialist' }),
  ]);
  const specTile = clin.locator('.tile-camera[data-user="ivanova"]');
  await specTile.locator('.tile-name').getByText('Dr Elena Ivanova').waitFor({ timeout: WAIT });
  await specTile.locator('.tile-role').getByText('Specialist').waitFor();
  await spec.locator('.tile-camera[data-user="petrova"] .tile-role').getByText('Clinician').waitFor({ timeout: WAIT });
  assert.equal(await specTile.getAttribute('aria-label'), 'Dr Elena Ivanova, Specialist');
});

test('the coordinator sees the live consult with its call quality', { timeout: 60000 }, async () => {
  const { coord } = pages;
  const live = card(coord, '.panel-live .cards', PATIENT.name);
  await live.getByText('In progress', { exact: true }).waitFor({ timeout: WAIT });
  const rows = live.locator('.call-quality .cq-row');
  await until(async () => (await rows.count()) === 2, { timeout: WAIT, what: 'call quality of both participants' });
  await live.locator('.call-quality .cq-row[data-user="ivanova"] .q-badge').waitFor({ timeout: WAIT });
  await live.locator('.call-quality .cq-row[data-user="petrova"]').getByText(/loss .* % · RTT/).waitFor();
  assert.match(await live.locator('.cq-row[data-user="ivanova"] .q-badge').textContent(), /Good|Fair|Poor|No data yet/);
  await live.locator('.cq-row[data-user="petrova"] .cq-role').getByText('Clinician').waitFor();
  await shot(coord, '32-coordinator-call-quality');
});

test('chat: a message with a picture goes to the specialist, a reply comes back', { timeout: 60000 }, async () => {
  const { spec, clin } = pages;
  // The chat tab is open in the room; the text box is labelled and Enter sends.
  assert.equal(await clin.getByRole('tab', { name: 'Chat' }).getAttribute('aria-selected'), 'true');
  const box = clin.getByLabel('Message', { exact: true });
  await box.fill('ECG from 14:05 attached.');
  await box.press('Shift+Enter');
  await box.pressSequentially('Pain 7/10, BP 100/60.');
  await clin.locator('.chat-panel').getByLabel('Attach').setInputFiles([files.ecg2, files.pdf]);
  await until(async () => (await clin.locator('.chat-panel .file-item[data-state="ready"]').count()) === 2,
    { timeout: WAIT, what: 'both chat files uploaded' });
  await box.press('Enter');
  const sent = spec.locator('.chat-msg', { hasText: 'ECG from 14:05 attached.' });
  await sent.waitFor({ timeout: WAIT });
  assert.equal(await sent.locator('.chat-text').innerText(), 'ECG from 14:05 attached.\nPain 7/10, BP 100/60.');
  await sent.locator('.chat-from').getByText('Фельдшер Анна Петрова').waitFor();
  await sent.locator('.chat-role').getByText('Clinician').waitFor();
  await imagesLoaded(sent);
  // The PDF is a link that opens the file itself (a blob: URL: no credentials in any address).
  const [popup] = await Promise.all([
    spec.waitForEvent('popup', { timeout: WAIT }),
    sent.getByRole('link', { name: /Open the file in a new tab: Discharge letter\.pdf/ }).click(),
  ]);
  assert.match(popup.url(), /^blob:http:\/\/127\.0\.0\.1:\d+\//);
  await popup.close();
  await clin.locator('.chat-msg.is-mine', { hasText: 'ECG from 14:05 attached.' }).waitFor({ timeout: WAIT });
  assert.equal(await clin.locator('.chat-msg', { hasText: 'ECG from 14:05 attached.' }).count(), 1, 'the sender keeps one copy');

  // The clinician looks at the case details; the reply shows as unread on the chat tab.
  await clin.getByRole('tab', { name: 'Details' }).click();
  const reply = spec.getByLabel('Message', { exact: true });
  await reply.fill('Seen. Thrombolysis now, I will write the conclusion.');
  await reply.press('Enter');
  await clin.locator('.tab[data-tab="chat"] .tab-count').getByText('1').waitFor({ timeout: WAIT });
  await shot(spec, '33-call-chat-specialist');
  assert.deepEqual(await unnamedControls(spec), [], 'every control of the room is labelled');
  // A narrow window: one column, nothing scrolls sideways.
  await spec.setViewportSize({ width: 800, height: 900 });
  const overflow = await spec.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `narrow room: horizontal overflow of ${overflow}px`);
  await shot(spec, '33b-narrow-call-specialist');
  await spec.setViewportSize(VIEWPORT);
  // Arrow keys move along the tabs.
  await clin.getByRole('tab', { name: 'Details' }).focus();
  await clin.keyboard.press('Home');
  assert.equal(await clin.getByRole('tab', { name: /^Chat/ }).getAttribute('aria-selected'), 'true');
  await clin.locator('.chat-msg', { hasText: 'Seen. Thrombolysis now' }).waitFor({ timeout: WAIT });
  await clin.locator('.tab[data-tab="chat"] .tab-count').waitFor({ state: 'hidden', timeout: WAIT });
});

test('the clinician’s link drops: the room says so, then rejoins with a fresh offer and the history', { timeout: 120000 }, async () => {
  const { spec, clin } = pages;
  const oldUfrag = await clin.evaluate(() => /^a=ice-ufrag:(\S+)/m.exec(window.consiliumCall.pc.localDescription.sdp)?.[1]);
  link.blocked = true;
  await dropClinician();
  await clin.locator('.layout-call[data-connection="reconnecting"]').waitFor({ timeout: WAIT });
  await clin.locator('.room-status').getByText('Connection to the centre lost. Reconnecting').waitFor();
  await clin.locator('.media-status').getByText('No connection to the centre, reconnecting…').waitFor({ timeout: WAIT });
  await shot(clin, '34-call-reconnecting');
  // The server marks the clinician absent; the specialist writes meanwhile.
  await spec.locator('.call-participants li', { hasText: 'Фельдшер Анна Петрова' }).getByText(/left at/).waitFor({ timeout: WAIT });
  const box = spec.getByLabel('Message', { exact: true });
  await box.fill('Are you still there? The line dropped.');
  await box.press('Enter');
  await spec.locator('.chat-msg.is-mine', { hasText: 'Are you still there?' }).waitFor({ timeout: WAIT });

  link.blocked = false;
  await clin.locator('#conn-banner').getByRole('button', { name: 'Retry now' }).click({ timeout: WAIT });
  await clin.locator('#hdr-conn[data-state="open"]').waitFor({ timeout: WAIT });
  await clin.locator('.layout-call[data-connection="open"]').waitFor({ timeout: WAIT });
  await clin.locator('.room-status').getByText('You are in the room.').waitFor({ timeout: WAIT });
  await clin.locator('.chat-msg', { hasText: 'Are you still there?' }).waitFor({ timeout: WAIT });
  await spec.locator('.call-participants li', { hasText: 'Фельдшер Анна Петрова' }).getByText('in the room').waitFor({ timeout: WAIT });
  // A new peer connection (new ICE credentials), and media both ways again.
  await until(async () => {
    const ufrag = await clin.evaluate(() => /^a=ice-ufrag:(\S+)/m.exec(window.consiliumCall?.pc?.localDescription?.sdp || '')?.[1] || null);
    return ufrag && ufrag !== oldUfrag;
  }, { timeout: WAIT, what: 'a fresh offer from a new peer connection' });
  await Promise.all([
    waitFlowing(clin, { audio: 1, video: 1, timeout: MEDIA_WAIT, label: 'clinician after reconnect' }),
    waitFlowing(spec, { audio: 1, video: 1, timeout: MEDIA_WAIT, label: 'specialist after reconnect' }),
  ]);
});

test('the specialist saves a draft conclusion and signs it', { timeout: 60000 }, async () => {
  const { spec } = pages;
  await spec.getByRole('tab', { name: 'Conclusion' }).click();
  const panel = spec.locator('.conclusion-panel');
  await panel.getByText('Not saved yet.').waitFor({ timeout: WAIT });
  await panel.getByLabel('Findings').fill(CONCLUSION.findings);
  // A Cyrillic letter in the code is caught before it reaches the server.
  await panel.getByLabel('ICD-10 code').fill('Ш21.0');
  await panel.getByRole('button', { name: 'Save draft' }).click();
  await panel.getByText('ICD-10 codes are written with Latin letters').waitFor();
  await panel.getByLabel('ICD-10 code').fill(CONCLUSION.code);
  // A listed code fills in its diagnosis text.
  assert.equal(await panel.getByLabel('Diagnosis', { exact: true }).inputValue(), 'Acute transmural myocardial infarction of anterior wall');
  await panel.getByRole('button', { name: 'Save draft' }).click();
  await panel.locator('.concl-state').getByText(/Draft saved \(version 1,/).waitFor({ timeout: WAIT });
  await panel.getByLabel('Recommendations').fill(CONCLUSION.recommendations);
  await panel.locator('.concl-state').getByText('There are unsaved changes.').waitFor();
  await shot(spec, '35-conclusion-draft');
  assert.deepEqual(await unnamedControls(spec), [], 'every control of the conclusion form is labelled');
  await panel.getByRole('button', { name: 'Sign', exact: true }).click();
  const dialog = spec.getByRole('dialog');
  await dialog.getByText(/A signed conclusion cannot be changed/).waitFor({ timeout: WAIT });
  await dialog.getByText(/version 2/).waitFor();
  await shot(spec, '36-conclusion-sign-confirm');
  await dialog.getByRole('button', { name: 'Sign', exact: true }).click();
  const doc = panel.locator('.conclusion-doc');
  await doc.waitFor({ timeout: WAIT });
  assert.match(await doc.locator('.badge-signed').textContent(), /Signed/);
  await doc.locator('.doc-code').getByText('I21.0').waitFor();
  assert.equal(await panel.locator('textarea, input').count(), 0, 'a signed conclusion is a document, not a form');
});

test('the signed document reaches the patient’s record: the delivery line, the coordinator’s badge, the PDF', { timeout: 60000 }, async () => {
  const { spec, coord } = pages;
  const panel = spec.locator('.conclusion-panel');
  // The built-in record store takes it within a second or two: the line says so, politely, in place.
  const line = panel.locator('.doc-delivery');
  assert.equal(await line.getAttribute('role'), 'status');
  await panel.locator('.doc-delivery[data-state="delivered"]').getByText(/^Delivered to the patient’s electronic record, \d\d:\d\d\.$/).waitFor({ timeout: WAIT });
  assert.equal(await panel.locator('.doc-delivery .delivery-detail').count(), 0, 'no error under a delivered document');
  // The coordinator, who chases failed deliveries, sees it on the live card.
  const live = card(coord, '.panel-live .cards', PATIENT.name);
  const badge = live.locator('.delivery-badge[data-state="delivered"]');
  await badge.getByText('Delivered to the record').waitFor({ timeout: WAIT });
  assert.match(await badge.getAttribute('title'), /^Delivered to the patient’s electronic record, /);
  await live.evaluate((el) => el.scrollIntoView({ block: 'center' }));
  await shot(coord, '36c-coordinator-delivered');
  // Download PDF: the document itself, fetched with the Authorization header, saved under a readable name.
  const pdfButton = panel.getByRole('button', { name: 'Download PDF' });
  const [download] = await Promise.all([spec.waitForEvent('download', { timeout: WAIT }), pdfButton.click()]);
  assert.equal(download.suggestedFilename(), 'conclusion-Иван-Сидоров-v2.pdf');
  assert.match(download.url(), /^blob:http:\/\/127\.0\.0\.1:\d+\//, 'no credentials in any address');
  const bytes = await readFile(await download.path());
  assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-');
  assert.ok(bytes.length > 500, `a PDF of ${bytes.length} bytes`);
  assert.equal(await pdfButton.isEnabled(), true);
  assert.equal(await panel.locator('.doc-pdf-error:not([hidden])').count(), 0);
  // Print stays; the specialist may amend.
  await panel.getByRole('button', { name: 'Print' }).waitFor();
  await panel.getByRole('button', { name: 'Amend conclusion' }).waitFor();
  await panel.locator('.doc-foot').evaluate((el) => el.scrollIntoView({ block: 'end' }));
  await shot(spec, '36b-conclusion-delivered');
  assert.deepEqual(await unnamedControls(spec), [], 'every control of the signed document is labelled');
});

test('the clinician sees the signed conclusion', { timeout: 60000 }, async () => {
  const { clin } = pages;
  await clin.getByRole('tab', { name: 'Conclusion' }).click();
  const doc = clin.locator('.conclusion-panel .conclusion-doc');
  await doc.waitFor({ timeout: WAIT });
  assert.equal(await doc.locator('.doc-text').first().innerText(), CONCLUSION.findings);
  await doc.getByText(CONCLUSION.recommendations).waitFor();
  await doc.getByText(/Dr Elena Ivanova/).waitFor();
  const panel = clin.locator('.conclusion-panel');
  await panel.locator('.doc-delivery[data-state="delivered"]').getByText(/Delivered to the patient’s electronic record/).waitFor({ timeout: WAIT });
  await panel.getByRole('button', { name: 'Download PDF' }).waitFor();
  assert.equal(await panel.getByRole('button', { name: 'Amend conclusion' }).count(), 0, 'only the specialist amends');
  await shot(clin, '37-clinician-signed-conclusion');
});

test('the consult ends; the conclusion is still there, in the room and from the list', { timeout: 60000 }, async () => {
  const { spec, clin, coord } = pages;
  await spec.locator('.call-head').getByRole('button', { name: 'End consultation' }).click();
  await spec.getByRole('dialog').getByRole('button', { name: 'End consultation' }).click();
  for (const page of [spec, clin]) {
    await page.locator('.room-status').getByText(/The consultation ended at/).waitFor({ timeout: WAIT });
    await page.locator('.call-body[data-mode="case"] .conclusion-doc').getByText(CONCLUSION.recommendations).waitFor({ timeout: WAIT });
  }
  // The chat is kept, read-only.
  await clin.locator('.chat-msg', { hasText: 'Seen. Thrombolysis now' }).waitFor();
  await clin.getByText('The consultation is over: the chat can be read but not written to.').waitFor();
  await shot(clin, '38-case-ended-clinician');
  // The coordinator's list: no longer live, no call quality.
  await card(coord, '.panel-live .finished .cards', PATIENT.name).waitFor({ state: 'attached', timeout: WAIT });
  assert.equal(await coord.locator('.panel-live > .cards .call-quality:not([hidden])').count(), 0);

  // From the clinician's list: "Conclusion" on the finished card opens it again.
  await clin.getByRole('link', { name: 'Back to the list' }).first().click();
  await clin.locator('.panel-list .finished summary').click();
  const row = card(clin, '.panel-list .finished .cards', PATIENT.name);
  await row.getByText(/Conclusion signed: Dr Elena Ivanova/).waitFor({ timeout: WAIT });
  await row.getByRole('button', { name: `Conclusion: ${PATIENT.name}` }).click();
  await clin.locator('.call-body[data-mode="case"] .conclusion-doc').getByText(CONCLUSION.findings.split('\n')[0]).waitFor({ timeout: WAIT });
  await clin.getByRole('button', { name: 'Русский' }).click();
  await clin.locator('.conclusion-doc').getByText('Заключение консультанта').waitFor();
  await clin.locator('.conclusion-doc').getByText('Данные обследования').waitFor();
  await clin.locator('.conclusion-doc').getByText('Диагноз (код МКБ-10)').waitFor();
  await clin.locator('.conclusion-panel .doc-delivery').getByText(/^Передано в электронную медкарту пациента, \d\d:\d\d\.$/).waitFor();
  await clin.locator('.conclusion-panel').getByRole('button', { name: 'Скачать PDF' }).waitFor();
  await clin.locator('.conclusion-panel').getByRole('button', { name: 'Печать' }).waitFor();
  await clin.locator('.call-conclusion').evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await shot(clin, '39-case-conclusion-ru');
  await clin.getByRole('button', { name: 'English' }).click();
});

test('the specialist amends the conclusion: the others read the signed one meanwhile, then the amendment, delivered', { timeout: 90000 }, async () => {
  const { spec, clin, coord } = pages;
  const panel = spec.locator('.conclusion-panel');
  await panel.getByRole('button', { name: 'Amend conclusion' }).click();
  // The form, prefilled with the signed text, says what it amends; nothing is saved yet.
  await panel.locator('.concl-amend-note').getByText('Amendment to version 2').waitFor({ timeout: WAIT });
  await panel.locator('.concl-state').getByText('Amendment to version 2: not saved yet.').waitFor();
  assert.equal(await panel.getByLabel('Findings').inputValue(), CONCLUSION.findings);
  assert.equal(await panel.getByLabel('Recommendations').inputValue(), CONCLUSION.recommendations);
  assert.equal(await panel.getByLabel('Findings').evaluate((el) => el === document.activeElement), true, 'the focus is in the form');
  // Cancelling before saving goes back to the signed document.
  await panel.getByRole('button', { name: 'Cancel the amendment' }).click();
  await panel.locator('.conclusion-doc').getByText(CONCLUSION.recommendations).waitFor();
  await panel.getByRole('button', { name: 'Amend conclusion' }).click();
  await panel.getByLabel('Recommendations').fill(AMENDED);
  await panel.getByRole('button', { name: 'Save draft' }).click();
  await panel.locator('.concl-state').getByText(/^Amendment to version 2: draft saved \(version 3, /).waitFor({ timeout: WAIT });
  await panel.locator('.concl-form').evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await shot(spec, '42-conclusion-amendment-draft');
  assert.deepEqual(await unnamedControls(spec), [], 'every control of the amendment form is labelled');
  // Meanwhile the clinician reads the signed version, and is told an amendment is coming.
  const cpanel = clin.locator('.conclusion-panel');
  await cpanel.locator('.concl-state').getByText(/The specialist is preparing an amendment; this version stands until it is signed\./).waitFor({ timeout: WAIT });
  await cpanel.locator('.conclusion-doc').getByText(CONCLUSION.recommendations).waitFor();
  // Signing: the confirmation says it replaces the signed document.
  await panel.getByRole('button', { name: 'Sign', exact: true }).click();
  const dialog = spec.getByRole('dialog');
  await dialog.getByRole('heading', { name: 'Sign the amendment?' }).waitFor({ timeout: WAIT });
  await dialog.getByText(/version 3 .* an amendment to version 2\. It will replace the signed document in the patient’s electronic record/).waitFor();
  await dialog.getByRole('button', { name: 'Sign', exact: true }).click();
  const doc = panel.locator('.conclusion-doc');
  await doc.getByText(AMENDED).waitFor({ timeout: WAIT });
  await doc.locator('.doc-amended').getByText('Amended version 3: it replaces the conclusion signed earlier.').waitFor();
  await panel.locator('.doc-delivery[data-state="delivered"]').waitFor({ timeout: WAIT });
  // The clinician: the new recommendations, delivered to the record again.
  await cpanel.locator('.conclusion-doc').getByText(AMENDED).waitFor({ timeout: WAIT });
  assert.equal(await cpanel.locator('.conclusion-doc').getByText(CONCLUSION.recommendations).count(), 0);
  await cpanel.locator('.doc-delivery[data-state="delivered"]').getByText(/Delivered to the patient’s electronic record/).waitFor({ timeout: WAIT });
  await cpanel.locator('.concl-state').getByText(/^Signed by Dr Elena Ivanova, /).waitFor();
  await clin.locator('.call-conclusion').evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await shot(clin, '43-clinician-amended-conclusion');
  // The amended document's PDF, for the clinician this time.
  const [download] = await Promise.all([clin.waitForEvent('download', { timeout: WAIT }), cpanel.getByRole('button', { name: 'Download PDF' }).click()]);
  assert.equal(download.suggestedFilename(), 'conclusion-Иван-Сидоров-v3.pdf');
  assert.equal((await readFile(await download.path())).subarray(0, 5).toString('latin1'), '%PDF-');
  // The coordinator's finished card: delivered.
  await card(coord, '.panel-live .finished .cards', PATIENT.name).locator('.delivery-badge[data-state="delivered"]').waitFor({ state: 'attached', timeout: WAIT });
});

test('a narrow screen shows the room without scrolling sideways', { timeout: 30000 }, async () => {
  const { spec } = pages;
  await spec.setViewportSize({ width: 800, height: 900 });
  await spec.evaluate(() => window.scrollTo(0, 0));
  const overflow = await spec.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px`);
  await shot(spec, '40-narrow-case-specialist');
  await spec.setViewportSize(VIEWPORT);
});

test('a deferred consult opens as a case: request, chat and conclusion, no video', { timeout: 60000 }, async () => {
  const { spec, clin } = pages;
  // Requested and accepted over WebSockets; the rest in the pages.
  const c1 = await gw.connectAs(USERS.clinician);
  const reply = await c1.request({ type: 'consult.request', patient: { id: 'MR-2024-0117', name: 'Мария Кузнецова', birth_date: '1948-11-20' },
    specialty: 'cardiology', urgency: 'planned', mode: 'deferred', reason: 'Planned review of atrial fibrillation treatment.\nINR 3.4 on warfarin.' });
  assert.equal(reply.type, 'ok', JSON.stringify(reply));
  const s1 = await gw.connectAs(USERS.specialist);
  assert.equal((await s1.request({ type: 'consult.accept', consult_id: reply.consult.id })).type, 'ok');
  c1.close();
  s1.close();
  await spec.getByRole('link', { name: 'Back to the list' }).first().click();
  await spec.getByRole('button', { name: 'Open case: Мария Кузнецова' }).click({ timeout: WAIT });
  await spec.locator('.call-body[data-mode="case"]').waitFor({ timeout: WAIT });
  assert.equal(await spec.locator('.media-slot').count(), 0, 'no video in a deferred consult');
  await spec.locator('.conclusion-panel').getByLabel('Findings').waitFor({ timeout: WAIT });
  const box = spec.getByLabel('Message', { exact: true });
  await box.fill('Please send the last three INR results.');
  await box.press('Enter');
  await clin.getByRole('link', { name: 'Back to the list' }).first().click().catch(() => {});
  await clin.getByRole('button', { name: 'Open case: Мария Кузнецова' }).click({ timeout: WAIT });
  await clin.locator('.chat-msg', { hasText: 'Please send the last three INR results.' }).waitFor({ timeout: WAIT });
  await clin.locator('.conclusion-panel').getByText('There is no conclusion yet.').waitFor();
  await spec.evaluate(() => window.scrollTo(0, 0));
  await shot(spec, '41-deferred-case-specialist');
});

test('no page errors, and no token in the console', () => {
  assert.deepEqual(pageProblems, []);
});
