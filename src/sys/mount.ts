/**
 * mount(2) and umount2(2): containerd hands the shim the rootfs as mount specs (overlay for
 * the overlayfs snapshotter, bind for native) and expects them on <bundle>/rootfs.
 */
import { libc } from './libc.js';
import { SyscallError } from './syscall-error.js';

const MS_RDONLY = 0x1;
const MS_NOSUID = 0x2;
const MS_NODEV = 0x4;
const MS_NOEXEC = 0x8;
const MS_SYNCHRONOUS = 0x10;
const MS_REMOUNT = 0x20;
const MS_MANDLOCK = 0x40;
const MS_DIRSYNC = 0x80;
const MS_NOATIME = 0x400;
const MS_NODIRATIME = 0x800;
const MS_BIND = 0x1000;
const MS_REC = 0x4000;
const MS_UNBINDABLE = 1 << 17;
const MS_PRIVATE = 1 << 18;
const MS_SLAVE = 1 << 19;
const MS_SHARED = 1 << 20;
const MS_RELATIME = 1 << 21;
const MS_STRICTATIME = 1 << 24;
const MNT_DETACH = 2;
const EINVAL = 22;
const ENOENT = 2;
const EBUSY = 16;

/** Option → [clear?, flag]: the same table util-linux and containerd use. */
const FLAGS: Record<string, [boolean, number]> = {
  async: [true, MS_SYNCHRONOUS],
  atime: [true, MS_NOATIME],
  bind: [false, MS_BIND],
  defaults: [false, 0],
  dev: [true, MS_NODEV],
  diratime: [true, MS_NODIRATIME],
  dirsync: [false, MS_DIRSYNC],
  exec: [true, MS_NOEXEC],
  mand: [false, MS_MANDLOCK],
  noatime: [false, MS_NOATIME],
  nodev: [false, MS_NODEV],
  nodiratime: [false, MS_NODIRATIME],
  noexec: [false, MS_NOEXEC],
  nomand: [true, MS_MANDLOCK],
  norelatime: [true, MS_RELATIME],
  nostrictatime: [true, MS_STRICTATIME],
  nosuid: [false, MS_NOSUID],
  rbind: [false, MS_BIND | MS_REC],
  relatime: [false, MS_RELATIME],
  remount: [false, MS_REMOUNT],
  ro: [false, MS_RDONLY],
  rw: [true, MS_RDONLY],
  strictatime: [false, MS_STRICTATIME],
  suid: [true, MS_NOSUID],
  sync: [false, MS_SYNCHRONOUS],
};
const PROPAGATION: Record<string, number> = {
  private: MS_PRIVATE,
  rprivate: MS_PRIVATE | MS_REC,
  shared: MS_SHARED,
  rshared: MS_SHARED | MS_REC,
  slave: MS_SLAVE,
  rslave: MS_SLAVE | MS_REC,
  unbindable: MS_UNBINDABLE,
  runbindable: MS_UNBINDABLE | MS_REC,
};

export interface MountSpec {
  type: string;
  source: string;
  options: string[];
}

/** Splits mount options into mount(2) flags, propagation flags and the data string. Pure. */
export function parseMountOptions(options: readonly string[]): { flags: number; propagation: number; data: string } {
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  for (const o of options) {
    const f = FLAGS[o];
    if (f) {
      if (f[0]) flags &= ~f[1];
      else flags |= f[1];
    } else if (o in PROPAGATION) propagation |= PROPAGATION[o]!;
    else data.push(o);
  }
  return { flags, propagation, data: data.join(',') };
}

type MountFn = (source: string | null, target: string, type: string | null, flags: number, data: string | null) => number;
type Umount2Fn = ((target: string, flags: number) => number) & {
  /** koffi: the same call on a worker thread. */
  async(target: string, flags: number, cb: (err: unknown, r: number) => void): void;
};
let fns: { mount: MountFn; umount2: Umount2Fn } | undefined;

function bind() {
  if (fns) return fns;
  const c = libc();
  const lib = c.koffi.load('libc.so.6');
  fns = {
    mount: lib.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)') as MountFn,
    umount2: lib.func('int umount2(const char *target, int flags)') as Umount2Fn,
  };
  return fns;
}

function fail(call: string, target: string): SyscallError {
  const c = libc();
  const errno = c.koffi.errno();
  return new SyscallError(`${call} ${target}`, errno, c.strerror(errno));
}

export function mount(spec: MountSpec, target: string): void {
  const { mount: m } = bind();
  const { flags, propagation, data } = parseMountOptions(spec.options);
  // A bind mount ignores MS_RDONLY and friends on the first call: remount to apply them.
  const type = spec.type === 'bind' ? null : spec.type;
  if (m(spec.source, target, type, flags & ~MS_REMOUNT, data || null) !== 0) throw fail('mount', target);
  if (flags & MS_BIND && flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)) {
    if (m(null, target, null, flags | MS_REMOUNT, null) !== 0) throw fail('remount', target);
  }
  if (propagation && m(null, target, null, propagation, null) !== 0) throw fail('mount propagation', target);
}

/** Unmounts everything stacked on target; a target with nothing mounted is fine. */
export function unmountAll(target: string): void {
  const { umount2 } = bind();
  for (let i = 0; i < 64; i++) {
    if (umount2(target, 0) === 0) continue;
    const c = libc();
    const errno = c.koffi.errno();
    if (errno === EINVAL || errno === ENOENT) return;
    if (errno === EBUSY && umount2(target, MNT_DETACH) === 0) continue;
    throw new SyscallError(`umount2 ${target}`, errno, c.strerror(errno));
  }
}

/**
 * unmountAll, with each umount2 on a worker thread: an overlay unmount syncs and takes
 * milliseconds (more under load), during which the daemon's other pods would wait. errno
 * is the worker's and lost, so a failed call is repeated here to read it; the common case,
 * a success, never blocks the event loop.
 */
export async function unmountAllOffLoop(target: string): Promise<void> {
  const { umount2 } = bind();
  for (let i = 0; i < 64; i++) {
    const r = await new Promise<number>((resolve, reject) => umount2.async(target, 0, (err, r) => (err ? reject(err as Error) : resolve(r))));
    if (r !== 0) return unmountAll(target);
  }
}
