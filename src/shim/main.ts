/**
 * Entry of containerd-shim-switchyard-v2. Each action is imported on demand: containerd
 * runs `start` and `delete` for every container, and they must not pay for the daemon.
 */
import { parseShimArgs } from './argv.js';
import { VERSION } from './version.js';

/** How the daemon's code is loaded: the binary passes its bundle; tests import the modules. */
export interface Loaders {
  serve(): Promise<typeof import('./serve.js')>;
}

const modules: Loaders = { serve: () => import('./serve.js') };

export async function main(argv: readonly string[], load: Loaders = modules): Promise<number> {
  let args;
  try {
    args = parseShimArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  switch (args.action) {
    case 'version':
      process.stdout.write(`containerd-shim-switchyard-v2:\n  Version: ${VERSION}\n  Runtime: Node.js ${process.version}\n`);
      return 0;
    case 'info':
      return (await import('./info.js')).info();
    case 'start':
      return (await import('./start.js')).start(args);
    case 'delete':
      return (await import('./delete.js')).deleteAction(args);
    case 'serve':
      return (await load.serve()).serve(args);
  }
}
