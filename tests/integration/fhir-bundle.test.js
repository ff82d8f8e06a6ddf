// fhir-bundle.test.js — the FHIR R4 transaction Bundle of a signed conclusion
// (gateway/document/fhir_bundle.c), checked by an independent validator (the
// official FHIR R4 JSON schema: tests/lib/fhir.js). The Bundles come from
// tests/tools/document_example, built next to the gateway binary (make
// integration builds it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { assertReferencesResolve, assertValid, validate } from '../lib/fhir.js';
import { BIN, cleanup } from '../lib/gateway.js';

after(cleanup);

const TOOL = path.join(path.dirname(BIN), 'tools', 'document_example');

/** What document_example prints with these options. */
function bundleText(...args) {
  assert.ok(fs.existsSync(TOOL), `${TOOL} is missing: build it with make (the integration target builds it)`);
  const r = spawnSync(TOOL, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `document_example ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** The Bundle document_example prints with these options, parsed. */
function bundle(...args) {
  return JSON.parse(bundleText(...args));
}

function resource(b, type) {
  const found = b.entry.filter((e) => e.resource.resourceType === type);
  assert.equal(found.length, 1, `one ${type}`);
  return found[0].resource;
}

function attachmentBytes(b) {
  return Buffer.from(resource(b, 'DocumentReference').content[0].attachment.data, 'base64');
}

describe('the FHIR R4 transaction Bundle of a signed conclusion', () => {
  test('the fixture document: a valid transaction of Encounter, Condition, DocumentReference', () => {
    const b = bundle();
    assertValid(b);
    assertReferencesResolve(b);
    assert.equal(b.type, 'transaction');
    assert.deepEqual(b.entry.map((e) => e.resource.resourceType), ['Encounter', 'Condition', 'DocumentReference']);
    for (const e of b.entry) {
      assert.equal(e.request.method, 'POST');
      assert.equal(e.request.url, e.resource.resourceType);
      assert.match(e.request.ifNoneExist, /^identifier=[^|&\s]+\|[^&\s]+$/);
    }
    assert.equal(resource(b, 'Encounter').status, 'finished');
    assert.equal(resource(b, 'DocumentReference').docStatus, 'final');
    const pdf = attachmentBytes(b);
    assert.equal(pdf.subarray(0, 4).toString('latin1'), '%PDF');
    assert.equal(resource(b, 'DocumentReference').content[0].attachment.size, pdf.length);
  });

  test('the same document gives the same bytes', () => {
    const first = bundleText('--amend');
    assert.ok(first.length > 1000);
    assert.equal(bundleText('--amend'), first);
  });

  test('an amendment replaces the earlier document', () => {
    const b = bundle('--amend');
    assertValid(b);
    assertReferencesResolve(b);
    const d = resource(b, 'DocumentReference');
    assert.equal(d.docStatus, 'amended');
    assert.equal(d.relatesTo.length, 1);
    assert.equal(d.relatesTo[0].code, 'replaces');
    assert.equal(d.relatesTo[0].target.identifier.system, 'urn:ietf:rfc:3986');
    assert.match(d.relatesTo[0].target.identifier.value, /^urn:uuid:/);
    assert.notEqual(d.relatesTo[0].target.identifier.value, d.masterIdentifier.value);
  });

  test('a consult still in progress at signing', () => {
    const b = bundle('--in-progress');
    assertValid(b);
    assertReferencesResolve(b);
    const enc = resource(b, 'Encounter');
    assert.equal(enc.status, 'in-progress');
    assert.ok(enc.period.start);
    assert.equal(enc.period.end, undefined);
  });

  test('an English document', () => {
    const b = bundle('--en');
    assertValid(b);
    const a = resource(b, 'DocumentReference').content[0].attachment;
    assert.equal(a.language, 'en');
    assert.match(a.title, /^Consultant's conclusion: /);
  });

  test('with the PDF cs_document_pdf renders', () => {
    const b = bundle('--real-pdf');
    assertValid(b);
    const pdf = attachmentBytes(b);
    assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
    assert.ok(pdf.length > 1000, `a real PDF (${pdf.length} bytes)`);
    assert.equal(resource(b, 'DocumentReference').content[0].attachment.size, pdf.length);
  });

  test('the validator really checks: broken copies are refused', () => {
    const good = bundle();
    assert.equal(validate(good).length, 0);
    const breakages = {
      'DocumentReference.status not a code of its value set': (b) => { resource(b, 'DocumentReference').status = 'bogus'; },
      'an unknown property on the Condition': (b) => { resource(b, 'Condition').severityText = 'severe'; },
      'Attachment.size a string': (b) => { resource(b, 'DocumentReference').content[0].attachment.size = '83'; },
      'DocumentReference.date not an instant': (b) => { resource(b, 'DocumentReference').date = '2026-11-22 10:00'; },
      'an empty string': (b) => { resource(b, 'Encounter').reasonCode[0].text = ''; },
      'Encounter.type not an array': (b) => { resource(b, 'Encounter').type = { text: 'cardiology consultation' }; },
      'an unknown Bundle.type': (b) => { b.type = 'delivery-note'; },
    };
    for (const [what, breakIt] of Object.entries(breakages)) {
      const b = structuredClone(good);
      breakIt(b);
      assert.ok(validate(b).length > 0, `the validator accepted ${what}`);
    }
  });
});
