/** One connect to a unix socket, closed at once: whether something listens there. */
import net from 'node:net';

/** undefined when a listener accepted; otherwise why not (ENOENT: no socket, ECONNREFUSED: nobody listens). */
export function probeUnixSocket(file: string): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const c = net.createConnection({ path: file });
    c.once('connect', () => {
      c.destroy();
      resolve(undefined);
    });
    c.once('error', (err: NodeJS.ErrnoException) => resolve(err));
  });
}
