// documents.js — a signed conclusion's document as a PDF (RECORDS.md): GET
// /api/documents/<id>/pdf with the same Authorization header as the
// attachments (Bearer or Invite, never in a URL), saved by the browser under a
// readable name ("conclusion-Иван-Сидоров-v2.pdf") through a short-lived
// blob: URL. Failures are AttachmentErrors (errors.js words them as for a
// 'download').

import { fetchAuthorized, AttachmentError } from './attachments.js';

/** The PDF of a document as a Blob (application/pdf). */
export async function documentPdf(id) {
  if (typeof id !== 'string' || !id) throw new AttachmentError('not_found', 404);
  const blob = await fetchAuthorized(`/api/documents/${encodeURIComponent(id)}/pdf`);
  return blob.type === 'application/pdf' ? blob : new Blob([blob], { type: 'application/pdf' });
}

/** A file name safe on every system: no path or reserved characters, spaces as dashes, not too long. */
export function safeFileName(stem, ext = 'pdf') {
  const clean = String(stem || '')
    .replace(/[\u0000-\u001f\u007f/\\:*?"<>|]+/g, ' ')
    .trim()
    .replace(/\s+/g, '-')
    .replace(/^\.+/, '');
  const cut = [...clean].slice(0, 100).join('');
  return `${cut || 'document'}.${ext}`;
}

/** Downloads the document's PDF as fileName (the browser's own download). */
export async function downloadDocumentPdf(id, fileName) {
  const blob = await documentPdf(id);
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has its own copy by then; the URL is not kept around.
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
