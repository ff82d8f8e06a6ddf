// sqlite-lock.js — another process holding a gateway database's write lock
// (tests/tools/sqlite_lock, built next to the gateway binary), as a backup or
// someone in the sqlite3 shell would: for the tests of a locked database.
import { spawn } from 'node:child_process';
import path from 'node:path';

import { BIN, withTimeout } from './gateway.js';

export const LOCK_TOOL = path.join(path.dirname(BIN), 'tools', 'sqlite_lock');

const held = new Set();

/** Takes db's write lock ('immediate' or 'exclusive') for ms; resolves once
 *  it is held: { proc, at, holding, release() (SIGTERM), done (resolves
 *  { code, signal, heldMs, stderr }) }. */
export async function lockDb(db, mode, ms) {
  const proc = spawn(LOCK_TOOL, [db, mode, String(ms)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { err += d; });
  const done = new Promise((resolve) => proc.on('exit', (code, signal) => {
    const m = /released (\d+)/.exec(out);
    resolve({ code, signal, heldMs: m ? Number(m[1]) : null, stderr: err });
  }));
  const locked = new Promise((resolve, reject) => {
    proc.stdout.on('data', (d) => { out += d; if (out.includes('locked')) resolve(); });
    done.then((x) => reject(new Error(`sqlite_lock ended before locking: ${JSON.stringify(x)}`)));
  });
  await withTimeout(locked, 15000, 'sqlite_lock to take the lock');
  const lock = {
    proc, done, at: Date.now(),
    get holding() { return proc.exitCode === null && proc.signalCode === null; },
    release() { if (lock.holding) proc.kill('SIGTERM'); return done; },
  };
  held.add(lock);
  done.then(() => held.delete(lock));
  return lock;
}

/** Releases every lock still held (for after()). */
export async function releaseLocks() {
  await Promise.all([...held].map((l) => l.release()));
}
