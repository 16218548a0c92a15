/**
 * A container's cgroup for the Task API: where it is, its metrics for Stats, OOM
 * notification for TaskOOM, and the resources of an Update. Only reads cgroups and
 * watches them; creating and changing them stays with the OCI runtime.
 */
export { type CgroupMode, detectCgroupMode } from './mode.js';
export { type CgroupMount, cgroupMounts, parseMountInfo } from './mounts.js';
export type { Cgroup, V1Cgroup, V2Cgroup } from './types.js';
export { type LocateOptions, type ProcCgroupLine, type SpecPathOptions, cgroupFromSpecPath, cgroupOf, parseProcCgroup, systemdCgroupPath } from './locate.js';
export { type MetricsAny, V1_METRICS_TYPE, V2_METRICS_TYPE, collectMetrics, encodeV1Metrics, encodeV2Metrics } from './metrics.js';
export { type V1Metrics, readV1Metrics } from './v1-stats.js';
export { UNLIMITED, type V2Metrics, readV2Metrics } from './v2-stats.js';
export { type OomWatch, type OomWatchEnd, type OomWatchOptions, watchOom } from './oom.js';
