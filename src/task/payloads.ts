/**
 * The typed payloads (google.protobuf.Any) that Task API requests carry, decoded and
 * checked where they enter: a wrong type or a malformed value is InvalidArgument naming
 * the field, never a crash further in.
 */
import { containerd } from '../gen/proto.js';
import { invalidArgument } from '../errors/index.js';
import type { CheckpointSpec } from '../backends/types.js';

export interface AnyLike {
  type_url?: string | null;
  value?: Uint8Array | null;
}

const PROCESS_TYPE = 'types.containerd.io/opencontainers/runtime-spec/1/Process';
const CHECKPOINT_OPTIONS = 'containerd.runc.v1.CheckpointOptions';
/** Largest JSON payload we parse: a process spec is a few KiB; this bounds a hostile one. */
const MAX_JSON = 1 << 20;

const isEmpty = (a: AnyLike | null | undefined): a is null | undefined => !a || (!a.type_url && !(a.value && a.value.length));

function jsonOf(field: string, a: AnyLike): unknown {
  const bytes = a.value ?? new Uint8Array();
  if (bytes.length > MAX_JSON) throw invalidArgument(`${field}: ${bytes.length} bytes is larger than ${MAX_JSON}`);
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  } catch (err) {
    throw invalidArgument(`${field}: invalid JSON: ${(err as Error).message}`, err);
  }
}

function typeIs(a: AnyLike, expected: string): boolean {
  // containerd writes bare type names; a type.googleapis.com/ prefix means the same type.
  const url = a.type_url ?? '';
  return url === expected || url.endsWith(`/${expected}`);
}

/** The OCI process of an Exec request; terminal is forced to the request's own flag. */
export function decodeExecProcess(spec: AnyLike | null | undefined, terminal: boolean): Record<string, unknown> {
  if (isEmpty(spec)) throw invalidArgument('spec: an exec needs an OCI process spec');
  if (!typeIs(spec, PROCESS_TYPE)) throw invalidArgument(`spec: type ${JSON.stringify(spec.type_url)} is not ${PROCESS_TYPE}`);
  const p = jsonOf('spec', spec);
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw invalidArgument('spec: not a JSON object');
  const proc = p as Record<string, unknown>;
  const args = proc.args;
  if (!Array.isArray(args) || args.length === 0 || !args.every((a) => typeof a === 'string')) {
    throw invalidArgument('spec.args: must be a non-empty list of strings');
  }
  if (proc.cwd !== undefined && (typeof proc.cwd !== 'string' || !proc.cwd.startsWith('/'))) {
    throw invalidArgument('spec.cwd: must be an absolute path');
  }
  if (proc.env !== undefined && (!Array.isArray(proc.env) || !proc.env.every((e) => typeof e === 'string'))) {
    throw invalidArgument('spec.env: must be a list of strings');
  }
  return { ...proc, terminal };
}

export { decodeCreateOptions, type RuncCreateOptions } from './runc-options.js';

/** Checkpoint's options (runc's CheckpointOptions) and the image path, as runc's flags. */
export function decodeCheckpoint(imagePath: string, options: AnyLike | null | undefined, defaultWorkPath: string): CheckpointSpec {
  let o: containerd.runc.v1.CheckpointOptions | undefined;
  if (!isEmpty(options)) {
    if (!typeIs(options, CHECKPOINT_OPTIONS)) {
      throw invalidArgument(`options: type ${JSON.stringify(options.type_url)} is not ${CHECKPOINT_OPTIONS}`);
    }
    try {
      o = containerd.runc.v1.CheckpointOptions.decode(options.value ?? new Uint8Array());
    } catch (err) {
      throw invalidArgument(`options: cannot decode ${CHECKPOINT_OPTIONS}: ${(err as Error).message}`, err);
    }
  }
  const image = o?.imagePath || imagePath;
  if (!image || !image.startsWith('/')) throw invalidArgument(`path: checkpoint image path ${JSON.stringify(image)} must be absolute`);
  return {
    imagePath: image,
    workPath: o?.workPath || defaultWorkPath,
    leaveRunning: !o?.exit,
    tcpEstablished: !!o?.openTcp,
    externalUnixSockets: !!o?.externalUnixSockets,
    shellJob: !!o?.terminal,
    fileLocks: !!o?.fileLocks,
    emptyNamespaces: o?.emptyNamespaces ?? [],
    cgroupsMode: o?.cgroupsMode || undefined,
  };
}
