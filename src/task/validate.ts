import fs from 'node:fs';
import path from 'node:path';
import { invalidArgument, failedPrecondition } from '../errors/index.js';

/**
 * containerd's identifier rule (alphanumerics joined by '.', '_', '-', at most 76 chars),
 * which also keeps an id from ever naming a path outside its directory.
 */
const ID = /^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$/;
const MAX_ID = 76;

export function validateId(value: string | null | undefined, field = 'id'): string {
  const id = value ?? '';
  if (!id) throw invalidArgument(`${field} must not be empty`);
  if (id.length > MAX_ID) throw invalidArgument(`${field} ${JSON.stringify(id.slice(0, 20))}…: longer than ${MAX_ID} characters`);
  if (!ID.test(id)) throw invalidArgument(`${field} ${JSON.stringify(id)}: only letters, digits and single '.', '_' or '-' between them are allowed`);
  return id;
}

export function validateBundle(value: string | null | undefined): string {
  const bundle = value ?? '';
  if (!path.isAbsolute(bundle)) throw invalidArgument(`bundle ${JSON.stringify(bundle)}: must be an absolute path`);
  if (path.normalize(bundle) !== bundle.replace(/\/+$/, '') && path.normalize(bundle) !== bundle) {
    throw invalidArgument(`bundle ${JSON.stringify(bundle)}: must be a clean path`);
  }
  if (!fs.existsSync(bundle)) throw failedPrecondition(`bundle ${bundle} does not exist`);
  return bundle;
}

/** The parts of the OCI spec the shim reads itself; the runtime reads the rest. */
export interface BundleSpec {
  annotations: Record<string, string>;
  /** True when the container shares the host's (or another) pid namespace. */
  sharedPidNamespace: boolean;
}

const MAX_SPEC_BYTES = 16 << 20;
const MAX_ANNOTATION_KEY = 253 + 1 + 63;
const MAX_ANNOTATIONS_BYTES = 256 << 10;

export function readBundleSpec(bundle: string): BundleSpec {
  const file = path.join(bundle, 'config.json');
  let text: string;
  try {
    const st = fs.statSync(file);
    if (st.size > MAX_SPEC_BYTES) throw invalidArgument(`${file}: ${st.size} bytes is larger than ${MAX_SPEC_BYTES}`);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof Error && 'kind' in err) throw err;
    throw invalidArgument(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`${file}: invalid JSON: ${(err as Error).message}`, err);
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw invalidArgument(`${file}: not a JSON object`);
  const s = spec as { annotations?: unknown; linux?: { namespaces?: { type?: string; path?: string }[] } };
  const annotations: Record<string, string> = {};
  let total = 0;
  if (s.annotations !== undefined) {
    if (typeof s.annotations !== 'object' || s.annotations === null) throw invalidArgument(`${file}: annotations must be an object`);
    for (const [k, v] of Object.entries(s.annotations)) {
      const name = JSON.stringify(k.length > 64 ? `${k.slice(0, 64)}…` : k);
      if (typeof v !== 'string') throw invalidArgument(`${file}: annotation ${name} must be a string`);
      // Kubernetes' own limits: a key is at most a 253-character prefix, '/', 63 characters;
      // all annotations together at most 256 KiB. Larger ones did not come from a pod.
      if (k.length > MAX_ANNOTATION_KEY) throw invalidArgument(`${file}: annotation key ${name} is longer than ${MAX_ANNOTATION_KEY} characters`);
      total += k.length + v.length;
      if (total > MAX_ANNOTATIONS_BYTES) throw invalidArgument(`${file}: annotations exceed ${MAX_ANNOTATIONS_BYTES} bytes (at ${name})`);
      annotations[k] = v;
    }
  }
  const pidNs = s.linux?.namespaces?.find((n) => n.type === 'pid');
  return { annotations, sharedPidNamespace: !pidNs || !!pidNs.path };
}
