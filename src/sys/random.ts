/**
 * Random hex for scratch names, read from the kernel. node:crypto would do it too, but
 * loading it brings ~20 internal modules (OpenSSL's bindings among them) into every cold
 * daemon's start, for a few bytes a name needs.
 */
import fs from 'node:fs';

export function randomHex(bytes: number): string {
  const buf = Buffer.alloc(bytes);
  const fd = fs.openSync('/dev/urandom', 'r');
  try {
    let got = 0;
    while (got < bytes) got += fs.readSync(fd, buf, got, bytes - got, null);
  } finally {
    fs.closeSync(fd);
  }
  return buf.toString('hex');
}
