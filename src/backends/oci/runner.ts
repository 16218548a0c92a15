import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { ErrorKind, ShimError } from '../../errors/index.js';
import { findOnPath } from '../../routing/find-on-path.js';
import { fastSpawnable, type FastSpawnOptions, type SpawnedChild } from '../../sys/spawn.js';

/** A failed runtime call, with everything an operator needs to see why. */
export class RuntimeCommandError extends ShimError {
  constructor(
    kind: ErrorKind,
    message: string,
    readonly argv: readonly string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(kind, message, options);
    this.name = 'RuntimeCommandError';
  }
}

export interface RunOptions {
  stdio?: [number | 'ignore', number | 'ignore', number | 'ignore'];
  input?: string;
  /** Undefined only for a call that lasts as long as the container does (`runsc wait`). */
  timeoutMs: number | undefined;
  /** The runtime's --log file, whose last error line explains a failure better than stderr. */
  logFile?: string;
  /** The subcommand, for error messages: "runc exec: …". */
  command: string;
  /**
   * How the daemon spawns without forking itself (posix_spawn, exits from its reaper), where
   * the call allows it; child_process otherwise.
   */
  spawn?: FastSpawn;
}

/** spawnFast with the daemon's reaper bound. */
export type FastSpawn = (file: string, args: readonly string[], o: FastSpawnOptions) => SpawnedChild;

/**
 * Runs one runtime command: argument arrays only, never a shell; a time limit on every
 * call that should end by itself, and a failure that names the call, the exit code and the runtime's own words.
 */
export async function runRuntime(binary: string, args: readonly string[], opts: RunOptions): Promise<string> {
  let result = await run(binary, args, opts);
  // The file found earlier is gone (moved, uninstalled): nothing ran, so look again once.
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' && forget(binary)) result = await run(binary, args, opts);
  if (!result.error && result.exitCode === 0) return result.stdout;
  const stderr = result.stderr.trim();
  const logged = opts.logFile ? lastLogError(opts.logFile) : '';
  const why =
    logged || stderr || result.error?.message || (result.timedOut ? `timed out after ${opts.timeoutMs} ms` : `exit status ${result.exitCode ?? result.signal}`);
  const command = `${binary} ${opts.command}`;
  const kind = result.timedOut ? ErrorKind.DeadlineExceeded : spawnFailed(result.error) ? ErrorKind.FailedPrecondition : classify(why);
  return Promise.reject(new RuntimeCommandError(kind, `${command}: ${why}`, [binary, ...args], result.exitCode, stderr, { cause: result.error }));
}

/** The binary could not be run at all (missing, not executable): the node's to fix. */
function spawnFailed(err: Error | undefined): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'EACCES' || code === 'ENOEXEC';
}

interface RunResult {
  exitCode: number | undefined;
  signal: NodeJS.Signals | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  error?: Error;
}

/** After a timeout kill, how long the runtime's output may take to drain. */
const PIPE_GRACE_MS = 100;

/**
 * Runtime names resolved to their executable, once: a spawn by name tries every PATH entry
 * before the right one inside the forked child, while the daemon's event loop waits for it
 * (5 failed execve per runc call under containerd's PATH; docs/bench/pod-start-profile.md).
 * A path that stops working is looked up again.
 */
const resolved = new Map<string, string>();
const keyOf = (binary: string) => `${binary}\0${process.env.PATH ?? ''}`;

function executableOf(binary: string): string {
  // Not found: spawn the name as given, whose failure then names it (and is not kept).
  const found = resolved.get(keyOf(binary)) ?? findOnPath(binary);
  if (!found) return binary;
  resolved.set(keyOf(binary), found);
  return found;
}

/** Drops what `binary` resolved to; whether there was anything to drop. */
function forget(binary: string): boolean {
  return resolved.delete(keyOf(binary));
}

/**
 * child_process.spawn rather than execa on this path: it runs three or more times per
 * container, and execa's extra machinery costs ~1.5 ms of daemon CPU per call (make bench).
 */
function run(binary: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    const stdio = opts.stdio ?? [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'];
    const file = executableOf(binary);
    let child: SpawnedChild;
    try {
      // argv0 stays the name the config gave, as the runtime saw it before.
      const o = { argv0: binary, stdio: stdio as FastSpawnOptions['stdio'] };
      child = opts.spawn && fastSpawnable(file, o) ? opts.spawn(file, args, o) : spawn(file, args, o);
    } catch (err) {
      resolve({ exitCode: undefined, signal: undefined, stdout: '', stderr: '', timedOut: false, error: err as Error });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    let timedOut = false;
    let spawnError: Error | undefined;
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({
        exitCode: code ?? undefined,
        signal: signal ?? undefined,
        stdout: Buffer.concat(out).toString().replace(/\r?\n$/, ''),
        stderr: Buffer.concat(err).toString(),
        timedOut,
        error: spawnError,
      });
    };
    let exit: [number | null, NodeJS.Signals | null] | undefined;
    child.once('exit', (code: number | null, signal: NodeJS.Signals | null) => (exit = [code, signal]));
    // A process the runtime left behind may hold our pipes open for as long as it lives:
    // a timed-out call ends when the runtime itself is gone, not when they close.
    const endWithoutPipes = (code: number | null, signal: NodeJS.Signals | null) =>
      setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish(code, signal);
      }, PIPE_GRACE_MS).unref();
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            if (exit) return endWithoutPipes(...exit);
            child.kill('SIGKILL');
            child.once('exit', endWithoutPipes);
          }, opts.timeoutMs);
    child.once('error', (e) => (spawnError = e));
    if (child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
    // 'close', not 'exit': the output pipes are drained by then.
    child.once('close', finish);
  });
}

/**
 * The runtime's words decide the kind, as containerd's runc shim does (checkKillError), so
 * containerd gets a code it can act on. Unknown is left for what truly matches nothing.
 */
const KINDS: [RegExp, ErrorKind][] = [
  [/does not exist|not found|no such container|process already finished|container not running|no such process/i, ErrorKind.NotFound],
  [/already exists/i, ErrorKind.AlreadyExists],
  // A container in the wrong state for the call: paused, stopped, not yet started.
  [/in state \w+|is (not )?(running|paused|stopped|created)|container .* is not|cannot (start|pause|resume|signal|exec|checkpoint)|not paused|already paused|not supported|unsupported/i, ErrorKind.FailedPrecondition],
  [/invalid argument|unknown flag|flag provided but not defined|invalid (spec|config|process|value)|parse .* json|unmarshal/i, ErrorKind.InvalidArgument],
  [/no space left|cannot allocate memory|too many open files|resource temporarily unavailable|disk quota/i, ErrorKind.ResourceExhausted],
  // The node refuses (seccomp, an unreadable file, a missing privilege): not the caller's permission.
  [/permission denied|operation not permitted/i, ErrorKind.FailedPrecondition],
];

export function classify(message: string): ErrorKind {
  for (const [re, kind] of KINDS) if (re.test(message)) return kind;
  return ErrorKind.Unknown;
}

/** The last "error" entry of a runc-style JSON log. */
export function lastLogError(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
  const lines = text.trim().split('\n').reverse();
  for (const line of lines) {
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if (entry.level === 'error' && entry.msg) return entry.msg;
    } catch {
      // A torn last line is possible when the runtime was killed; look further up.
    }
  }
  return '';
}
