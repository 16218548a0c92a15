/**
 * The hand-over between `start` and a daemon that idles out. Without it a `start` can find
 * a daemon that is deciding to leave, answer its address, and containerd's Create then
 * fails with "ttrpc: closed". Two rules make it airtight:
 *
 * - One lock per daemon socket, taken by `start` for find-or-spawn-and-claim and by the
 *   daemon for deciding to leave. A daemon that leaves unlinks its socket before it lets
 *   go, so a `start` either finds a daemon that is staying or finds none and spawns one.
 * - A `start` that found the daemon leaves a claim (one file per task id) before it lets go.
 *   The daemon does not leave while a claim is fresh: containerd connects and sends Create
 *   only after `start` has exited, and that Create (whatever it answers) clears the claim.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sha256Hex } from './sha256.js';

/** A claim whose Create never came (containerd gave up, or died) stops holding the daemon after this. */
export const CLAIM_TTL_MS = 15_000;

/** The lock's name: the socket is what start and the daemon both know the daemon by. */
export function handoverLockName(socket: string): string {
  return `switchyard/handover/${sha256Hex(socket).slice(0, 32)}`;
}

function claimsDir(stateDir: string): string {
  return path.join(stateDir, 'claims');
}

/** Task ids are containerd's: kept as file names only when they are safe ones. */
function claimFile(stateDir: string, id: string): string {
  return path.join(claimsDir(stateDir), encodeURIComponent(id).replace(/^\.+/, (d) => '%2E'.repeat(d.length)));
}

/** `start`, under the lock: the daemon it found must wait for this task's Create. */
export function writeClaim(stateDir: string, id: string): void {
  fs.mkdirSync(claimsDir(stateDir), { recursive: true, mode: 0o700 });
  fs.writeFileSync(claimFile(stateDir, id), `${Date.now()}\n`, { mode: 0o600 });
}

/** The daemon, when Create for `id` has been answered. */
export function clearClaim(stateDir: string, id: string): void {
  if (id) fs.rmSync(claimFile(stateDir, id), { force: true });
}

/** Claims still fresh at `now`; stale ones are removed on the way. */
export function freshClaims(stateDir: string, now = Date.now()): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(claimsDir(stateDir));
  } catch {
    return [];
  }
  const fresh: string[] = [];
  for (const n of names) {
    const file = path.join(claimsDir(stateDir), n);
    try {
      if (now - fs.statSync(file).mtimeMs < CLAIM_TTL_MS) fresh.push(decodeURIComponent(n));
      else fs.rmSync(file, { force: true });
    } catch {
      // Cleared while we looked.
    }
  }
  return fresh;
}
