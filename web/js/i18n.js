// i18n.js — the current language (localStorage, else navigator.language),
// t() over the Russian and English dictionaries (i18n/ru.js, i18n/en.js, and
// consult-*.js for chat, attachments and the conclusion; a module may add its
// own with addTexts, as recording.js does), plural forms, and
// date/duration/size formatting. Static markup is translated through
// data-i18n* attributes (applyI18n); views re-render on the 'langchange' event.

import baseEn from './i18n/en.js';
import baseRu from './i18n/ru.js';
import consultEn from './i18n/consult-en.js';
import consultRu from './i18n/consult-ru.js';

const STORAGE_KEY = 'consilium.lang';
export const LANGS = ['ru', 'en'];

const en = { ...baseEn, ...consultEn };
const ru = { ...baseRu, ...consultRu };
export const DICTIONARIES = { en, ru };

function detect() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (LANGS.includes(saved)) return saved;
  } catch { /* storage may be unavailable */ }
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || 'ru';
  return nav.toLowerCase().startsWith('en') ? 'en' : 'ru';
}

let lang = detect();
const target = new EventTarget();

export function getLang() {
  return lang;
}

export function setLang(next) {
  if (!LANGS.includes(next) || next === lang) return;
  lang = next;
  try { localStorage.setItem(STORAGE_KEY, next); } catch { /* ignore */ }
  document.documentElement.lang = next;
  applyI18n(document);
  target.dispatchEvent(new Event('langchange'));
}

export function onLangChange(fn) {
  target.addEventListener('langchange', fn);
}

function fill(text, params) {
  return text.replace(/\{(\w+)\}/g, (m, k) => (params && params[k] !== undefined ? String(params[k]) : m));
}

/** The text for key in the current language (English, then the key, as fallbacks). */
export function t(key, params) {
  const d = DICTIONARIES[lang];
  let s = d[key] ?? en[key];
  if (s === undefined) return key;
  if (typeof s === 'object') s = s.other;
  return fill(s, params);
}

/** Adds a module's own texts ({ru: {...}, en: {...}}, key for key), e.g. recording.js's. */
export function addTexts(texts) {
  for (const l of LANGS) Object.assign(DICTIONARIES[l], texts[l] || {});
}

export function has(key) {
  return DICTIONARIES[lang][key] !== undefined || en[key] !== undefined;
}

/** Plural-aware text: entry is {one, few, many, other}; {n} is filled in. */
export function tn(key, n, params = {}) {
  const d = DICTIONARIES[lang];
  const entry = d[key] ?? en[key];
  if (typeof entry !== 'object') return t(key, { n, ...params });
  const form = new Intl.PluralRules(lang === 'ru' ? 'ru-RU' : 'en-GB').select(n);
  return fill(entry[form] ?? entry.other, { n, ...params });
}

/** Translates static markup: data-i18n (text), data-i18n-label (aria-label),
 *  data-i18n-placeholder, data-i18n-title. */
export function applyI18n(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.setAttribute('placeholder', t(el.dataset.i18nPlaceholder));
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.setAttribute('title', t(el.dataset.i18nTitle));
}

function locale() {
  return lang === 'ru' ? 'ru-RU' : 'en-GB';
}

/** "14:32" today, "23 Nov, 14:32" (or "23 нояб., 14:32") on other days; nowMs is the server-corrected now. */
export function fmtTime(ms, nowMs = Date.now()) {
  if (ms === null || ms === undefined) return '';
  const d = new Date(ms);
  const same = new Date(nowMs).toDateString() === d.toDateString();
  const opts = same ? { hour: '2-digit', minute: '2-digit' }
    : { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' };
  return new Intl.DateTimeFormat(locale(), opts).format(d);
}

/** A YYYY-MM-DD calendar date as "02.03.1956" / "02/03/1956" (no time zone shift). */
export function fmtDate(ymd) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd || '');
  if (!m) return ymd || '';
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return new Intl.DateTimeFormat(locale(), { day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'UTC' }).format(d);
}

/** A duration, coarse enough to read at a glance: "1 h 59 min", "2 d 3 h", "less than a minute". */
export function fmtDuration(ms) {
  const min = Math.floor(Math.max(0, ms) / 60000);
  if (min < 1) return t('dur.lessMinute');
  if (min < 60) return t('dur.min', { n: min });
  const h = Math.floor(min / 60);
  if (h < 24) return min % 60 ? t('dur.hmin', { h, m: min % 60 }) : t('dur.h', { n: h });
  const d = Math.floor(h / 24);
  return h % 24 ? t('dur.dh', { d, h: h % 24 }) : t('dur.d', { n: d });
}

/** Age on the given (server) day from a YYYY-MM-DD birth date: years, or months/days for infants. */
export function fmtAge(ymd, nowMs = Date.now()) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd || '');
  if (!m) return '';
  const now = new Date(nowMs);
  const by = +m[1], bm = +m[2], bd = +m[3];
  let years = now.getFullYear() - by;
  let months = now.getMonth() + 1 - bm;
  if (now.getDate() < bd) months -= 1;
  if (months < 0) { years -= 1; months += 12; }
  if (years < 0) return '';
  if (years >= 2) return tn('age.years', years);
  const totalMonths = years * 12 + months;
  if (totalMonths >= 1) return tn('age.months', totalMonths);
  const days = Math.floor((Date.UTC(now.getFullYear(), now.getMonth(), now.getDate()) - Date.UTC(by, bm - 1, bd)) / 86400000);
  return tn('age.days', Math.max(0, days));
}

export function specialtyLabel(slug) {
  return has(`specialty.${slug}`) ? t(`specialty.${slug}`) : slug;
}


/** A file size: "820 B", "183 KB", "2.4 MB" ("183 КБ", "2,4 МБ" in Russian). */
export function fmtSize(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n) || n < 0) return '';
  const nf = (v, digits) => new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(v);
  if (n < 1024) return t('size.b', { n: nf(n, 0) });
  if (n < 1024 * 1024) return t('size.kb', { n: nf(n / 1024, n < 10 * 1024 ? 1 : 0) });
  return t('size.mb', { n: nf(n / (1024 * 1024), 1) });
}

document.documentElement.lang = lang;
