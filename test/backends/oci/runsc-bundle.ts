/** A busybox bundle for runsc tests run without containerd. */
import fs from 'node:fs';
import path from 'node:path';

export function busyboxBundle(dir: string, id: string, args = ['/bin/busybox', 'sleep', '1000'], annotations: Record<string, string> = {}): string {
  const b = path.join(dir, id);
  fs.mkdirSync(path.join(b, 'rootfs/bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(b, 'rootfs/bin/busybox'));
  fs.chmodSync(path.join(b, 'rootfs/bin/busybox'), 0o755);
  fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify({
    ociVersion: '1.0.2',
    process: { terminal: false, user: { uid: 0, gid: 0 }, args, env: ['PATH=/bin'], cwd: '/' },
    root: { path: 'rootfs', readonly: true },
    annotations,
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }, { type: 'network' }] },
  }));
  return b;
}
