/* eslint-disable @typescript-eslint/no-explicit-any -- untyped parsed TOML and YAML documents, walked by hand */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parse } from 'smol-toml';
import { tempDir } from '../helpers/tmp.js';
import { Host } from '../../src/install/plan.js';
import { planContainerd, CONTAINERD_CONFIG, CONTAINERD_DROP_IN } from '../../src/install/flavour-containerd.js';
import { handlerSet } from '../../src/install/handlers.js';
import { withoutBlock } from '../../src/install/containerd-toml.js';

const hs = handlerSet([{ name: 'gvisor', runtime: 'runsc' }], { runsc: ['--network=host'] });
const opts = { handlers: hs.handlers, handlerConfigs: hs.configs };

function hostWith(t: Parameters<typeof tempDir>[0], config?: string): Host {
  const root = tempDir(t);
  if (config !== undefined) {
    fs.mkdirSync(path.join(root, 'etc/containerd'), { recursive: true });
    fs.writeFileSync(path.join(root, CONTAINERD_CONFIG), config);
  }
  return new Host(root);
}
const fileOf = (p: ReturnType<typeof planContainerd>, f: string) => p.files.find((x) => x.path === f);
const rt = (doc: any, v: 2 | 3) => doc.plugins[v === 2 ? 'io.containerd.grpc.v1.cri' : 'io.containerd.cri.v1.runtime'].containerd.runtimes;

t.test('version 3 without imports: a drop-in, and an imports line before the first table', async (t) => {
  const cfg = 'version = 3\nroot = "/var/lib/containerd"\n\n[grpc]\n  address = "/run/c.sock"\n';
  const p = planContainerd(hostWith(t, cfg), opts);
  t.equal(p.socket, '/run/c.sock');
  const main = fileOf(p, CONTAINERD_CONFIG)!;
  t.equal(main.kind, 'shared');
  t.same((parse(main.content) as any).imports, [CONTAINERD_DROP_IN]);
  t.equal(withoutBlock(main.content), cfg, 'taking our block out gives the original bytes');
  const drop = parse(fileOf(p, CONTAINERD_DROP_IN)!.content) as any;
  t.equal(drop.version, 3);
  t.equal(rt(drop, 3).switchyard.runtime_type, 'io.containerd.switchyard.v2');
  t.same(rt(drop, 3).switchyard.pod_annotations, ['switchyard.dev/*']);
  t.equal(rt(drop, 3)['switchyard-gvisor'].options.ConfigPath, '/etc/switchyard/handlers/switchyard-gvisor.toml');
  t.notOk(rt(drop, 3).runc, 'containerd 2.x keeps its default runc: not spelled out');
  const gv = parse(fileOf(p, '/etc/switchyard/handlers/switchyard-gvisor.toml')!.content) as any;
  t.equal(gv.default_runtime, 'runsc');
  t.same(gv.runtimes.runsc.args, ['--network=host']);
  t.equal(gv.policy.harden_only, true);
});

t.test('version 3 that imports conf.d/*.toml already: the drop-in only', async (t) => {
  const p = planContainerd(hostWith(t, 'version = 3\nimports = ["/etc/containerd/conf.d/*.toml"]\n'), opts);
  t.notOk(fileOf(p, CONTAINERD_CONFIG));
  t.ok(fileOf(p, CONTAINERD_DROP_IN));
});

t.test('version 2 configuring CRI: appended to the main file, runc spelled out, verified', async (t) => {
  const cfg = 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "my/pause:1"\n';
  const p = planContainerd(hostWith(t, cfg), opts);
  t.notOk(fileOf(p, CONTAINERD_DROP_IN));
  const main = fileOf(p, CONTAINERD_CONFIG)!;
  t.ok(main.content.startsWith(cfg), 'the owner text is kept as is');
  const doc = parse(main.content) as any;
  t.equal(doc.plugins['io.containerd.grpc.v1.cri'].sandbox_image, 'my/pause:1');
  t.equal(rt(doc, 2).runc.runtime_type, 'io.containerd.runc.v2');
  t.ok(rt(doc, 2).switchyard);
  t.equal(withoutBlock(main.content), cfg);
});

t.test('version 2 with its own runc handler: not spelled out again', async (t) => {
  const cfg = 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n    SystemdCgroup = true\n';
  const doc = parse(fileOf(planContainerd(hostWith(t, cfg), opts), CONTAINERD_CONFIG)!.content) as any;
  t.equal(rt(doc, 2).runc.options.SystemdCgroup, true);
});

t.test('version 2 without CRI tables: a drop-in with runc spelled out', async (t) => {
  const p = planContainerd(hostWith(t, 'version = 2\nroot = "/x"\n'), opts);
  const drop = parse(fileOf(p, CONTAINERD_DROP_IN)!.content) as any;
  t.equal(drop.version, 2);
  t.ok(rt(drop, 2).runc);
});

t.test('no config file: one with only our handlers, removed at uninstall', async (t) => {
  const p = planContainerd(hostWith(t), opts);
  const main = fileOf(p, CONTAINERD_CONFIG)!;
  t.equal(main.kind, 'own');
  t.equal((parse(main.content) as any).version, 2);
});

t.test('refusals leave everything untouched and say why', async (t) => {
  const cases: [string, RegExp][] = [
    ['version = 2\n[plugins\n', /not valid TOML, so it was left untouched/],
    ['root = "/x"\n', /config version 1.*left untouched.*containerd config migrate/],
    ['version = 3\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.switchyard]\n  runtime_type = "x"\n', /already defines a runtime handler "switchyard"/],
    ['version = 2\nplugins = { "io.containerd.grpc.v1.cri" = { sandbox_image = "x" } }\n', /not be valid TOML there.*left untouched/],
    ['version = 3\nimports = "x"\n', /imports is not a list/],
  ];
  for (const [cfg, re] of cases) t.throws(() => planContainerd(hostWith(t, cfg), opts), re, cfg.split('\n')[1]);
});

t.test('the default restart is systemctl in the host pid 1 namespaces, with nsenter options busybox knows', async (t) => {
  const p = planContainerd(hostWith(t, 'version = 3\n'), opts);
  t.same(p.restart, { how: 'command', argv: ['nsenter', '-t', '1', '-m', '-u', '-i', '-n', '-p', '--', 'sh', '-c', 'systemctl restart containerd'] });
  t.same(planContainerd(hostWith(t, 'version = 3\n'), { ...opts, restartCommand: 'rc-service containerd restart' }).restart, { how: 'command', argv: ['sh', '-c', 'rc-service containerd restart'] });
});
