// lib/browser.js — what the browser tests share: Debian's chromium driven by
// playwright-core with the flags of DESIGN.md (fake camera and microphone,
// loopback ICE), one fresh profile per browser, console problems collected
// per page, and cleanup of everything launched (closeBrowsers()).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '..', '..', '..');
export const WEB_ROOT = path.join(REPO, 'web');
export const SHOTS = path.join(REPO, 'tests', 'e2e', 'screenshots');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const VIEWPORT = { width: 1366, height: 768 };
export const CHROME_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection'];

/** Console messages that are expected (a gateway restarting, a WebSocket refused). */
export const BENIGN = /WebSocket connection|ERR_CONNECTION_REFUSED|Failed to load resource/;

const launched = [];
/** Console errors and page errors of every page opened here, as "label: text". */
export const pageProblems = [];

/** A browser of its own (fresh profile) with one page. secrets: strings that must never be logged;
 *  args: chromium flags added to CHROME_ARGS (e.g. --use-file-for-fake-audio-capture=<wav>). */
export async function openBrowser(label, { locale = 'en-GB', viewport = VIEWPORT, secrets = [], args = [] } = {}) {
  const profile = await mkdtemp(path.join(tmpdir(), `consilium-e2e-${label}-`));
  const entry = { profile, context: null };
  launched.push(entry);
  entry.context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: [...CHROME_ARGS, ...args], viewport, locale,
  });
  const page = entry.context.pages()[0] || await entry.context.newPage();
  watchPage(page, label, secrets);
  return page;
}

/** Records into pageProblems a page's uncaught errors, console errors (but
 *  BENIGN ones) and any console line that holds one of secrets. Works with a
 *  playwright and a puppeteer page alike. */
export function watchPage(page, label, secrets = []) {
  page.on('pageerror', (e) => pageProblems.push(`${label}: ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    for (const s of secrets) if (s && text.includes(s)) pageProblems.push(`${label}: a secret was logged`);
    if (m.type() === 'error' && !BENIGN.test(text)) pageProblems.push(`${label}: console error: ${text}`);
  });
}

/** Closes every browser opened by openBrowser and removes its profile. */
export async function closeBrowsers() {
  for (const b of launched.splice(0)) {
    await b.context?.close().catch(() => {});
    await rm(b.profile, { recursive: true, force: true }).catch(() => {});
  }
}
