/**
 * containerd's pod-level Sandbox service (`sandboxer = "shim"`, containerd 2.x) as a
 * definition both transports serve, beside the Task service on the same socket.
 */
import { containerd } from '../gen/proto.js';
import { defineMethod, type CallContext, type Codec, type ServiceImplementation } from '../transport/service.js';

const s = containerd.runtime.sandbox.v1;

export const SANDBOX_V1 = 'containerd.runtime.sandbox.v1.Sandbox';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const m = <Req extends Codec<any, any>, Res extends Codec<any, any>>(name: string, req: Req, res: Res) =>
  defineMethod(SANDBOX_V1, name, req, res);

export const sandboxService = {
  CreateSandbox: m('CreateSandbox', s.CreateSandboxRequest, s.CreateSandboxResponse),
  StartSandbox: m('StartSandbox', s.StartSandboxRequest, s.StartSandboxResponse),
  Platform: m('Platform', s.PlatformRequest, s.PlatformResponse),
  StopSandbox: m('StopSandbox', s.StopSandboxRequest, s.StopSandboxResponse),
  WaitSandbox: m('WaitSandbox', s.WaitSandboxRequest, s.WaitSandboxResponse),
  SandboxStatus: m('SandboxStatus', s.SandboxStatusRequest, s.SandboxStatusResponse),
  PingSandbox: m('PingSandbox', s.PingRequest, s.PingResponse),
  ShutdownSandbox: m('ShutdownSandbox', s.ShutdownSandboxRequest, s.ShutdownSandboxResponse),
  SandboxMetrics: m('SandboxMetrics', s.SandboxMetricsRequest, s.SandboxMetricsResponse),
};
export type SandboxServiceDefinition = typeof sandboxService;

/** The Sandbox API as handlers. */
export type SandboxApi = ServiceImplementation<SandboxServiceDefinition>;
export type SandboxCallContext = CallContext;
