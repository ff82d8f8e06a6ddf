// auth.js — where the credentials come from and where they are kept.
// A sign-in link carries them in the URL fragment (#token=<JWT> or
// #invite=<code>), which never reaches a server; they are read once, removed
// from the address bar with history.replaceState and kept in sessionStorage
// (this tab only). They are never logged and never put back into a URL.

const KEY = 'consilium.credentials';

const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const INVITE_RE = /^[0-9a-f]{16,64}$/i;

/** {token} or {invite} from a pasted link, fragment or bare code; null if it is neither. */
export function parseCredentials(text) {
  const s = String(text || '').trim();
  if (!s) return null;
  const hashAt = s.indexOf('#');
  const fragment = hashAt >= 0 ? s.slice(hashAt + 1) : s;
  const params = new URLSearchParams(fragment);
  const token = params.get('token');
  if (token && JWT_RE.test(token)) return { token };
  const invite = params.get('invite');
  if (invite && INVITE_RE.test(invite)) return { invite: invite.toLowerCase() };
  if (JWT_RE.test(s)) return { token: s };
  if (INVITE_RE.test(s)) return { invite: s.toLowerCase() };
  return null;
}

/** Reads #token= / #invite= from the address bar (then strips it), else the stored ones. */
export function takeCredentials() {
  const hash = location.hash.slice(1);
  if (/(^|&)(token|invite)=/.test(hash)) {
    const creds = parseCredentials(`#${hash}`);
    history.replaceState(history.state, '', location.pathname + location.search);
    if (creds) {
      saveCredentials(creds);
      return creds;
    }
    // A damaged link: fall through to the sign-in screen (stored ones are for someone else's link).
    clearCredentials();
    return { bad: true };
  }
  return loadCredentials();
}

export function saveCredentials(creds) {
  try { sessionStorage.setItem(KEY, JSON.stringify(creds.token ? { token: creds.token } : { invite: creds.invite })); } catch { /* private mode */ }
}

export function loadCredentials() {
  try {
    const v = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    if (v && (typeof v.token === 'string' || typeof v.invite === 'string')) return v;
  } catch { /* ignore */ }
  return null;
}

export function clearCredentials() {
  try { sessionStorage.removeItem(KEY); } catch { /* ignore */ }
}
