// cli.test.js — the `consilium` command line: version, help, config, token,
// refusing insecure listening, config files with errors.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { BIN, Gateway, HOST, cleanup, decodeJwt, freePort, httpRequest, runCli, tempDir, withTimeout } from '../lib/gateway.js';

const here = path.dirname(fileURLToPath(import.meta.url));

// Every key of gateway/config.c with its documented default. Durations are
// compared by value (the printer may write 24h as 1d or 86400s).
const DEFAULTS = {
  'listen.address': '127.0.0.1',
  'listen.port': '8080',
  'tls.cert': '',
  'tls.key': '',
  insecure: 'false',
  public_url: '',
  data_dir: 'data',
  web_root: 'web',
  'log.level': 'info',
  'log.format': 'plain',
  'auth.hs256_secret_file': '',
  'auth.es256_public_key': '',
  'auth.es256_private_key': '',
  'auth.issuer': '',
  'auth.audience': '',
  'auth.leeway': '30s',
  'limits.max_message': '65536',
  'limits.max_connections': '20000',
  'limits.max_queued_bytes': '4194304',
  'limits.rate': '20',
  'limits.burst': '40',
  'limits.auth_timeout': '10s',
  'limits.max_active_consults': '100000',
  'limits.max_open_per_clinician': '50',
  'queue.emergency.warn': '10m',
  'queue.emergency.deadline': '2h',
  'queue.emergency.expire': '24h',
  'queue.urgent.warn': '4h',
  'queue.urgent.deadline': '24h',
  'queue.urgent.expire': '3d',
  'queue.planned.warn': '2d',
  'queue.planned.deadline': '7d',
  'queue.planned.expire': '14d',
  'queue.auto_route_overdue': 'false',
  'invite.ttl': '24h',
  'consult.retain': '24h',
  demo: 'false',
};

const UNIT_MS = { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000 };
/** '10m' → 600000; anything else is returned unchanged. */
function normalise(v) {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(v);
  return m ? `${Number(m[1]) * UNIT_MS[m[2]]}ms` : v;
}

/** `consilium config` output → { key: value } (comments skipped). */
function parseConfig(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+) = ?(.*)$/.exec(line);
    assert.ok(m, `config line "${line}" is "key = value"`);
    out[m[1]] = m[2];
  }
  return out;
}

/** Spawns `consilium run ...` and resolves with its exit, or with {listening} once it logs the port. */
function runUntilListeningOrExit(args, timeout = 5000) {
  const proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  const result = new Promise((resolve) => {
    proc.stderr.on('data', (d) => {
      stderr += d;
      const m = /listening on .*\(port (\d+)\)/.exec(stderr);
      if (m) resolve({ listening: Number(m[1]), proc, get stderr() { return stderr; } });
    });
    proc.on('exit', (code, signal) => resolve({ code, signal, proc, get stderr() { return stderr; } }));
  });
  return withTimeout(result, timeout, `consilium ${args.join(' ')}`).catch((e) => { proc.kill('SIGKILL'); throw e; });
}

describe('consilium command line', () => {
  after(cleanup);

  test('--version prints the version and exits 0', () => {
    for (const flag of ['--version', '-V']) {
      const r = runCli([flag]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^consilium \d+\.\d+\.\d+\s*$/);
    }
  });

  test('--help prints usage and exits 0', () => {
    for (const flag of ['--help', '-h']) {
      const r = runCli([flag]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /usage: consilium/);
      for (const word of ['token', 'config', '--set', '--data-dir', '--insecure']) assert.ok(r.stdout.includes(word), `help mentions ${word}`);
    }
  });

  test('an unknown command and an unknown option exit non-zero', () => {
    const r = runCli(['frobnicate']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
    const r2 = runCli(['config', '--no-such-option']);
    assert.notEqual(r2.status, 0);
  });

  test('`consilium config` prints every key with its default', () => {
    const r = runCli(['config']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^listen\.port = 8080$/m);
    const cfg = parseConfig(r.stdout);
    // Every key of the table in gateway/config.c is printed, with its default there ...
    const source = fs.readFileSync(path.join(here, '../../gateway/config.c'), 'utf8');
    const table = [...source.matchAll(/^\s*\{"([a-z0-9_.]+)", T_[A-Z]+, F\([^)]*\), "([^"]*)"/gm)].map((m) => [m[1], m[2]]);
    assert.ok(table.length >= Object.keys(DEFAULTS).length, `read ${table.length} keys from config.c`);
    for (const [key, def] of table) {
      assert.ok(key in cfg, `\`consilium config\` prints ${key}`);
      assert.equal(normalise(cfg[key]), normalise(def), `${key} default`);
    }
    assert.deepEqual(Object.keys(cfg).sort(), table.map(([k]) => k).sort(), 'and nothing else');
    // ... and the documented defaults are what they are.
    for (const [key, def] of Object.entries(DEFAULTS)) assert.equal(normalise(cfg[key]), normalise(def), key);
    // Every key is documented by a comment line.
    const comments = r.stdout.split('\n').filter((l) => l.startsWith('# ')).length;
    assert.ok(comments >= Object.keys(DEFAULTS).length);
  });

  test('--set and the shorthand options change what `consilium config` prints', () => {
    const r = runCli(['config', '--set', 'limits.rate=7', '-p', '9000', '--listen', '::1', '-d', '/tmp/x',
      '--insecure', '--log-json', '--set', 'queue.emergency.warn=1500ms', '--set', 'routes.kirov=vologda,perm']);
    assert.equal(r.status, 0, r.stderr);
    const cfg = parseConfig(r.stdout);
    assert.equal(cfg['limits.rate'], '7');
    assert.equal(cfg['listen.port'], '9000');
    assert.equal(cfg['listen.address'], '::1');
    assert.equal(cfg.data_dir, '/tmp/x');
    assert.equal(cfg.insecure, 'true');
    assert.equal(cfg['log.format'], 'json');
    assert.equal(normalise(cfg['queue.emergency.warn']), '1500ms');
    assert.match(r.stdout, /^routes\.kirov = vologda$/m);
    assert.match(r.stdout, /^routes\.kirov = perm$/m);
  });

  test('an unknown --set key exits non-zero naming the key', () => {
    for (const cmd of [['config'], ['run', '--port', '0', '--data-dir', path.join(tempDir(), 'd')]]) {
      const r = runCli([...cmd, '--set', 'limits.no_such_key=1']);
      assert.notEqual(r.status, 0, `${cmd[0]} accepted an unknown key`);
      assert.match(r.stderr, /limits\.no_such_key/);
    }
  });

  test('bad values are refused naming the key', () => {
    for (const [kv, key] of [['listen.port=70000', 'listen.port'], ['limits.rate=fast', 'limits.rate'],
      ['insecure=yes', 'insecure'], ['auth.leeway=soon', 'auth.leeway'], ['log.level=loud', 'log.level'], ['routes.kirov=Bad Name', 'routes.kirov']]) {
      const r = runCli(['config', '--set', kv]);
      assert.notEqual(r.status, 0, `${kv} was accepted`);
      assert.ok(r.stderr.includes(key), `message for ${kv} names ${key}: ${r.stderr}`);
    }
    const noEq = runCli(['config', '--set', 'limits.rate']);
    assert.notEqual(noEq.status, 0);
    assert.match(noEq.stderr, /KEY=VALUE/);
  });

  test('deadlines out of order are refused at start', () => {
    const r = runCli(['run', '--port', '0', '--data-dir', path.join(tempDir(), 'd'),
      '--set', 'queue.urgent.warn=2h', '--set', 'queue.urgent.deadline=1h']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /queue\.urgent/);
  });

  test('a --config file applies before --set overrides', () => {
    const dir = tempDir();
    const file = path.join(dir, 'consilium.conf');
    fs.writeFileSync(file, '# Consilium test configuration\n\nlisten.port = 8181   # trailing comment\nlimits.rate = 11\nroutes.kirov = vologda\n');
    const r = runCli(['config', '--config', file, '--set', 'limits.rate=12']);
    assert.equal(r.status, 0, r.stderr);
    const cfg = parseConfig(r.stdout);
    assert.equal(cfg['listen.port'], '8181');
    assert.equal(cfg['limits.rate'], '12', '--set wins over the file');
    assert.match(r.stdout, /^routes\.kirov = vologda$/m);
  });

  test('a --config file with a bad line reports file:line', () => {
    const dir = tempDir();
    const file = path.join(dir, 'bad.conf');
    fs.writeFileSync(file, '# comment\nlisten.port = 8181\nthis line has no equals sign\nlimits.rate = 5\n');
    const r = runCli(['config', '--config', file]);
    assert.notEqual(r.status, 0);
    assert.ok(r.stderr.includes(`${file}:3`), `names ${file}:3: ${r.stderr}`);

    const file2 = path.join(dir, 'unknown.conf');
    fs.writeFileSync(file2, 'listen.port = 8181\n\n# ok so far\nno.such.key = 1\n');
    const r2 = runCli(['run', '--config', file2]);
    assert.notEqual(r2.status, 0);
    assert.ok(r2.stderr.includes(`${file2}:4`), `names ${file2}:4: ${r2.stderr}`);
    assert.ok(r2.stderr.includes('no.such.key'));

    const file3 = path.join(dir, 'badvalue.conf');
    fs.writeFileSync(file3, 'limits.burst = lots\n');
    const r3 = runCli(['config', '-c', file3]);
    assert.notEqual(r3.status, 0);
    assert.ok(r3.stderr.includes(`${file3}:1`), r3.stderr);
    assert.ok(r3.stderr.includes('limits.burst'));

    const r4 = runCli(['config', '--config', path.join(dir, 'missing.conf')]);
    assert.notEqual(r4.status, 0);
    assert.ok(r4.stderr.includes('missing.conf'));
  });

  test('refuses plain http on a non-loopback address unless --insecure', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const port = await freePort('0.0.0.0');
    const refused = await runUntilListeningOrExit(['run', '--listen', '0.0.0.0', '--port', String(port), '--data-dir', dataDir]);
    assert.equal(refused.listening, undefined, 'must not start listening on 0.0.0.0 without TLS');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /insecure/i);

    const port2 = await freePort('0.0.0.0');
    const started = await runUntilListeningOrExit(['run', '--listen', '0.0.0.0', '--port', String(port2), '--data-dir', dataDir, '--insecure']);
    try {
      assert.equal(started.listening, port2, `started with --insecure: ${started.stderr}`);
      const r = await httpRequest({ host: HOST, port: port2, path: '/healthz' });
      assert.equal(r.status, 200);
    } finally {
      started.proc.kill('SIGTERM');
    }
    const exit = await withTimeout(new Promise((res) => {
      if (started.proc.exitCode !== null) res(started.proc.exitCode);
      else started.proc.on('exit', (code) => res(code));
    }), 5000, 'exit after SIGTERM');
    assert.equal(exit, 0);
  });

  test('a port already in use: exits non-zero with a message', async () => {
    const gw = await Gateway.start();
    const r = runCli(['run', '--port', String(gw.port), '--data-dir', path.join(tempDir(), 'd')]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /listen|bind|port/i);
    await gw.stop();
  });

  test('`consilium token` mints a verifiable HS256 token with the given claims', () => {
    const dataDir = path.join(tempDir(), 'data');
    const r = runCli(['token', '--data-dir', dataDir, '--role', 'specialist', '--tenant', 'kirov', '--name', 'Dr Ivanova',
      '--specialty', 'cardiology', '--specialty', 'neurology', '--ttl', '2h']);
    assert.equal(r.status, 0, r.stderr);
    const { header, payload } = decodeJwt(r.stdout.trim());
    assert.equal(header.alg, 'HS256');
    assert.equal(payload.sub, 'dr-ivanova', 'subject derived from the name');
    assert.equal(payload.name, 'Dr Ivanova');
    assert.equal(payload.role, 'specialist');
    assert.equal(payload.tenant, 'kirov');
    assert.deepEqual(payload.specialties, ['cardiology', 'neurology']);
    const now = Date.now() / 1000;
    assert.ok(Math.abs(payload.exp - (now + 7200)) < 60, `exp ≈ now + 2h: ${payload.exp}`);
    assert.ok(fs.existsSync(path.join(dataDir, 'jwt-secret')), 'the secret is created in the data dir');
    const mode = fs.statSync(path.join(dataDir, 'jwt-secret')).mode & 0o777;
    assert.equal(mode, 0o600, 'the secret file is private');
  });

  test('`consilium token` refuses incomplete or invalid identities', () => {
    const dataDir = path.join(tempDir(), 'data');
    const cases = [
      ['--tenant', 'kirov', '--name', 'X'],                                   // no role
      ['--role', 'clinician', '--name', 'X'],                                 // no tenant
      ['--role', 'wizard', '--tenant', 'kirov', '--name', 'X'],               // bad role
      ['--role', 'clinician', '--tenant', 'Kirov City', '--name', 'X'],       // bad tenant
      ['--role', 'specialist', '--tenant', 'kirov', '--name', 'X'],           // specialist without specialty
      ['--role', 'clinician', '--tenant', 'kirov', '--name', 'X', '--ttl', 'forever'],
      ['--role', 'clinician', '--tenant', 'kirov', '--name', 'X', '--alg', 'ES256'], // no ES256 key configured
    ];
    for (const args of cases) {
      const r = runCli(['token', '--data-dir', dataDir, ...args]);
      assert.notEqual(r.status, 0, `accepted: ${args.join(' ')}`);
      assert.equal(r.stdout.trim(), '', 'prints no token');
      assert.match(r.stderr, /consilium: /);
    }
  });
});
