import fs from 'node:fs';
import { execa, type Options } from 'execa';
import { ErrorKind, ShimError } from '../../errors/index.js';

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
  timeoutMs: number;
  /** The runtime's --log file, whose last error line explains a failure better than stderr. */
  logFile?: string;
  /** The subcommand, for error messages: "runc exec: …". */
  command: string;
}

/**
 * Runs one runtime command: argument arrays only, never a shell; a time limit on every
 * call, and a failure that names the call, the exit code and the runtime's own words.
 */
export async function runRuntime(binary: string, args: readonly string[], opts: RunOptions): Promise<string> {
  const capture = !opts.stdio;
  const options = {
    reject: false,
    timeout: opts.timeoutMs,
    killSignal: 'SIGKILL',
    stdin: opts.stdio ? opts.stdio[0] : opts.input !== undefined ? 'pipe' : 'ignore',
    stdout: opts.stdio ? opts.stdio[1] : 'pipe',
    stderr: opts.stdio ? opts.stdio[2] : 'pipe',
    input: opts.input,
    stripFinalNewline: true,
  } as Options;
  const result = await execa(binary, args, options);
  if (!result.failed) return capture ? String(result.stdout ?? '') : '';
  const stderr = String(result.stderr ?? '').trim();
  const logged = opts.logFile ? lastLogError(opts.logFile) : '';
  const why = logged || stderr || (result.timedOut ? `timed out after ${opts.timeoutMs} ms` : `exit status ${result.exitCode ?? result.signal}`);
  const command = `${binary} ${opts.command}`;
  const kind = result.timedOut ? ErrorKind.DeadlineExceeded : classify(why);
  return Promise.reject(
    new RuntimeCommandError(kind, `${command}: ${why}`, [binary, ...args], result.exitCode, stderr, { cause: result }),
  );
}

/** The runtime's words decide the kind, as containerd's runc shim does (checkKillError). */
function classify(message: string): ErrorKind {
  if (/does not exist|not found|no such container/i.test(message)) return ErrorKind.NotFound;
  if (/process already finished|container not running|no such process/i.test(message)) return ErrorKind.NotFound;
  if (/already exists/i.test(message)) return ErrorKind.AlreadyExists;
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
