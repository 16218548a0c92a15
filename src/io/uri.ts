/**
 * The stdio strings of a Create or Exec request (docs/protocol.md §5.1), validated once into a
 * StdioSpec. As in the runc shim, the scheme is decided from stdout alone.
 */
import path from 'node:path';
import { invalidArgument } from '../errors/index.js';

export interface StdioRequest {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

/** An absolute path, or null for "not wanted" (the process gets /dev/null). */
type Stream = string | null;

export type StdioSpec =
  /** All three empty: /dev/null everywhere (CRI's pause container, ctr's NullIO). */
  | { kind: 'null'; terminal: boolean }
  /**
   * FIFOs the client made and opened first. With a terminal, stderr is always null: the
   * client sends its path but never creates or opens it.
   */
  | { kind: 'fifo'; stdin: Stream; stdout: Stream; stderr: Stream; terminal: boolean }
  /** file:///abs/path: stdout and stderr appended to one file. */
  | { kind: 'file'; stdin: Stream; path: string; terminal: boolean }
  /** binary:///abs/bin?k=v: a logging binary reads stdout and stderr from pipes. */
  | { kind: 'binary'; stdin: Stream; path: string; args: string[]; terminal: boolean };

// What Go's url.Parse takes for a scheme: a letter, then letters, digits, + - . up to ':'.
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

/** The name the task layer first used for StdioRequest. */
export type StdioStrings = StdioRequest;

export function parseStdio(req: StdioRequest): StdioSpec {
  const { stdin, stdout, stderr, terminal } = req;
  if (!stdin && !stdout && !stderr) return { kind: 'null', terminal };
  const scheme = SCHEME.exec(stdout)?.[1]?.toLowerCase() ?? '';
  switch (scheme) {
    case '':
      return {
        kind: 'fifo',
        stdin: fifoPath('stdin', stdin),
        stdout: fifoPath('stdout', stdout),
        // Never even look at it with a terminal: the client did not create it.
        stderr: terminal ? null : fifoPath('stderr', stderr),
        terminal,
      };
    case 'file':
      return { kind: 'file', stdin: fifoPath('stdin', stdin), path: uriPath(stdout), terminal };
    case 'binary': {
      const url = new URL(stdout);
      // Go's url.Query() is a map, so the runc shim's argument order is random; ours is the
      // order in the URI. Each key is followed by its first value only, even an empty one.
      const args: string[] = [];
      for (const key of new Set(url.searchParams.keys())) args.push(key, url.searchParams.get(key)!);
      return { kind: 'binary', stdin: fifoPath('stdin', stdin), path: uriPath(stdout, url), args, terminal };
    }
    default:
      throw invalidArgument(`unknown stdio scheme "${scheme}" in ${JSON.stringify(stdout)}: want an absolute fifo path, file:// or binary://`);
  }
}

function fifoPath(name: string, value: string): Stream {
  if (!value) return null;
  if (!path.isAbsolute(value)) {
    throw invalidArgument(`${name} must be an absolute fifo path (or empty), got ${JSON.stringify(value)}`);
  }
  if (value.includes('\0')) throw invalidArgument(`${name} path contains a NUL byte`);
  return value;
}

/** The absolute path of a file:// or binary:// URI. */
function uriPath(uri: string, parsed?: URL): string {
  let url: URL;
  try {
    url = parsed ?? new URL(uri);
  } catch (err) {
    throw invalidArgument(`malformed stdio URI ${JSON.stringify(uri)}`, err);
  }
  // Go ignores the host, so binary://usr/bin/x would run /bin/x: refuse rather than guess.
  if (url.host) throw invalidArgument(`stdio URI ${JSON.stringify(uri)} has a host ("${url.host}"); write ${url.protocol}///abs/path`);
  let p: string;
  try {
    p = decodeURIComponent(url.pathname);
  } catch (err) {
    throw invalidArgument(`malformed escape in stdio URI ${JSON.stringify(uri)}`, err);
  }
  p = path.posix.normalize(p);
  if (!path.isAbsolute(p) || p === '/' || p.includes('\0')) {
    throw invalidArgument(`stdio URI ${JSON.stringify(uri)} does not name an absolute file path`);
  }
  return p;
}
