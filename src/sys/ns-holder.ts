/**
 * The process that holds a runc/crun pod's namespaces while its containers come and go:
 * `nsenter` into the pod's network namespace (CRI made it, netns_path), `unshare` new IPC
 * and UTS namespaces (and a PID namespace for a pod that shares one), then `sleep` forever.
 * Every step execs the next, so the pid spawned is the holder itself, unless a PID
 * namespace is made: then `unshare --fork` stays as its parent and the holder is its child
 * (pid 1 inside), which /proc/<parent>/task/<parent>/children names.
 *
 * util-linux's nsenter/unshare, coreutils' sleep, dash and hostname are on every Debian
 * node; no image, no runtime, no busybox.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

export interface HolderSpec {
  /** The network namespace to join (a bind-mounted nsfs file); the node's when absent. */
  netns?: string;
  /** New IPC namespace (else the node's). */
  ipc: boolean;
  /** New UTS namespace, with this hostname when given (else the node's). */
  uts: boolean;
  hostname?: string;
  /** New PID namespace, the holder its init (else the node's). */
  pid: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface HolderExit {
  /** The exit code, or 128 + signal, as containerd reports a task's. */
  status: number;
  at: Date;
}

export interface NamespaceHolder {
  /** The pid whose /proc/<pid>/ns/* are the pod's. */
  readonly pid: number;
  /** Resolves once the holder is gone (killed, crashed or stopped). */
  readonly exited: Promise<HolderExit>;
  kill(signal: NodeJS.Signals): void;
}

export function holderArgv(s: HolderSpec): string[] {
  const unshare = ['unshare'];
  if (s.ipc) unshare.push('--ipc');
  if (s.uts) unshare.push('--uts');
  // --kill-child: the pod's init dies with its parent, never orphaned in a dead namespace.
  if (s.pid) unshare.push('--pid', '--fork', '--kill-child');
  // A hostname is set by the holder's own chain (sh, then exec sleep): one exec fewer than
  // entering the namespace afterwards, ~10 ms of a pod start.
  const hold = s.uts && s.hostname ? ['sh', '-c', 'hostname -- "$0" && exec sleep infinity', s.hostname] : ['sleep', 'infinity'];
  const tail = [...unshare, '--', ...hold];
  return s.netns ? ['nsenter', `--net=${s.netns}`, '--', ...tail] : tail;
}

export async function spawnNamespaceHolder(s: HolderSpec): Promise<NamespaceHolder> {
  const [cmd, ...args] = holderArgv(s);
  const child = spawn(cmd!, args, { stdio: 'ignore', detached: true, env: s.env ?? process.env });
  const exited = new Promise<HolderExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ status: signal ? 128 + (signalNumber(signal) ?? 0) : (code ?? 0), at: new Date() }));
  });
  const spawned = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid!));
    child.once('error', reject);
  });
  let pid = spawned;
  try {
    await waitExec(spawned, s.pid ? 'unshare' : 'sleep', exited);
    if (s.pid) pid = await forkedChild(spawned, exited);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    pid,
    exited,
    kill: (signal) => {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone: `exited` says so.
      }
    },
  };
}

/** Until the spawned process runs `target`: every namespace before it in the chain is set by then. */
async function waitExec(pid: number, target: string, exited: Promise<HolderExit>): Promise<void> {
  let gone: HolderExit | undefined;
  void exited.then((e) => (gone = e));
  for (let i = 0; i < 500; i++) {
    if (gone) throw new Error(`namespace holder exited at once (status ${gone.status}): is util-linux installed, the netns valid, the hostname a valid one?`);
    const comm = readComm(pid);
    if (comm === target) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`namespace holder ${pid} did not start (still ${readComm(pid) ?? 'gone'})`);
}

async function forkedChild(parent: number, exited: Promise<HolderExit>): Promise<number> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (let i = 0; i < 500; i++) {
    if (gone) throw new Error('namespace holder exited before its pid namespace had an init');
    const kids = readChildren(parent);
    if (kids.length && readComm(kids[0]!) === 'sleep') return kids[0]!;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`namespace holder ${parent} made no child in its pid namespace`);
}

function readComm(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function readChildren(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function signalNumber(name: NodeJS.Signals): number | undefined {
  return (os.constants.signals as Record<string, number>)[name];
}
