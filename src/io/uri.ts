import path from 'node:path';
import { invalidArgument } from '../errors/index.js';

/** What a process's stdio strings ask for (protocol.md §5.1). */
export type StdioSpec =
  | { kind: 'null' }
  | { kind: 'fifo'; stdin: string; stdout: string; stderr: string; terminal: boolean }
  | { kind: 'file'; path: string; stdin: string }
  | { kind: 'binary'; path: string; args: string[]; stdin: string };

export interface StdioStrings {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

function absolute(p: string, field: string): string {
  if (!path.isAbsolute(p)) throw invalidArgument(`${field} ${JSON.stringify(p)}: must be an absolute path`);
  return path.normalize(p);
}

/** The scheme is decided from stdout, as containerd's runc shim does. */
export function parseStdio(s: StdioStrings): StdioSpec {
  if (!s.stdin && !s.stdout && !s.stderr) return { kind: 'null' };
  const stdin = s.stdin ? absolute(s.stdin, 'stdin') : '';
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(s.stdout);
  if (!m) {
    return {
      kind: 'fifo',
      stdin,
      stdout: s.stdout ? absolute(s.stdout, 'stdout') : '',
      stderr: s.stderr && !s.terminal ? absolute(s.stderr, 'stderr') : '',
      terminal: s.terminal,
    };
  }
  let url: URL;
  try {
    url = new URL(s.stdout);
  } catch (err) {
    throw invalidArgument(`stdout ${JSON.stringify(s.stdout)}: not a valid URI`, err);
  }
  const file = absolute(decodeURIComponent(url.pathname), 'stdout path');
  switch (url.protocol) {
    case 'file:':
      return { kind: 'file', path: file, stdin };
    case 'binary:': {
      const args: string[] = [];
      const seen = new Set<string>();
      for (const [k, v] of url.searchParams) {
        if (seen.has(k)) continue;
        seen.add(k);
        args.push(k, v);
      }
      return { kind: 'binary', path: file, args, stdin };
    }
    default:
      throw invalidArgument(`stdout ${JSON.stringify(s.stdout)}: unknown stdio scheme ${url.protocol.replace(':', '')}: want a fifo path, file:// or binary://`);
  }
}
