/**
 * A mutex between processes that dies with its holder: a listening unix socket in Linux's
 * abstract namespace. Only one socket can be bound to a name, and the kernel frees the
 * name when the holder closes it or dies, so a start killed by containerd's timeout never
 * leaves a stale lock behind (a lock file would). No native code: `start` takes it for
 * every container and must stay free of koffi.
 */
import net from 'node:net';

export interface HeldLock {
  release(): Promise<void>;
}

/** Takes the lock if nobody holds it; undefined if someone does. */
export function tryLock(name: string): Promise<HeldLock | undefined> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err)));
    // The leading NUL makes the name abstract: no file, nothing to clean up.
    server.listen({ path: `\0${name}` }, () => {
      // A held lock must not keep a process alive that has nothing else to do.
      server.unref();
      resolve({ release: () => new Promise<void>((r) => server.close(() => r())) });
    });
  });
}

/** Waits for the lock, polling; rejects after timeoutMs. */
export async function lock(name: string, timeoutMs: number, pollMs = 5): Promise<HeldLock> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const held = await tryLock(name);
    if (held) return held;
    if (Date.now() >= deadline) throw new Error(`lock ${name}: still held by another process after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
