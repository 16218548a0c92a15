/**
 * Running another shim v2 binary exactly as containerd would: the same flags, environment,
 * bundle as working directory and runtime options on stdin; `start` answers with an
 * address, `delete` with a DeleteResponse.
 */
import { google, runtimeoptions, containerd } from '../../gen/proto.js';
import { failedPrecondition, internal, deadlineExceeded } from '../../errors/index.js';

export interface DelegateCommand {
  binary: string;
  namespace: string;
  id: string;
  bundle: string;
  /** containerd's gRPC address and its binary, as containerd passed them to us. */
  address: string;
  publishBinary: string;
  debug?: boolean;
  /** The delegate's runtime options (a Kata ConfigPath, say), sent as runtimeoptions.v1.Options. */
  options?: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /**
   * The working directory for `start` (default: the bundle). A shim's start writes its own
   * `address` file there and its Shutdown later removes the socket that file names; in the
   * bundle it would overwrite ours, and then remove our daemon's socket.
   */
  workDir?: string;
}

export function shimArgv(c: Pick<DelegateCommand, 'namespace' | 'id' | 'address' | 'publishBinary' | 'debug'>, action: 'start' | 'delete'): string[] {
  const argv = ['-namespace', c.namespace, '-address', c.address, '-publish-binary', c.publishBinary, '-id', c.id];
  if (c.debug) argv.push('-debug');
  argv.push(action);
  return argv;
}

/** Our own variables must not reach the delegate: it would take them for its own. */
function delegateEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!k.startsWith('SWITCHYARD_')) out[k] = v;
  return out;
}

/** The delegate's runtime options as containerd would send them (runtimeoptions.v1.Options), or null. */
export function encodeOptionsAny(options: Record<string, unknown> | undefined): { type_url: string; value: Uint8Array } | null {
  if (!options || Object.keys(options).length === 0) return null;
  const get = (k: string) => (typeof options[k] === 'string' ? (options[k] as string) : undefined);
  const value = runtimeoptions.v1.Options.encode({
    typeUrl: get('TypeUrl') ?? '',
    configPath: get('ConfigPath') ?? '',
    configBody: Buffer.from(get('ConfigBody') ?? ''),
  }).finish();
  return { type_url: 'runtimeoptions.v1.Options', value };
}

/** The same, as the bytes of an Any on `start`'s stdin. */
export function encodeOptions(options: Record<string, unknown> | undefined): Buffer {
  const any = encodeOptionsAny(options);
  return any ? Buffer.from(google.protobuf.Any.encode(any).finish()) : Buffer.alloc(0);
}

/** A delegate's `start` answer: where it listens, and the Task API version it serves there. */
export interface StartAnswer {
  address: string;
  /** 3: the delegate serves containerd.task.v3.Task (runc-v2 from containerd 2.x serves only that). */
  version: 2 | 3;
}

/** The address in a `start` answer: plain `unix://…`, or the JSON bootstrap of containerd 2.x shims. */
export function parseStartAnswer(out: string): string {
  return parseStartBootstrap(out).address;
}

export function parseStartBootstrap(out: string): StartAnswer {
  const text = out.trim();
  if (text.startsWith('{')) {
    let b: { address?: unknown; protocol?: unknown; version?: unknown };
    try {
      b = JSON.parse(text) as typeof b;
    } catch (err) {
      throw failedPrecondition(`delegate start: bad bootstrap answer ${JSON.stringify(text.slice(0, 200))}`, err);
    }
    if (b.protocol !== undefined && b.protocol !== 'ttrpc') throw failedPrecondition(`delegate start: protocol ${String(b.protocol)} is not supported, only ttrpc`);
    if (typeof b.address !== 'string' || !b.address) throw failedPrecondition('delegate start: bootstrap answer without an address');
    return { address: b.address, version: b.version === 3 ? 3 : 2 };
  }
  if (!/^(unix:\/\/)?\//.test(text)) throw failedPrecondition(`delegate start: unexpected answer ${JSON.stringify(text.slice(0, 200))}`);
  return { address: text, version: 2 };
}

async function runShim(c: DelegateCommand, action: 'start' | 'delete', input?: Buffer) {
  // Loaded on a delegate's first call: most daemons never have one, and execa brings ~20 modules.
  const { execa } = await import('execa');
  const r = await execa(c.binary, shimArgv(c, action), {
    // delete stays in the bundle: runc-v2's cleanup finds the bundle from its working directory.
    cwd: action === 'start' ? (c.workDir ?? c.bundle) : c.bundle,
    env: delegateEnv(c.env),
    extendEnv: false,
    input: input ?? Buffer.alloc(0),
    encoding: 'buffer',
    timeout: c.timeoutMs,
    reject: false,
    // A shim's start daemonizes; its children keep no pipe of ours open.
    cleanup: false,
  });
  if (r.timedOut) throw deadlineExceeded(`delegate ${c.binary} ${action} ${c.id}: timed out after ${c.timeoutMs} ms`);
  if (r.exitCode !== 0) {
    const why = Buffer.from(r.stderr as Uint8Array).toString().trim() || `exit status ${r.exitCode ?? r.signal}`;
    throw failedPrecondition(`delegate ${c.binary} ${action} ${c.id}: ${why}`);
  }
  return Buffer.from(r.stdout as Uint8Array);
}

/** `start`: the delegate's address (it may be an existing daemon serving the pod). */
export async function startDelegate(c: DelegateCommand): Promise<StartAnswer> {
  return parseStartBootstrap((await runShim(c, 'start', encodeOptions(c.options))).toString());
}

export interface DelegateExit {
  pid: number;
  exitStatus: number;
  exitedAt: Date;
  /** The raw DeleteResponse, to pass on unchanged. */
  raw: Buffer;
}

/** `delete`: the delegate's own cleanup of one task, and what it says of the exit. */
export async function deleteDelegate(c: DelegateCommand): Promise<DelegateExit> {
  const raw = await runShim(c, 'delete');
  try {
    const r = containerd.task.v2.DeleteResponse.decode(raw);
    const at = r.exitedAt ? new Date((r.exitedAt.seconds ?? 0) * 1000 + Math.floor((r.exitedAt.nanos ?? 0) / 1e6)) : new Date();
    return { pid: r.pid ?? 0, exitStatus: r.exitStatus ?? 255, exitedAt: at, raw };
  } catch (err) {
    throw internal(`delegate ${c.binary} delete ${c.id}: bad DeleteResponse`, err);
  }
}
