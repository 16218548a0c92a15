/**
 * Exit collection for the shim daemon. As child subreaper it inherits every container
 * process runc leaves behind, and collects their statuses with waitpid on the pids it was
 * asked to watch.
 *
 * It never calls waitpid(-1) as containerd's reaper does: libuv reaps the children it
 * spawned (child_process, execa) with waitpid on each of their pids, and a status taken
 * from under it leaves that child's exit event, and whoever awaits it, hanging forever.
 */
import { childPids, readProcStat } from './proc.js';
import { processGone } from './process-gone.js';
import { exitStatusCode, setChildSubreaper, waitpidNoHang } from './process.js';
import { isSyscallError } from './syscall-error.js';

export interface ExitInfo {
  pid: number;
  /** The exit code, or 128 + the killing signal; 255 when unknownStatus. */
  status: number;
  exitedAt: Date;
  /** The pid was not our child: we saw it go but could not read its status. */
  unknownStatus: boolean;
}

export interface ReaperOptions {
  /**
   * Pids of children we spawned through child_process or execa, which libuv reaps: the
   * sweep leaves them alone. The sweep is safe without it too (see sweepOrphans).
   */
  exclude?: (pid: number) => boolean;
  /**
   * Wait after a SIGCHLD before sweeping unwatched zombies; 0 turns sweeping off. Default
   * SWEEP_DELAY_MS. A sweep only reaps zombies an earlier one saw, so an orphan goes in two.
   */
  sweepDelayMs?: number;
  /** Check interval for a watched pid that is not our child, when no pidfd can be had. Default 200. */
  pollIntervalMs?: number;
  /** How many swept exits to keep for a watch() that comes late. Default 1024. */
  rememberExits?: number;
  /** Each unwatched zombie the sweep reaps. */
  onOrphan?: (info: ExitInfo) => void;
  /** Failures that have no caller to go to (reading /proc in a sweep). Default: a process warning. */
  onError?: (err: unknown) => void;
}

interface Watch {
  pid: number;
  promise: Promise<ExitInfo>;
  resolve: (info: ExitInfo) => void;
  reject: (err: unknown) => void;
  /** child: waitpid on each SIGCHLD; foreign: not our child, see processGone. */
  mode?: 'child' | 'foreign';
  cancel?: () => void;
}

const KEEP_ALIVE_MS = 0x7fffffff;

/**
 * A sweep reads /proc for every unwatched child (~50 µs each, and a gVisor pod leaves us
 * a sandbox and a gofer per container), so it does not follow every exit. An orphan that
 * somebody waits on is collect()ed instead, and reaped on its own SIGCHLD.
 */
const SWEEP_DELAY_MS = 1000;

export class Reaper {
  readonly #opts: ReaperOptions & Required<Pick<ReaperOptions, 'sweepDelayMs' | 'pollIntervalMs' | 'rememberExits' | 'onError'>>;
  readonly #watches = new Map<number, Watch>();
  /** Exits the sweep collected, by pid, oldest first. */
  readonly #recent = new Map<number, ExitInfo>();
  /** Unwatched zombies a sweep saw but left for the next one, keyed by pid and start time. */
  #seenZombies = new Set<string>();
  #started = false;
  #sweepTimer: NodeJS.Timeout | undefined;
  #keepAlive: NodeJS.Timeout | undefined;

  constructor(opts: ReaperOptions = {}) {
    this.#opts = {
      ...opts,
      sweepDelayMs: opts.sweepDelayMs ?? SWEEP_DELAY_MS,
      pollIntervalMs: opts.pollIntervalMs ?? 200,
      rememberExits: opts.rememberExits ?? 1024,
      onError: opts.onError ?? ((err) => process.emitWarning(err instanceof Error ? err : String(err), 'ReaperWarning')),
    };
  }

  /** Become child subreaper and listen for SIGCHLD. Idempotent. */
  start(): void {
    if (this.#started) return;
    setChildSubreaper();
    process.on('SIGCHLD', this.#onSigchld);
    this.#started = true;
    // Zombies may predate us (a restarted daemon).
    this.#scheduleSweep();
  }

  /** Stop listening; pending watch() promises reject. The subreaper flag stays set. */
  stop(): void {
    if (!this.#started) return;
    this.#started = false;
    process.off('SIGCHLD', this.#onSigchld);
    clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    for (const w of [...this.#watches.values()]) {
      this.#forget(w);
      w.reject(new Error(`reaper stopped while watching pid ${w.pid}`));
    }
  }

  /**
   * Resolves when pid exits. pid may have exited already: as our child it is then a
   * zombie that waitpid collects here, or the sweep has collected it and remembered it.
   * A pid that is not our child (a daemon restarted after its containers started)
   * resolves with status 255 and unknownStatus when it disappears.
   * Never pass a pid spawned through child_process: its status belongs to libuv.
   */
  watch(pid: number): Promise<ExitInfo> {
    if (!this.#started) throw new Error('Reaper.watch() called before start()');
    const existing = this.#watches.get(pid);
    if (existing) return existing.promise;
    let resolve!: (info: ExitInfo) => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<ExitInfo>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const w: Watch = { pid, promise, resolve, reject };
    this.#watches.set(pid, w);
    this.#updateKeepAlive();
    this.#check(w);
    return promise;
  }

  /**
   * Reaps pid the moment it ends and keeps its status for a later watch(), as the sweep
   * does but without its delay: for an orphan that somebody else waits on. `runsc delete`
   * polls its gofer with kill(pid, 0), which a zombie still answers; and the status of a
   * sandbox collected this way is still the one a task falls back on (an OOM kill's 137).
   */
  collect(pid: number): void {
    this.watch(pid).then(
      (info) => info.unknownStatus || this.#remember(info),
      () => {}, // stopped: nobody is left to ask
    );
  }

  /** Pids watched and not yet exited. */
  get watching(): number[] {
    return [...this.#watches.keys()];
  }

  /**
   * Reap zombie children nobody watches: descendants of containers reparented to us.
   * Skips watched pids and pids `exclude` claims. A zombie is reaped only once an earlier
   * sweep has seen it (unless `immediate`): by then the event loop has turned, so a
   * zombie that is libuv's own child has been reaped by libuv, even if `exclude` did not
   * know its pid.
   */
  sweepOrphans(exclude = this.#opts.exclude, immediate = false): ExitInfo[] {
    const reaped: ExitInfo[] = [];
    const stillSeen = new Set<string>();
    for (const pid of childPids()) {
      if (this.#watches.has(pid) || exclude?.(pid)) continue;
      const st = readProcStat(pid);
      if (st?.state !== 'Z') continue;
      // With the start time, a pid reused between two sweeps is not mistaken for the same zombie.
      const key = `${pid}:${st.startTime}`;
      if (!immediate && !this.#seenZombies.has(key)) {
        stillSeen.add(key);
        continue;
      }
      let r: ReturnType<typeof waitpidNoHang>;
      try {
        r = waitpidNoHang(pid);
      } catch {
        continue; // ECHILD: its owner reaped it first
      }
      if (!r) continue;
      const info: ExitInfo = { pid, status: exitStatusCode(r.status), exitedAt: new Date(), unknownStatus: false };
      this.#remember(info);
      reaped.push(info);
      this.#opts.onOrphan?.(info);
    }
    this.#seenZombies = stillSeen;
    return reaped;
  }

  // SIGCHLDs coalesce: one signal may stand for many exits, so every run checks every
  // watched child, not just one.
  readonly #onSigchld = (): void => {
    for (const w of [...this.#watches.values()]) if (w.mode === 'child') this.#check(w);
    this.#scheduleSweep();
  };

  #check(w: Watch): void {
    let r: ReturnType<typeof waitpidNoHang>;
    try {
      r = waitpidNoHang(w.pid);
    } catch (err) {
      if (!isSyscallError(err, 'ECHILD')) return this.#fail(w, err);
      return this.#notOurChild(w);
    }
    if (r) {
      this.#settle(w, { pid: w.pid, status: exitStatusCode(r.status), exitedAt: new Date(), unknownStatus: false });
    } else {
      // Alive and ours: anything remembered under this pid was an earlier process.
      this.#recent.delete(w.pid);
      w.mode = 'child';
    }
  }

  #notOurChild(w: Watch): void {
    const remembered = this.#recent.get(w.pid);
    if (remembered) {
      this.#recent.delete(w.pid);
      return this.#settle(w, remembered);
    }
    // It was our child, and someone else reaped it: it is gone, its status with it.
    if (w.mode === 'child') return this.#settle(w, unknownExit(w.pid));
    this.#watchForeign(w);
  }

  #watchForeign(w: Watch): void {
    w.mode = 'foreign';
    const ac = new AbortController();
    w.cancel = () => ac.abort();
    // ref: false, the keep-alive timer already holds the loop for every pending watch.
    processGone(w.pid, { signal: ac.signal, pollIntervalMs: this.#opts.pollIntervalMs, ref: false }).then(
      () => this.#settle(w, unknownExit(w.pid)),
      () => {}, // aborted: settled or stopped already
    );
  }

  #settle(w: Watch, info: ExitInfo): void {
    if (this.#watches.get(w.pid) !== w) return;
    this.#forget(w);
    w.resolve(info);
  }

  #fail(w: Watch, err: unknown): void {
    if (this.#watches.get(w.pid) !== w) return;
    this.#forget(w);
    w.reject(err);
  }

  #forget(w: Watch): void {
    this.#watches.delete(w.pid);
    w.cancel?.();
    this.#updateKeepAlive();
  }

  #remember(info: ExitInfo): void {
    this.#recent.delete(info.pid);
    this.#recent.set(info.pid, info);
    if (this.#recent.size > this.#opts.rememberExits) {
      this.#recent.delete(this.#recent.keys().next().value!);
    }
  }

  #scheduleSweep(): void {
    if (this.#opts.sweepDelayMs <= 0 || this.#sweepTimer || !this.#started) return;
    this.#sweepTimer = setTimeout(() => {
      this.#sweepTimer = undefined;
      try {
        this.sweepOrphans();
      } catch (err) {
        this.#opts.onError(err);
      }
      // Zombies seen once are reaped on the next sweep, even if no SIGCHLD comes.
      if (this.#seenZombies.size) this.#scheduleSweep();
    }, this.#opts.sweepDelayMs);
    this.#sweepTimer.unref();
  }

  // SIGCHLD listeners do not hold the event loop open, and an orphan is no libuv handle;
  // a pending watch must, as a pending child_process does.
  #updateKeepAlive(): void {
    if (this.#watches.size && !this.#keepAlive) {
      this.#keepAlive = setInterval(() => {}, KEEP_ALIVE_MS);
    } else if (!this.#watches.size && this.#keepAlive) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
  }
}

function unknownExit(pid: number): ExitInfo {
  return { pid, status: 255, exitedAt: new Date(), unknownStatus: true };
}
