import { VERSION } from '../shim/version.js';

/** The operator CLI. Its commands (ps, why, trace, doctor…) are tracked in issue 7. */
export async function main(argv: readonly string[]): Promise<number> {
  const cmd = argv[0] ?? 'help';
  if (cmd === 'version' || cmd === '--version' || cmd === '-v') {
    process.stdout.write(`switchyard ${VERSION}\n`);
    return 0;
  }
  process.stdout.write(`switchyard ${VERSION}\n\nUsage: switchyard version\n`);
  return cmd === 'help' || cmd === '--help' || cmd === '-h' ? 0 : 2;
}
