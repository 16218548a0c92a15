/**
 * Create's runtime options as containerd's clients send them: runc's own
 * `containerd.runc.v1.Options` (runc-v2's type), the v1 runtime's
 * `containerd.linux.runc.CreateOptions` that containerd's client still sends for a
 * runtime whose name does not start with io.containerd.runc (WithShimCgroup, IO uid/gid),
 * or `runtimeoptions.v1.Options`, whose config path `start` has already read. Every field
 * runc-v2 honours is kept; what is malformed is InvalidArgument naming the field.
 */
import path from 'node:path';
import protobuf from 'protobufjs/minimal.js';
import { containerd } from '../gen/proto.js';
import { invalidArgument } from '../errors/index.js';

export interface AnyLike {
  type_url?: string | null;
  value?: Uint8Array | null;
}

export interface RuncCreateOptions {
  /** runc create --no-pivot. */
  noPivotRoot?: boolean;
  /** runc create --no-new-keyring. */
  noNewKeyring?: boolean;
  /** The cgroup runc-v2 would move its shim into (src/shim/shim-cgroup.ts). */
  shimCgroup?: string;
  ioUid?: number;
  ioGid?: number;
  /** The runc binary, by name on PATH or absolute. */
  binaryName?: string;
  /** runc --root base; the namespace is appended, as runc-v2 does. */
  root?: string;
  /** runc --criu. */
  criuPath?: string;
  /** runc --systemd-cgroup. */
  systemdCgroup?: boolean;
  criuImagePath?: string;
  criuWorkPath?: string;
}

const RUNC_OPTIONS = 'containerd.runc.v1.Options';
const LEGACY_OPTIONS = 'containerd.linux.runc.CreateOptions';
const RUNTIME_OPTIONS = 'runtimeoptions.v1.Options';

const isEmpty = (a: AnyLike | null | undefined): a is null | undefined => !a || (!a.type_url && !(a.value && a.value.length));

function typeIs(a: AnyLike, expected: string): boolean {
  // containerd writes bare type names; a type.googleapis.com/ prefix means the same type.
  const url = a.type_url ?? '';
  return url === expected || url.endsWith(`/${expected}`);
}

/** Create's options, decoded and checked; {} for none or for our own runtime options. */
export function decodeCreateOptions(options: AnyLike | null | undefined): RuncCreateOptions {
  if (isEmpty(options) || typeIs(options, RUNTIME_OPTIONS)) return {};
  const bytes = options.value ?? new Uint8Array();
  let o: RuncCreateOptions;
  if (typeIs(options, RUNC_OPTIONS)) o = decode(RUNC_OPTIONS, () => fromRuncOptions(containerd.runc.v1.Options.decode(bytes)));
  else if (typeIs(options, LEGACY_OPTIONS)) o = decode(LEGACY_OPTIONS, () => decodeLegacy(bytes));
  else throw invalidArgument(`options: type ${JSON.stringify(options.type_url)} is neither ${RUNC_OPTIONS} nor ${LEGACY_OPTIONS}`);
  return checked(o);
}

function decode(type: string, fn: () => RuncCreateOptions): RuncCreateOptions {
  try {
    return fn();
  } catch (err) {
    throw invalidArgument(`options: cannot decode ${type}: ${(err as Error).message}`, err);
  }
}

function fromRuncOptions(o: containerd.runc.v1.Options): RuncCreateOptions {
  return {
    noPivotRoot: o.noPivotRoot || undefined,
    noNewKeyring: o.noNewKeyring || undefined,
    shimCgroup: o.shimCgroup || undefined,
    ioUid: o.ioUid || undefined,
    ioGid: o.ioGid || undefined,
    binaryName: o.binaryName || undefined,
    root: o.root || undefined,
    criuPath: o.criuPath || undefined,
    systemdCgroup: o.systemdCgroup || undefined,
    criuImagePath: o.criuImagePath || undefined,
    criuWorkPath: o.criuWorkPath || undefined,
  };
}

/**
 * containerd.linux.runc.CreateOptions, by field number (its checkpoint-only fields 2-7
 * mean nothing at Create): no_pivot_root 1, no_new_keyring 8, shim_cgroup 9, io_uid 10,
 * io_gid 11, criu_work_path 12, criu_image_path 13.
 */
function decodeLegacy(bytes: Uint8Array): RuncCreateOptions {
  const r = protobuf.Reader.create(bytes);
  const o: RuncCreateOptions = {};
  while (r.pos < r.len) {
    const key = r.uint32();
    switch (key >>> 3) {
      case 1:
        o.noPivotRoot = r.bool() || undefined;
        break;
      case 8:
        o.noNewKeyring = r.bool() || undefined;
        break;
      case 9:
        o.shimCgroup = r.string() || undefined;
        break;
      case 10:
        o.ioUid = r.uint32() || undefined;
        break;
      case 11:
        o.ioGid = r.uint32() || undefined;
        break;
      case 12:
        o.criuWorkPath = r.string() || undefined;
        break;
      case 13:
        o.criuImagePath = r.string() || undefined;
        break;
      default:
        r.skipType(key & 7);
    }
  }
  return o;
}

function checked(o: RuncCreateOptions): RuncCreateOptions {
  const absolute = (field: string, v: string | undefined) => {
    if (v !== undefined && (!path.isAbsolute(v) || v.includes('\0'))) throw invalidArgument(`options.${field}: ${JSON.stringify(v)} must be an absolute path`);
  };
  absolute('root', o.root);
  absolute('criu_path', o.criuPath);
  absolute('shim_cgroup', o.shimCgroup);
  if (o.binaryName !== undefined && (o.binaryName.includes('\0') || (o.binaryName.includes('/') && !path.isAbsolute(o.binaryName)))) {
    throw invalidArgument(`options.binary_name: ${JSON.stringify(o.binaryName)} must be a name on PATH or an absolute path`);
  }
  if (o.shimCgroup?.split('/').includes('..')) throw invalidArgument(`options.shim_cgroup: ${JSON.stringify(o.shimCgroup)} must not contain ..`);
  return o;
}

/** The part of the options that makes a different runc command line (one driver each). */
export interface RuntimeOverrides {
  binary?: string;
  root?: string;
  systemdCgroup?: boolean;
  criuPath?: string;
}

export function runtimeOverrides(o: RuncCreateOptions): RuntimeOverrides {
  const out: RuntimeOverrides = {};
  if (o.binaryName) out.binary = o.binaryName;
  if (o.root) out.root = o.root;
  if (o.systemdCgroup) out.systemdCgroup = true;
  if (o.criuPath) out.criuPath = o.criuPath;
  return out;
}
