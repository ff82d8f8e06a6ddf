// attachments.js — files over HTTP (PROTOCOL.md "Attachments (HTTP)"):
// checking a chosen file against welcome.attachments (type, size, name),
// uploading it (POST /api/attachments with Authorization: Bearer/Invite, the
// file's own Content-Type and its name percent-encoded in X-File-Name), and fetching a bound one for display
// (GET /api/attachments/<id> → a blob: URL, cached for the session). The
// credentials travel only in the Authorization header, never in a URL.
// HTTP errors become an AttachmentError carrying the protocol's error code.

export const DEFAULT_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'application/pdf'];
const NAME_MAX_BYTES = 127;
const EXT_TYPES = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', pdf: 'application/pdf' };
const encoder = new TextEncoder();

/** A failed upload or download: code is a protocol error code (invalid, too_big, limit,
 *  not_found, unauthenticated, expired, storage, …) or offline/timeout/http. */
export class AttachmentError extends Error {
  constructor(code, status, message) {
    super(message || code);
    this.name = 'AttachmentError';
    this.code = code;
    this.status = status || 0;
    this.requestType = 'attachment';
  }
}

let authFn = () => null;

/** Where the Authorization header comes from ("Bearer …" / "Invite …", or null). */
export function setAuthorization(fn) {
  authFn = fn;
}

/** What the gateway takes (welcome.attachments), or null when it takes no files. */
export function policyOf(welcomeAttachments) {
  const a = welcomeAttachments;
  if (!a || typeof a !== 'object') return null;
  const types = Array.isArray(a.types) && a.types.length ? a.types.filter((x) => typeof x === 'string') : DEFAULT_TYPES;
  const maxBytes = Number.isFinite(a.max_bytes) && a.max_bytes > 0 ? a.max_bytes : 10 * 1024 * 1024;
  return { types, maxBytes };
}

/** The MIME type of a chosen file: the browser's, else from its extension. */
export function typeOf(file) {
  if (file.type) return file.type.toLowerCase();
  const ext = /\.([a-z0-9]+)$/i.exec(file.name || '')?.[1]?.toLowerCase();
  return EXT_TYPES[ext] || '';
}

export const isImage = (type) => /^image\//.test(type || '');
export const isPdf = (type) => type === 'application/pdf';

/** The protocol's label rules: 1–127 bytes of UTF-8, no control characters (/ and \ are the server's to replace). */
export function cleanName(name) {
  let s = String(name || '').replace(/[\u0000-\u001f\u007f]/g, ' ').trim() || 'file';
  if (encoder.encode(s).length <= NAME_MAX_BYTES) return s;
  const dot = s.lastIndexOf('.');
  const ext = dot > 0 && s.length - dot <= 8 ? s.slice(dot) : '';
  let stem = [...s.slice(0, s.length - ext.length)];
  while (stem.length && encoder.encode(`${stem.join('')}…${ext}`).length > NAME_MAX_BYTES) stem.pop();
  return `${stem.join('')}…${ext}`;
}

/** Why a chosen file cannot be sent ({key, params} for i18n), or null. */
export function checkFile(file, policy) {
  const type = typeOf(file);
  if (!policy.types.includes(type)) return { key: 'att.v.type', params: { name: file.name } };
  if (file.size === 0) return { key: 'att.v.empty', params: { name: file.name } };
  if (file.size > policy.maxBytes) return { key: 'att.v.tooBig', params: { name: file.name, max: policy.maxBytes } };
  return null;
}

async function errorFrom(res) {
  let code = 'http';
  let message = '';
  try {
    const body = await res.json();
    if (body?.error?.code) code = String(body.error.code);
    if (body?.error?.message) message = String(body.error.message);
  } catch { /* not JSON: keep the status */ }
  if (code === 'http') {
    code = { 400: 'invalid', 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found', 413: 'too_big', 429: 'limit', 503: 'storage' }[res.status] || 'http';
  }
  return new AttachmentError(code, res.status, message);
}

function authHeaders() {
  const auth = authFn();
  if (!auth) throw new AttachmentError('unauthenticated', 0);
  return { Authorization: auth };
}

/**
 * Uploads a file; resolves with the attachment {id, name, type, size, sha256}.
 * signal: an AbortSignal (removing the file from the list cancels its upload).
 */
export async function uploadFile(file, { signal } = {}) {
  const type = typeOf(file);
  let res;
  try {
    res = await fetch('/api/attachments', {
      method: 'POST',
      headers: { ...authHeaders(), 'Content-Type': type, 'X-File-Name': encodeURIComponent(cleanName(file.name)) },
      body: file,
      signal,
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (err) {
    if (err?.name === 'AbortError') throw new AttachmentError('aborted', 0);
    throw new AttachmentError(navigator.onLine === false ? 'offline' : 'network', 0);
  }
  if (res.status !== 201 && res.status !== 200) throw await errorFrom(res);
  const att = await res.json().catch(() => null);
  if (!att || typeof att.id !== 'string') throw new AttachmentError('http', res.status);
  return att;
}

// ---- bound attachments, for display ------------------------------------------------

const cache = new Map(); // id → Promise<blob URL>

/** A blob: URL of the attachment's bytes (fetched once per session; a failure is retried next time). */
export function attachmentUrl(id) {
  let p = cache.get(id);
  if (!p) {
    p = fetchBlob(id).then((blob) => URL.createObjectURL(blob));
    cache.set(id, p);
    p.catch(() => cache.delete(id));
  }
  return p;
}

function fetchBlob(id) {
  return fetchAuthorized(`/api/attachments/${encodeURIComponent(id)}`);
}

/** GET path with the Authorization header (never in the URL) → its body as a Blob;
 *  failures are AttachmentErrors (also for /api/documents/…, which answers alike). */
export async function fetchAuthorized(path) {
  let res;
  try {
    res = await fetch(path, { headers: authHeaders(), cache: 'no-store', credentials: 'omit' });
  } catch {
    throw new AttachmentError(navigator.onLine === false ? 'offline' : 'network', 0);
  }
  if (!res.ok) throw await errorFrom(res);
  return res.blob();
}

/** Forgets every fetched file (sign-out): the blob URLs are revoked. */
export function forgetAttachments() {
  for (const p of cache.values()) p.then((url) => URL.revokeObjectURL(url), () => {});
  cache.clear();
}
