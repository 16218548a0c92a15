import { invalidArgument } from '../errors/index.js';

/**
 * The command line containerd gives a shim binary, in Go's flag syntax:
 * `-namespace NS -address A -publish-binary P -id ID [-bundle B] [-debug] start|delete`.
 */
export interface ShimArgs {
  action: 'start' | 'delete' | 'serve' | 'version' | 'info';
  namespace: string;
  id: string;
  address: string;
  publishBinary: string;
  bundle: string;
  socket: string;
  debug: boolean;
}

const stringFlags = {
  namespace: 'namespace',
  id: 'id',
  address: 'address',
  'publish-binary': 'publishBinary',
  bundle: 'bundle',
  socket: 'socket',
  'debug-socket': '',
} as const;
const boolFlags = new Set(['debug', 'v', 'info']);

export function parseShimArgs(argv: readonly string[]): ShimArgs {
  const out: ShimArgs = {
    action: 'serve',
    namespace: '',
    id: '',
    address: '',
    publishBinary: '',
    bundle: '',
    socket: '',
    debug: false,
  };
  const positional: string[] = [];
  let version = false;
  let info = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-' || positional.length > 0) {
      positional.push(arg);
      continue;
    }
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (boolFlags.has(name)) {
      const value = eq >= 0 ? body.slice(eq + 1) : 'true';
      const on = value === 'true' || value === '1';
      if (name === 'debug') out.debug = on;
      else if (name === 'v') version = on;
      else info = on;
      continue;
    }
    if (!(name in stringFlags)) throw invalidArgument(`flag provided but not defined: -${name}`);
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw invalidArgument(`flag needs an argument: -${name}`);
      value = argv[++i]!;
    }
    const key = stringFlags[name as keyof typeof stringFlags];
    if (key) out[key] = value;
  }
  if (version) out.action = 'version';
  else if (info) out.action = 'info';
  else if (positional.length > 0) {
    const a = positional[0]!;
    if (a !== 'start' && a !== 'delete' && a !== 'serve') throw invalidArgument(`unknown action ${JSON.stringify(a)}: want start, delete or serve`);
    out.action = a;
  }
  return out;
}
