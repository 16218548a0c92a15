// A CRI v1 client for end-to-end tests: it speaks to containerd's CRI plugin as kubelet
// does (gRPC on containerd's own socket, services runtime.v1.RuntimeService and
// runtime.v1.ImageService), with our reduced api.proto (test/e2e/cri/api.proto) loaded at
// run time.
//
//   const cri = new CriClient(c.address, { logRoot, cgroupParent });
//   const pod = await cri.runPod({ name: 'p', namespace: 'default', runtimeHandler: 'switchyard' });
//   const id = await cri.createAndStart(pod, undefined, { name: 'c', image, command: ['sleep', '100'] });
//   await cri.stopAndRemovePod(pod);
//   cri.close();
//
// Every call has a deadline, so a hang in containerd or in a shim fails the test instead
// of blocking it; failures are CriError with the gRPC code in the message.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { repoRoot } from './image.js';
import { cgroupMounts } from './cleanup.js';

// ---------------------------------------------------------------------------------------
// message shapes (snake_case, as proto-loader gives them with keepCase). 64-bit integers
// arrive as decimal strings (longs: String) and may be sent as numbers or strings.

type Int64 = number | string;
type StrMap = Record<string, string>;

export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';
export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

export interface NamespaceOption {
  network?: NamespaceMode;
  pid?: NamespaceMode;
  ipc?: NamespaceMode;
  target_id?: string;
}

export interface ImageSpec {
  image: string;
  annotations?: StrMap;
}

export interface KeyValue {
  key: string;
  value: string;
}

export interface Mount {
  container_path: string;
  host_path: string;
  readonly?: boolean;
  selinux_relabel?: boolean;
  propagation?: 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';
}

export interface LinuxContainerResources {
  cpu_period?: Int64;
  cpu_quota?: Int64;
  cpu_shares?: Int64;
  memory_limit_in_bytes?: Int64;
  oom_score_adj?: Int64;
  cpuset_cpus?: string;
  cpuset_mems?: string;
  unified?: StrMap;
  memory_swap_limit_in_bytes?: Int64;
}

export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt?: number;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  log_directory?: string;
  labels?: StrMap;
  annotations?: StrMap;
  linux?: {
    cgroup_parent?: string;
    security_context?: {
      namespace_options?: NamespaceOption;
      run_as_user?: { value: Int64 };
      readonly_rootfs?: boolean;
      privileged?: boolean;
    };
    sysctls?: StrMap;
  };
}

export interface ContainerConfig {
  metadata: { name: string; attempt?: number };
  image: ImageSpec;
  command?: string[];
  args?: string[];
  working_dir?: string;
  envs?: KeyValue[];
  mounts?: Mount[];
  labels?: StrMap;
  annotations?: StrMap;
  log_path?: string;
  stdin?: boolean;
  stdin_once?: boolean;
  tty?: boolean;
  linux?: {
    resources?: LinuxContainerResources;
    security_context?: {
      privileged?: boolean;
      namespace_options?: NamespaceOption;
      run_as_user?: { value: Int64 };
      readonly_rootfs?: boolean;
      no_new_privs?: boolean;
    };
  };
}

export interface VersionResponse {
  version: string;
  runtime_name: string;
  runtime_version: string;
  runtime_api_version: string;
}

export interface RuntimeCondition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}

export interface StatusResponse {
  status: { conditions: RuntimeCondition[] } | null;
  info: StrMap;
}

export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata | null;
  state: PodSandboxState;
  created_at: string;
  network: { ip: string } | null;
  linux: { namespaces: { options: NamespaceOption | null } | null } | null;
  labels: StrMap;
  annotations: StrMap;
  runtime_handler: string;
}

export interface PodSandboxStatusResponse {
  status: PodSandboxStatus | null;
  info: StrMap;
}

export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata | null;
  state: PodSandboxState;
  created_at: string;
  labels: StrMap;
  annotations: StrMap;
  runtime_handler: string;
}

export interface PodSandboxFilter {
  id?: string;
  state?: { state: PodSandboxState };
  label_selector?: StrMap;
}

export interface Container {
  id: string;
  pod_sandbox_id: string;
  metadata: { name: string; attempt: number } | null;
  image: ImageSpec | null;
  image_ref: string;
  state: ContainerState;
  created_at: string;
  labels: StrMap;
  annotations: StrMap;
}

export interface ContainerFilter {
  id?: string;
  state?: { state: ContainerState };
  pod_sandbox_id?: string;
  label_selector?: StrMap;
}

export interface ContainerStatus {
  id: string;
  metadata: { name: string; attempt: number } | null;
  state: ContainerState;
  created_at: string;
  started_at: string;
  finished_at: string;
  exit_code: number;
  image: ImageSpec | null;
  image_ref: string;
  reason: string;
  message: string;
  labels: StrMap;
  annotations: StrMap;
  mounts: Mount[];
  log_path: string;
  resources: { linux: LinuxContainerResources | null } | null;
}

export interface ContainerStatusResponse {
  status: ContainerStatus | null;
  /** verbose only: containerd puts one JSON document under "info" (pid, runtimeSpec, ...). */
  info: StrMap;
}

export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  exit_code: number;
}

interface UInt64Value {
  value: string;
}

export interface ContainerStats {
  attributes: { id: string; metadata: { name: string; attempt: number } | null; labels: StrMap; annotations: StrMap } | null;
  cpu: { timestamp: string; usage_core_nano_seconds: UInt64Value | null; usage_nano_cores: UInt64Value | null } | null;
  memory: {
    timestamp: string;
    working_set_bytes: UInt64Value | null;
    available_bytes: UInt64Value | null;
    usage_bytes: UInt64Value | null;
    rss_bytes: UInt64Value | null;
    page_faults: UInt64Value | null;
    major_page_faults: UInt64Value | null;
  } | null;
  writable_layer: { timestamp: string; fs_id: { mountpoint: string } | null; used_bytes: UInt64Value | null; inodes_used: UInt64Value | null } | null;
}

export interface Image {
  id: string;
  repo_tags: string[];
  repo_digests: string[];
  size: string;
  uid: { value: string } | null;
  username: string;
  spec: ImageSpec | null;
  pinned: boolean;
}

// ---------------------------------------------------------------------------------------
// errors

/** A failed CRI call: `code` is the gRPC status code, `codeName` its name. */
export class CriError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    readonly codeName: string,
    readonly details: string,
  ) {
    super(`CRI ${method} failed: ${codeName} (gRPC code ${code}): ${details}`);
    this.name = 'CriError';
  }
}

const CODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(grpc.status)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v as number, k]),
);

/** True if `err` is a CriError with gRPC code NOT_FOUND. */
export function isNotFound(err: unknown): boolean {
  return err instanceof CriError && err.code === grpc.status.NOT_FOUND;
}

// ---------------------------------------------------------------------------------------
// loading the proto

export const CRI_PROTO = 'test/e2e/cri/api.proto';

let packageCache: grpc.GrpcObject | undefined;

function criPackage(): grpc.GrpcObject {
  if (packageCache) return packageCache;
  const file = path.join(repoRoot(), CRI_PROTO);
  const def = protoLoader.loadSync(file, {
    keepCase: true,
    longs: String,
    enums: String,
    bytes: Buffer,
    defaults: true,
    arrays: true,
    objects: true,
    oneofs: true,
  });
  packageCache = grpc.loadPackageDefinition(def);
  return packageCache;
}

type ServiceCtor = new (address: string, creds: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => grpc.Client;

function serviceCtor(name: 'RuntimeService' | 'ImageService'): ServiceCtor {
  const v1 = (criPackage().runtime as grpc.GrpcObject).v1 as grpc.GrpcObject;
  return v1[name] as unknown as ServiceCtor;
}

// ---------------------------------------------------------------------------------------

export interface CriClientOptions {
  /** Deadline of each call unless the method says otherwise (default 60000 ms). */
  timeoutMs?: number;
  /**
   * Defaults for runPod(): each pod's log_directory is `<logRoot>/<ns>_<name>_<uid>`, as
   * kubelet's /var/log/pods layout, and is created by runPod.
   */
  logRoot?: string;
  /** Defaults for runPod(): each pod's cgroup_parent is `<cgroupParent>/pod<uid>`. */
  cgroupParent?: string;
}

export interface RunPodOptions {
  name: string;
  namespace: string;
  /** Default: a fresh random UUID, as the API server assigns. */
  uid?: string;
  attempt?: number;
  annotations?: StrMap;
  labels?: StrMap;
  /** RuntimeClass handler (a runtimes.<name> table); '' means containerd's default runtime. */
  runtimeHandler: string;
  /** Default: the pod name, or none for a host-network pod (as kubelet). */
  hostname?: string;
  /** Default: `<logRoot>/<namespace>_<name>_<uid>` if the client has a logRoot. */
  logDirectory?: string;
  /** Default: `<cgroupParent>/pod<uid>` if the client has a cgroupParent. */
  cgroupParent?: string;
  /** Default as kubelet's for a hostNetwork pod: network NODE (no CNI needed), pid CONTAINER, ipc POD. */
  namespaceOptions?: NamespaceOption;
  /** Deadline of RunPodSandbox (default: the client's; kubelet uses 2 min). */
  timeoutMs?: number;
}

export interface CreateAndStartOptions {
  name: string;
  image: string;
  command: string[];
  args?: string[];
  workingDir?: string;
  env?: Record<string, string>;
  mounts?: Mount[];
  labels?: StrMap;
  annotations?: StrMap;
  /** Relative to the pod's log directory (default `<name>/<attempt>.log`, as kubelet). */
  logPath?: string;
  attempt?: number;
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
  resources?: LinuxContainerResources;
  /** Also wait until ContainerStatus says RUNNING (default true). */
  waitRunning?: boolean;
}

export interface CallOptions {
  timeoutMs?: number;
}

/** Typed, promise-based CRI RuntimeService + ImageService client on a unix socket. */
export class CriClient {
  readonly address: string;
  private readonly runtime: grpc.Client;
  private readonly images: grpc.Client;
  private readonly timeoutMs: number;
  private readonly pods = new Map<string, PodSandboxConfig>();

  /** `address`: containerd's gRPC socket path (with or without `unix://`). */
  constructor(
    address: string,
    private readonly opts: CriClientOptions = {},
  ) {
    this.address = address.startsWith('unix:') ? address : `unix://${address}`;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    const channel: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': 16 << 20,
      'grpc.max_send_message_length': 16 << 20,
    };
    this.runtime = new (serviceCtor('RuntimeService'))(this.address, grpc.credentials.createInsecure(), channel);
    this.images = new (serviceCtor('ImageService'))(this.address, grpc.credentials.createInsecure(), channel);
  }

  close(): void {
    this.runtime.close();
    this.images.close();
  }

  private call<Res>(client: grpc.Client, method: string, req: object, timeoutMs = this.timeoutMs): Promise<Res> {
    const fn = (client as unknown as Record<string, Function>)[method];
    if (typeof fn !== 'function') return Promise.reject(new Error(`CRI client has no method ${method}`));
    return new Promise<Res>((resolve, reject) => {
      fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, res: Res) => {
        if (err) {
          const code = typeof err.code === 'number' ? err.code : grpc.status.UNKNOWN;
          reject(new CriError(method, code, CODE_NAMES[code] ?? String(code), err.details || err.message));
        } else {
          resolve(res);
        }
      });
    });
  }

  private rt<Res>(method: string, req: object, o?: CallOptions): Promise<Res> {
    return this.call<Res>(this.runtime, method, req, o?.timeoutMs);
  }

  // ---- RuntimeService ----------------------------------------------------------------

  version(o?: CallOptions): Promise<VersionResponse> {
    return this.rt('Version', { version: 'v1' }, o);
  }

  status(verbose = false, o?: CallOptions): Promise<StatusResponse> {
    return this.rt('Status', { verbose }, o);
  }

  async runPodSandbox(config: PodSandboxConfig, runtimeHandler: string, o?: CallOptions): Promise<string> {
    const r = await this.rt<{ pod_sandbox_id: string }>('RunPodSandbox', { config, runtime_handler: runtimeHandler }, o);
    this.pods.set(r.pod_sandbox_id, config);
    return r.pod_sandbox_id;
  }

  async stopPodSandbox(id: string, o?: CallOptions): Promise<void> {
    await this.rt('StopPodSandbox', { pod_sandbox_id: id }, o);
  }

  async removePodSandbox(id: string, o?: CallOptions): Promise<void> {
    await this.rt('RemovePodSandbox', { pod_sandbox_id: id }, o);
    this.pods.delete(id);
  }

  podSandboxStatus(id: string, verbose = false, o?: CallOptions): Promise<PodSandboxStatusResponse> {
    return this.rt('PodSandboxStatus', { pod_sandbox_id: id, verbose }, o);
  }

  async listPodSandbox(filter?: PodSandboxFilter, o?: CallOptions): Promise<PodSandbox[]> {
    const r = await this.rt<{ items: PodSandbox[] }>('ListPodSandbox', filter ? { filter } : {}, o);
    return r.items;
  }

  async createContainer(podId: string, config: ContainerConfig, podConfig: PodSandboxConfig, o?: CallOptions): Promise<string> {
    const r = await this.rt<{ container_id: string }>('CreateContainer', { pod_sandbox_id: podId, config, sandbox_config: podConfig }, o);
    return r.container_id;
  }

  async startContainer(id: string, o?: CallOptions): Promise<void> {
    await this.rt('StartContainer', { container_id: id }, o);
  }

  /** `timeoutSeconds`: grace between the stop signal and SIGKILL; the deadline adds 30 s. */
  async stopContainer(id: string, timeoutSeconds = 10, o?: CallOptions): Promise<void> {
    await this.rt('StopContainer', { container_id: id, timeout: timeoutSeconds }, { timeoutMs: o?.timeoutMs ?? timeoutSeconds * 1000 + 30_000 });
  }

  async removeContainer(id: string, o?: CallOptions): Promise<void> {
    await this.rt('RemoveContainer', { container_id: id }, o);
  }

  async listContainers(filter?: ContainerFilter, o?: CallOptions): Promise<Container[]> {
    const r = await this.rt<{ containers: Container[] }>('ListContainers', filter ? { filter } : {}, o);
    return r.containers;
  }

  containerStatus(id: string, verbose = false, o?: CallOptions): Promise<ContainerStatusResponse> {
    return this.rt('ContainerStatus', { container_id: id, verbose }, o);
  }

  async updateContainerResources(id: string, linux: LinuxContainerResources, annotations?: StrMap, o?: CallOptions): Promise<void> {
    await this.rt('UpdateContainerResources', { container_id: id, linux, ...(annotations ? { annotations } : {}) }, o);
  }

  /** `timeoutSeconds` is the runtime's limit (0: none); the call's deadline adds 30 s. */
  async execSync(id: string, cmd: string[], timeoutSeconds = 30, o?: CallOptions): Promise<ExecSyncResult> {
    const deadline = o?.timeoutMs ?? (timeoutSeconds > 0 ? timeoutSeconds * 1000 + 30_000 : this.timeoutMs);
    const r = await this.rt<ExecSyncResult>('ExecSync', { container_id: id, cmd, timeout: timeoutSeconds }, { timeoutMs: deadline });
    return { stdout: Buffer.from(r.stdout ?? []), stderr: Buffer.from(r.stderr ?? []), exit_code: r.exit_code };
  }

  async containerStats(id: string, o?: CallOptions): Promise<ContainerStats | null> {
    const r = await this.rt<{ stats: ContainerStats | null }>('ContainerStats', { container_id: id }, o);
    return r.stats;
  }

  // ---- ImageService ------------------------------------------------------------------

  async listImages(image?: string, o?: CallOptions): Promise<Image[]> {
    const r = await this.call<{ images: Image[] }>(this.images, 'ListImages', image ? { filter: { image: { image } } } : {}, o?.timeoutMs);
    return r.images;
  }

  /** The image, or null when the runtime does not have it. */
  async imageStatus(image: string, o?: CallOptions): Promise<Image | null> {
    const r = await this.call<{ image: Image | null }>(this.images, 'ImageStatus', { image: { image } }, o?.timeoutMs);
    return r.image && r.image.id ? r.image : null;
  }

  // ---- helpers, as kubelet drives a pod ----------------------------------------------

  /** Wait until the CRI service answers Version (containerd may still be loading it). */
  async waitReady(timeoutMs = 20_000): Promise<VersionResponse> {
    const end = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < end) {
      try {
        return await this.version({ timeoutMs: Math.max(1000, Math.min(5000, end - Date.now())) });
      } catch (e) {
        last = e;
        await delay(100);
      }
    }
    throw new Error(`CRI on ${this.address} did not answer Version within ${timeoutMs} ms: ${(last as Error)?.message ?? last}`);
  }

  /** Wait until ImageStatus knows `image` (CRI learns about imported images from events). */
  async waitImage(image: string, timeoutMs = 20_000): Promise<Image> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const img = await this.imageStatus(image);
      if (img) return img;
      if (Date.now() > end) throw new Error(`CRI does not know image ${image} after ${timeoutMs} ms`);
      await delay(100);
    }
  }

  /** The PodSandboxConfig runPod() would send. */
  podConfig(o: Omit<RunPodOptions, 'runtimeHandler' | 'timeoutMs'>): PodSandboxConfig {
    const uid = o.uid ?? randomUUID();
    const logDirectory = o.logDirectory ?? (this.opts.logRoot ? path.join(this.opts.logRoot, `${o.namespace}_${o.name}_${uid}`) : undefined);
    const cgroupParent = o.cgroupParent ?? (this.opts.cgroupParent ? `${this.opts.cgroupParent}/pod${uid}` : undefined);
    const namespaceOptions = o.namespaceOptions ?? { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' };
    // As kubelet: a host-network pod shares the node's UTS namespace and gets no hostname
    // (runc refuses to set one without a private UTS namespace).
    const hostname = o.hostname ?? (namespaceOptions.network === 'NODE' ? undefined : o.name);
    return {
      metadata: { name: o.name, uid, namespace: o.namespace, attempt: o.attempt ?? 0 },
      ...(hostname ? { hostname } : {}),
      ...(logDirectory ? { log_directory: logDirectory } : {}),
      labels: { 'io.kubernetes.pod.name': o.name, 'io.kubernetes.pod.namespace': o.namespace, 'io.kubernetes.pod.uid': uid, ...(o.labels ?? {}) },
      annotations: { ...(o.annotations ?? {}) },
      linux: {
        ...(cgroupParent ? { cgroup_parent: cgroupParent } : {}),
        security_context: {
          namespace_options: namespaceOptions,
        },
      },
    };
  }

  /**
   * RunPodSandbox as kubelet does (log directory created first). Returns the sandbox id;
   * the config sent is kept for createAndStart() and given by sentPodConfig(id).
   */
  async runPod(o: RunPodOptions): Promise<string> {
    const config = this.podConfig(o);
    if (config.log_directory) fs.mkdirSync(config.log_directory, { recursive: true, mode: 0o755 });
    return this.runPodSandbox(config, o.runtimeHandler, { timeoutMs: o.timeoutMs });
  }

  /** The PodSandboxConfig this client sent for pod `id` (undefined for other pods). */
  sentPodConfig(id: string): PodSandboxConfig | undefined {
    return this.pods.get(id);
  }

  /**
   * CreateContainer + StartContainer (+ wait for RUNNING) as kubelet does; the container's
   * log dir is created first. `podConfig` defaults to the config runPod() sent.
   */
  async createAndStart(podId: string, podConfig: PodSandboxConfig | undefined, o: CreateAndStartOptions): Promise<string> {
    const pc = podConfig ?? this.pods.get(podId);
    if (!pc) throw new Error(`createAndStart: no PodSandboxConfig known for pod ${podId}`);
    const attempt = o.attempt ?? 0;
    const logPath = o.logPath ?? path.join(o.name, `${attempt}.log`);
    if (pc.log_directory) fs.mkdirSync(path.dirname(path.join(pc.log_directory, logPath)), { recursive: true, mode: 0o755 });
    const config: ContainerConfig = {
      metadata: { name: o.name, attempt },
      image: { image: o.image },
      command: o.command,
      args: o.args ?? [],
      ...(o.workingDir ? { working_dir: o.workingDir } : {}),
      envs: Object.entries(o.env ?? {}).map(([key, value]) => ({ key, value })),
      mounts: o.mounts ?? [],
      labels: {
        'io.kubernetes.container.name': o.name,
        'io.kubernetes.pod.name': pc.metadata.name,
        'io.kubernetes.pod.namespace': pc.metadata.namespace,
        'io.kubernetes.pod.uid': pc.metadata.uid,
        ...(o.labels ?? {}),
      },
      annotations: { ...(o.annotations ?? {}) },
      log_path: logPath,
      stdin: o.stdin ?? false,
      stdin_once: o.stdinOnce ?? false,
      tty: o.tty ?? false,
      // kubelet gives every container the pod's namespace modes (CRI's default is POD)
      linux: {
        ...(o.resources ? { resources: o.resources } : {}),
        security_context: { namespace_options: pc.linux?.security_context?.namespace_options ?? {} },
      },
    };
    const id = await this.createContainer(podId, config, pc);
    await this.startContainer(id);
    if (o.waitRunning ?? true) await this.waitContainer(id, 'CONTAINER_RUNNING');
    return id;
  }

  /**
   * Poll ContainerStatus until the container is in `state`; resolves with the status.
   * Rejects after `timeoutMs`, or at once if the container reached EXITED while waiting
   * for another state.
   */
  async waitContainer(id: string, state: ContainerState, timeoutMs = 30_000): Promise<ContainerStatus> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const s = (await this.containerStatus(id)).status;
      if (s?.state === state) return s;
      if (s?.state === 'CONTAINER_EXITED' && state !== 'CONTAINER_EXITED') {
        throw new Error(`container ${id} exited (code ${s.exit_code}, reason ${s.reason || '-'}: ${s.message || '-'}) while waiting for ${state}`);
      }
      if (Date.now() > end) throw new Error(`container ${id} is ${s?.state ?? 'unknown'}, not ${state}, after ${timeoutMs} ms`);
      await delay(50);
    }
  }

  /**
   * Tear a pod down as kubelet does: stop its containers (grace `graceSeconds`), stop the
   * sandbox, remove the containers and the sandbox. A pod or container that is already
   * gone is not an error. `o.timeoutMs`, when given, is every call's deadline (beyond the
   * grace for StopContainer; kubelet's is 2 min); otherwise each call keeps its own default.
   */
  async stopAndRemovePod(id: string, graceSeconds = 2, o?: CallOptions): Promise<void> {
    const ignoreNotFound = (e: unknown) => {
      if (!isNotFound(e)) throw e;
    };
    const containers = await this.listContainers({ pod_sandbox_id: id });
    const stopDeadline = o?.timeoutMs === undefined ? undefined : { timeoutMs: graceSeconds * 1000 + o.timeoutMs };
    await Promise.all(containers.map((c) => this.stopContainer(c.id, graceSeconds, stopDeadline).catch(ignoreNotFound)));
    // kubelet retries a failed StopPodSandbox on its next sync; so does this teardown, once,
    // and says so on stderr (a lost shim connection was seen here twice in ~25 runs).
    await this.stopPodSandbox(id, o).catch(async (e: unknown) => {
      ignoreNotFound(e);
    }).catch(async (e: unknown) => {
      process.stderr.write(`cri: StopPodSandbox ${id.slice(0, 12)} failed, retrying as kubelet would: ${(e as Error).message}\n`);
      await delay(1000);
      await this.stopPodSandbox(id, o).catch(ignoreNotFound);
    });
    for (const c of containers) await this.removeContainer(c.id, o).catch(ignoreNotFound);
    const cgroupParent = this.pods.get(id)?.linux?.cgroup_parent;
    await this.removePodSandbox(id, o).catch(ignoreNotFound);
    this.pods.delete(id);
    // kubelet removes the pod cgroup it made; runc only removes the containers' own.
    if (cgroupParent && this.opts.cgroupParent && cgroupParent.startsWith(this.opts.cgroupParent + '/')) removeEmptyCgroup(cgroupParent);
  }
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** rmdir an (empty) cgroup in every hierarchy; leftovers are the harness cleanup's job. */
function removeEmptyCgroup(cgroupPath: string): void {
  if (!cgroupPath.startsWith('/') || cgroupPath.includes('..')) return;
  for (const m of cgroupMounts()) {
    try {
      fs.rmdirSync(path.join(m, cgroupPath));
    } catch {}
  }
}
