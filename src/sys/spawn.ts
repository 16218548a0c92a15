/**
 * Spawning without copying the daemon. libuv's spawn forks, and until the child has exec'd
 * the event loop waits: the fork copies the page tables of the whole daemon, so each runtime
 * call costs more as the daemon grows and under load (docs/bench/pod-start-profile.md).
 * glibc's posix_spawn runs the child on the parent's memory (clone with CLONE_VM and
 * CLONE_VFORK) until exec, whatever the daemon's size.
 *
 * The child is not libuv's: its exit comes from our Reaper, which must be running. What
 * libuv does in its child is done here by attributes: every signal back to its default
 * action (Node ignores SIGPIPE, and an ignored signal survives exec), an empty signal mask,
 * and no descriptor but 0, 1 and 2.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { libc } from './libc.js';
import { O_CLOEXEC } from './fds.js';
import { errnoName } from './syscall-error.js';
import type { ExitInfo } from './reaper.js';

export type StdioSlot = number | 'ignore' | 'pipe';

export interface FastSpawnOptions {
  argv0: string;
  /** Slots 0–2: a descriptor of ours (3 or above), /dev/null, or a pipe we read. */
  stdio: [StdioSlot, StdioSlot, StdioSlot];
  env?: NodeJS.ProcessEnv;
}

/**
 * The part of a ChildProcess the runtime runner uses: pid, stdout, stderr, kill, and the
 * 'error', 'exit' and 'close' events in the same order and with the same arguments.
 */
export interface SpawnedChild extends EventEmitter {
  readonly pid?: number | undefined;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly stdin?: Writable | null;
  kill(signal?: NodeJS.Signals): boolean;
}

/** Whether these options can be spawned here: stdin is never a pipe, and no slot reuses 0–2. */
export function fastSpawnable(file: string, o: FastSpawnOptions): boolean {
  return file.startsWith('/') && o.stdio[0] !== 'pipe' && o.stdio.every((s) => typeof s !== 'number' || s > 2);
}

const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
// glibc's opaque sizes on 64-bit Linux are 80 (file actions), 336 (attributes) and 128
// (sigset_t); room to spare costs nothing.
const FILE_ACTIONS_BYTES = 256;
const ATTR_BYTES = 512;
const SIGSET_BYTES = 256;

/**
 * Spawns `file` (an absolute path) with posix_spawn; its exit is `watch(pid)`'s. Failures
 * to spawn arrive as an 'error' event then 'close', as child_process reports them.
 */
export function spawnFast(file: string, args: readonly string[], o: FastSpawnOptions, watch: (pid: number) => Promise<ExitInfo>): SpawnedChild {
  if (!fastSpawnable(file, o)) throw new RangeError(`spawnFast: ${file} with stdio ${JSON.stringify(o.stdio)} needs child_process`);
  const c = libc();
  const ours: number[] = [];
  const pipes: (number | undefined)[] = [undefined, undefined, undefined];
  const fa = Buffer.alloc(FILE_ACTIONS_BYTES);
  const attr = Buffer.alloc(ATTR_BYTES);
  c.posix_spawn_file_actions_init(fa);
  c.posix_spawnattr_init(attr);
  let pid: number | undefined;
  let errno = 0;
  try {
    for (let slot = 0; slot < 3; slot++) {
      const s = o.stdio[slot]!;
      if (s === 'ignore') {
        c.posix_spawn_file_actions_addopen(fa, slot, '/dev/null', slot === 0 ? fs.constants.O_RDONLY : fs.constants.O_WRONLY, 0);
      } else if (s === 'pipe') {
        const ends = new Int32Array(2);
        if (c.pipe2(ends, O_CLOEXEC) < 0) throw new Error(`pipe2: ${c.strerror(c.koffi.errno())}`);
        ours.push(ends[0]!, ends[1]!);
        pipes[slot] = ends[0]!;
        c.posix_spawn_file_actions_adddup2(fa, ends[1]!, slot);
      } else {
        c.posix_spawn_file_actions_adddup2(fa, s, slot);
      }
    }
    // The daemon's own descriptors without close-on-exec (an inherited listening socket) stay ours.
    c.posix_spawn_file_actions_addclosefrom_np(fa, 3);
    const all = Buffer.alloc(SIGSET_BYTES);
    const none = Buffer.alloc(SIGSET_BYTES);
    // Every signal, 1 to 64, bit by bit: sigfillset leaves out glibc's two internal ones
    // (32, 33), and posix_spawn leaves a signal outside this set ignored in the program.
    c.sigemptyset(all);
    all.fill(0xff, 0, 8);
    c.sigemptyset(none);
    c.posix_spawnattr_setsigdefault(attr, all);
    c.posix_spawnattr_setsigmask(attr, none);
    c.posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    const env = Object.entries(o.env ?? process.env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
    const out = new Int32Array(1);
    // posix_spawn returns the error number; errno is not set.
    errno = c.posix_spawn(out, file, fa, attr, [o.argv0, ...args, null], [...env, null]);
    if (errno === 0) pid = out[0]!;
  } catch (err) {
    for (const fd of ours) fs.closeSync(fd);
    throw err;
  } finally {
    c.posix_spawn_file_actions_destroy(fa);
    c.posix_spawnattr_destroy(attr);
  }
  // The child has its copies of the write ends; ours would hold its output open forever.
  for (let slot = 1; slot < 3; slot++) {
    if (pipes[slot] === undefined) continue;
    const write = ours[ours.indexOf(pipes[slot]!) + 1]!;
    fs.closeSync(write);
  }
  return new FastChild(pid, errno, file, pipes, watch);
}

class FastChild extends EventEmitter implements SpawnedChild {
  readonly stdout: net.Socket | null;
  readonly stderr: net.Socket | null;
  private exited = false;

  constructor(
    readonly pid: number | undefined,
    errno: number,
    file: string,
    pipes: (number | undefined)[],
    watch: (pid: number) => Promise<ExitInfo>,
  ) {
    super();
    const stream = (fd: number | undefined) => (fd === undefined ? null : new net.Socket({ fd, readable: true, writable: false }));
    this.stdout = stream(pipes[1]);
    this.stderr = stream(pipes[2]);
    if (pid === undefined) {
      for (const s of [this.stdout, this.stderr]) s?.destroy();
      const code = errnoName(errno);
      const err = Object.assign(new Error(`spawn ${file} ${code}`), { errno: -errno, code, syscall: `spawn ${file}`, path: file });
      process.nextTick(() => {
        this.emit('error', err);
        this.emit('close', -errno, null);
      });
      return;
    }
    const closed = [this.stdout, this.stderr].map((s) => (s ? new Promise<void>((r) => s.once('close', () => r())) : Promise.resolve()));
    void watch(pid).then(
      async (info) => {
        this.exited = true;
        // The reaper's status is the code or 128 + the signal, as containerd counts: a runtime
        // killed by a signal reads as that status, which is all the runner tells apart.
        this.emit('exit', info.status, null);
        await Promise.all(closed);
        this.emit('close', info.status, null);
      },
      (err: unknown) => {
        this.exited = true;
        this.emit('error', err);
        this.emit('close', null, null);
      },
    );
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.pid === undefined || this.exited) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}
