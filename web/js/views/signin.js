// views/signin.js — the sign-in screen, shown when there are no credentials,
// after signing out, or when the gateway refused or expired them. It explains
// how to sign in (open the link the centre sent) and accepts a pasted link,
// token or invitation code.

import { h } from '../dom.js';
import { t, applyI18n } from '../i18n.js';
import { parseCredentials } from '../auth.js';

/**
 * message: {key, kind: 'error'|'info'} shown above the form (translated live).
 * onCredentials(creds) is called with {token} or {invite}.
 */
export function createSigninView({ message, onCredentials }) {
  const input = h('textarea', {
    id: 'signin-link', rows: '3', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none',
    'aria-describedby': 'signin-hint signin-error',
  });
  const error = h('p', { id: 'signin-error', class: 'field-error', hidden: true });
  let errorKey = null;
  const showError = (key) => {
    errorKey = key;
    error.textContent = key ? t(key) : '';
    error.hidden = !key;
    if (key) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  };

  const form = h('form', { class: 'signin-form', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'signin-link', 'data-i18n': 'signin.pasteLabel' }),
      h('p', { id: 'signin-hint', class: 'hint', 'data-i18n': 'signin.pasteHint' }),
      input,
      error),
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-i18n': 'signin.submit' })));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = input.value;
    if (!value.trim()) { showError('signin.empty'); input.focus(); return; }
    const creds = parseCredentials(value);
    if (!creds) { showError('signin.bad'); input.focus(); return; }
    showError(null);
    input.value = '';
    onCredentials(creds);
  });

  const msg = message
    ? h('div', { class: ['signin-message', message.kind === 'error' ? 'is-error' : 'is-info'], role: message.kind === 'error' ? 'alert' : 'status' },
      h('span', { class: 'alert-icon', 'aria-hidden': 'true', text: message.kind === 'error' ? '!' : 'i' }),
      h('p', { 'data-i18n': message.key }))
    : null;

  const el = h('div', { class: 'layout layout-signin' },
    h('section', { class: 'panel signin-panel', 'aria-labelledby': 'signin-title' },
      h('h2', { id: 'signin-title', tabindex: '-1', 'data-i18n': 'signin.title' }),
      msg,
      h('p', { class: 'lead', 'data-i18n': 'signin.lead' }),
      h('p', { 'data-i18n': 'signin.guestLead' }),
      form,
      h('p', { class: 'hint privacy', 'data-i18n': 'signin.privacy' })));
  applyI18n(el);
  return {
    el,
    update() {},
    relabel() { applyI18n(el); if (errorKey) showError(errorKey); },
    destroy() {},
    focus() { (msg ? el.querySelector('#signin-title') : input).focus(); },
  };
}
