// The CRI part of a private containerd's config, in the form its version reads natively:
// config version 2 (containerd 1.6, 1.7) keeps everything under
// `plugins."io.containerd.grpc.v1.cri"`; config version 3 (containerd 2.x) splits it into
// `io.containerd.grpc.v1.cri` (the CRI server and streaming), `io.containerd.cri.v1.images`
// (snapshotter, sandbox image) and `io.containerd.cri.v1.runtime` (handlers, CNI, OOM,
// AppArmor). containerd 2.x would migrate a version-2 file itself; the tests write the form
// an operator of 2.x writes, the one `switchyard install --print-containerd-config` prints.
// Where each key goes was read from `containerd config migrate` of containerd 2.1.9.

export type TomlValue = string | number | boolean | string[];

export function tomlValue(v: TomlValue): string {
  if (Array.isArray(v)) return '[' + v.map((s) => JSON.stringify(s)).join(', ') + ']';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

export function tomlKeys(rec: Record<string, TomlValue | undefined> | undefined, indent: string): string[] {
  return Object.entries(rec ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${indent}${/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k)} = ${tomlValue(v!)}`);
}

const V2_CRI = 'plugins."io.containerd.grpc.v1.cri"';
const V3_SERVER = 'plugins."io.containerd.grpc.v1.cri"';
const V3_IMAGES = 'plugins."io.containerd.cri.v1.images"';
const V3_RUNTIME = 'plugins."io.containerd.cri.v1.runtime"';

/** The table holding `runtimes.<handler>` tables, per config version. */
export function criRuntimesTable(configVersion: 2 | 3): string {
  return configVersion === 3 ? `${V3_RUNTIME}.containerd.runtimes` : `${V2_CRI}.containerd.runtimes`;
}

/** Version-2 keys of the CRI plugin table that config version 3 keeps elsewhere. */
const V3_PLACE: Record<string, { table: string; key?: string }> = {
  stream_server_address: { table: V3_SERVER },
  stream_server_port: { table: V3_SERVER },
  stream_idle_timeout: { table: V3_SERVER },
  enable_tls_streaming: { table: V3_SERVER },
  disable_tcp_service: { table: V3_SERVER },
  sandbox_image: { table: `${V3_IMAGES}.pinned_images`, key: 'sandbox' },
};

export interface CriTables {
  /** Keys of the version-2 CRI plugin table. */
  plugin: Record<string, TomlValue>;
  /** Keys of its `.containerd` table. */
  containerd: Record<string, TomlValue>;
  /** Keys of its `.cni` table (bin_dir is a single folder in either form). */
  cni: { bin_dir: string; conf_dir: string };
}

/** The CRI tables for containerd's config, in its version's form. */
export function renderCri(configVersion: 2 | 3, t: CriTables): string[] {
  // Declaring any runtimes.<x> table replaces containerd's default runtimes map, so the
  // default "runc" handler is spelled out.
  const runc = (table: string) => [`    [${table}.runc]`, '      runtime_type = "io.containerd.runc.v2"'];
  if (configVersion === 2) {
    return [
      `  [${V2_CRI}]`,
      ...tomlKeys(t.plugin, '    '),
      `    [${V2_CRI}.containerd]`,
      ...tomlKeys(t.containerd, '      '),
      ...runc(criRuntimesTable(2)),
      `    [${V2_CRI}.cni]`,
      ...tomlKeys(t.cni, '      '),
    ];
  }
  const tables = new Map<string, Record<string, TomlValue>>([
    [V3_SERVER, {}],
    [V3_IMAGES, {}],
    [V3_RUNTIME, {}],
  ]);
  const put = (table: string, key: string, v: TomlValue) => {
    if (!tables.has(table)) tables.set(table, {});
    tables.get(table)![key] = v;
  };
  for (const [k, v] of Object.entries(t.plugin)) {
    const place = V3_PLACE[k];
    put(place?.table ?? V3_RUNTIME, place?.key ?? k, v);
  }
  for (const [k, v] of Object.entries(t.containerd)) {
    if (k === 'snapshotter') put(V3_IMAGES, k, v);
    else put(`${V3_RUNTIME}.containerd`, k, v);
  }
  if (!tables.has(`${V3_RUNTIME}.containerd`)) tables.set(`${V3_RUNTIME}.containerd`, {});
  const out: string[] = [];
  for (const [table, keys] of tables) out.push(`  [${table}]`, ...tomlKeys(keys, '    '));
  out.push(...runc(criRuntimesTable(3)), `  [${V3_RUNTIME}.cni]`, ...tomlKeys({ bin_dirs: [t.cni.bin_dir], conf_dir: t.cni.conf_dir }, '    '));
  return out;
}
