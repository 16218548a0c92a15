// A shim v2 binary that does just enough for the delegate backend's tests: `start` runs one
// server per FAKE_SHIM_DIR (later starts find it, as a grouping shim does), the server
// answers the Task API from memory, `delete` reports exit 42. Every call is appended to
// FAKE_SHIM_DIR/calls. Kill with signal 31 makes the server die on the spot.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { TtrpcServer } from '../../../src/transport/ttrpc/server.js';
import { taskServiceV2, type TaskApi } from '../../../src/api/task.js';
import { containerd } from '../../../src/gen/proto.js';
import { failedPrecondition, notFound, unimplemented } from '../../../src/errors/index.js';

const dir = process.env.FAKE_SHIM_DIR ?? '';
const socket = path.join(dir, 'shim.sock');
const record = (line: string) => fs.appendFileSync(path.join(dir, 'calls'), `${line}\n`);
const action = process.argv.at(-1);
const id = process.argv[process.argv.indexOf('-id') + 1] ?? '';

function answers(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socket);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function start(): Promise<void> {
  const stdin = fs.readFileSync(0);
  record(`start ${id} cwd=${path.basename(process.cwd())} files=${fs.readdirSync(process.cwd()).sort().join(',')} options=${stdin.length > 0 ? 'any' : 'none'} ours=${process.env.SWITCHYARD_CONFIG ?? '-'}`);
  if (process.env.FAKE_SHIM_FAIL_START) {
    process.stderr.write('fake shim: cannot start here\n');
    process.exit(1);
  }
  if (!(await answers())) {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve'], { detached: true, stdio: 'ignore', env: process.env });
    child.unref();
    while (!(await answers())) await sleep(10);
  }
  process.stdout.write(`unix://${socket}`);
}

async function serve(): Promise<void> {
  const tasks = new Map<string, { exited: Promise<void>; exit: () => void }>();
  const server = new TtrpcServer();
  const task = (tid: string | null | undefined) => {
    const t = tasks.get(tid ?? '');
    if (!t) throw notFound(`fake: no task ${tid}`);
    return t;
  };
  const impl: Partial<TaskApi> = {
    Create: async (req) => {
      record(`Create ${req.id} options=${req.options?.type_url ?? ''}`);
      let exit!: () => void;
      const exited = new Promise<void>((r) => (exit = r));
      tasks.set(req.id ?? '', { exited, exit });
      return { pid: 4321 };
    },
    Start: async (req) => {
      task(req.id);
      record(`Start ${req.id}`);
      return { pid: 4321 };
    },
    Pause: async () => {
      throw failedPrecondition('fake: cannot pause in this state');
    },
    Kill: async (req) => {
      record(`Kill ${req.id} ${req.signal}`);
      if (req.signal === 31) process.exit(3);
      task(req.id).exit();
      return {};
    },
    Wait: async (req) => {
      await task(req.id).exited;
      return { exitStatus: 137, exitedAt: { seconds: 1, nanos: 0 } };
    },
    Delete: async (req) => {
      task(req.id);
      tasks.delete(req.id ?? '');
      record(`Delete ${req.id}`);
      return { pid: 4321, exitStatus: 137 };
    },
    Shutdown: async () => {
      record('Shutdown');
      setTimeout(() => {
        fs.rmSync(socket, { force: true });
        process.exit(0);
      }, 10);
      return {};
    },
  };
  const full = Object.fromEntries(
    Object.keys(taskServiceV2).map((m) => [m, impl[m as keyof TaskApi] ?? (async () => Promise.reject(unimplemented(`fake: ${m}`)))]),
  ) as unknown as TaskApi;
  server.addService(taskServiceV2, full);
  await server.listen(socket);
}

function del(): void {
  record(`delete ${id} cwd=${path.basename(process.cwd())}`);
  process.stdout.write(containerd.task.v2.DeleteResponse.encode({ pid: 4321, exitStatus: 42, exitedAt: { seconds: 2, nanos: 0 } }).finish());
}

if (action === 'start') await start();
else if (action === 'serve') await serve();
else if (action === 'delete') del();
else process.exit(2);
