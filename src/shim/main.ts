/**
 * Entry of containerd-shim-switchyard-v2. Each action is imported on demand: containerd
 * runs `start` and `delete` for every container, and they must not pay for the daemon.
 */
import { parseShimArgs } from './argv.js';
import { VERSION } from './version.js';

export async function main(argv: readonly string[]): Promise<number> {
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
      process.stderr.write('-info is not supported by this shim\n');
      return 1;
    case 'start':
      return (await import('./start.js')).start(args);
    case 'delete':
      return (await import('./delete.js')).deleteAction(args);
    case 'serve':
      return (await import('./serve.js')).serve(args);
  }
}
