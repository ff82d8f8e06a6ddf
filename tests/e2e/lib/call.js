// lib/call.js — the call set-up the browser tests share: a realtime consult
// requested and accepted over WebSockets from node, a participant's page
// joined to its call in the web client, media flowing in every page, the
// consult as the server has it, and the waits of a recording (the consult
// records into a new file, the capture takes the call's packets); plus the
// phase timer the long tests print. Waits take the test's own timeouts, so
// a busy machine is judged by each test as before.
import assert from 'node:assert/strict';
import { consultRequest, okConsult } from '../../lib/gateway.js';
import { openBrowser } from './browser.js';
import { waitFlowing, until } from './media.js';
import { USERS, PATIENT } from './people.js';

/** The patient of the tests' consults (the name the Join buttons carry). */
export const CALL_PATIENT = { id: 'SNILS 112-233-445 95', name: PATIENT, birth_date: '1956-03-02' };

/** Over WebSockets from node: a realtime consult requested by the clinician and
 *  accepted by the specialist. Both clients stay open (and go into `clients`,
 *  for the test's after() to close): { id, spec, clin, tokens: { clinician, specialist } }. */
export async function newConsult(gw, clients, patient = CALL_PATIENT) {
  const spec = await gw.connectAs(USERS.specialist);
  const clin = await gw.connectAs(USERS.clinician);
  clients.push(spec, clin);
  const c = okConsult(await clin.request(consultRequest({ patient })));
  okConsult(await spec.request({ type: 'consult.accept', consult_id: c.id }));
  return { id: c.id, spec, clin, tokens: { clinician: clin.token, specialist: spec.token } };
}

/** A participant's page (a browser of its own, named label), signed in with
 *  their link and in the room with the call's peer connection. args: chromium
 *  flags, e.g. a tone as the fake microphone. A page without a call says in
 *  the error what its room and media panel show. */
export async function joinCall(gw, label, token, { args = [], timeout = 30000 } = {}) {
  const page = await openBrowser(label, { secrets: [token], args });
  await page.goto(`${gw.httpUrl}/#token=${token}`);
  await page.locator('#hdr-conn[data-state="open"]').waitFor({ timeout });
  await page.getByRole('button', { name: `Join: ${PATIENT}` }).first().click({ timeout });
  await page.locator('.room-status').getByText('You are in the room.').waitFor({ timeout });
  await page.waitForFunction(() => !!window.consiliumCall?.pc, null, { timeout }).catch(async (e) => {
    const said = await page.evaluate(() => [...document.querySelectorAll('.room-status, .media-status, .media-notices')]
      .map((el) => el.textContent.trim()).join(' | ')).catch(() => '');
    throw new Error(`${label}: no call in the page (${e.message}); the page says: ${said}`);
  });
  return page;
}

/** Audio and video flowing into every page of { label: page } (waitFlowing);
 *  `when` is added to the labels the errors name. */
export function pagesFlowing(pages, { timeout, when = '' }) {
  return Promise.all(Object.entries(pages).map(([label, page]) =>
    waitFlowing(page, { audio: 1, video: 1, timeout, label: when ? `${label} ${when}` : label })));
}

/** The consult as the server has it now (a sync over the client's WebSocket). */
export async function serverConsult(client, id) {
  const state = await client.request({ type: 'sync' });
  assert.equal(state.type, 'state', JSON.stringify(state).slice(0, 300));
  return state.consults.find((c) => c.id === id);
}

/** A consult's recording (as a reply or sync gives it) that has just started:
 *  it is on and its last file is recording. Returns that file. */
export function recordingFile(rec) {
  assert.equal(rec?.state, 'on', JSON.stringify(rec));
  const file = rec.files.at(-1);
  assert.equal(file.state, 'recording');
  return file;
}

/** Waits until the gateway's capture takes the call's packets: its own count
 *  on /metrics, so a recording's length is measured from media, not a timer. */
export function captureTaking(gw, { timeout }) {
  return until(async () => (await gw.metrics()).consilium_recording_capture_packets > 100,
    { timeout, what: 'the capture to take packets (consilium_recording_capture_packets)' });
}

/** Where a test spends its time, for the report only: lap('name') after each
 *  phase; `${lap}` lists them. */
export function phases() {
  const laps = [];
  let last = Date.now();
  const lap = (name) => { const now = Date.now(); laps.push(`${name} ${((now - last) / 1000).toFixed(1)} s`); last = now; };
  lap.toString = () => laps.join(', ');
  return lap;
}
