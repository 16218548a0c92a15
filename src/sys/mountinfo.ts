/**
 * /proc/self/mountinfo, read as text: cheap enough for the `delete` binary, which must
 * not load the FFI just to learn that nothing is mounted.
 */
import fs from 'node:fs';

export interface MountInfoEntry {
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string;
}

/** mountinfo(5) lines to entries, in table order. */
export function parseMountInfoLines(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    // The optional fields before ' - ' vary in number; the fs type comes right after it.
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    if (left.length < 5) continue;
    const [fsType = '', , superOptions = ''] = line.slice(sep + 3).split(' ');
    out.push({ root: unescapeMountField(left[3]!), mountPoint: unescapeMountField(left[4]!), fsType, superOptions });
  }
  return out;
}

/** mountinfo octal-escapes space, tab, newline and backslash in paths. */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Whether anything is mounted on target (compared after resolving symlinks, as the kernel does). */
export function isMountPoint(target: string, mountinfo = '/proc/self/mountinfo'): boolean {
  let real: string;
  try {
    real = fs.realpathSync(target);
  } catch {
    return false;
  }
  return parseMountInfoLines(fs.readFileSync(mountinfo, 'utf8')).some((m) => m.mountPoint === real);
}
