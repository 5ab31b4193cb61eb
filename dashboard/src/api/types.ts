// Shapes of the Autonomic API (docs/api.md). Optional fields are those the server omits when null.

export type InstanceState =
  | 'pending' | 'starting' | 'running' | 'ready' | 'unready'
  | 'stopping' | 'exited' | 'backoff' | 'fatal' | 'stopped';

export interface InstanceRecord {
  id: string;
  service: string;
  index: number;
  state: InstanceState;
  pid?: number;
  port?: number;
  startedAt?: string;
  readySince?: string;
  restarts: number;
  reason?: string;
  updatedAt: string;
  /** Process start time in clock ticks since boot; with the pid it identifies the process. */
  startTicks?: number;
  /** Present (true) while the security agent holds it in quarantine: running, but out of its load balancer. */
  quarantined?: boolean;
}

export interface ServiceStatus {
  name: string;
  replicas: number;
  ready: number;
  instances: InstanceRecord[];
}

export interface StatusView {
  services: ServiceStatus[];
  incidentsOpen: number;
}

export type IncidentStatus = 'open' | 'mitigated' | 'resolved' | 'escalated';

export interface AgentAction {
  id: string;
  agent: string;
  kind: string;
  subject: string;
  reason: string;
  rule: string;
  evidence?: Record<string, string>;
  status: 'intent' | 'succeeded' | 'failed' | 'skipped';
  outcome?: string;
  incidentId?: string;
  createdAt: string;
  completedAt?: string;
}

export interface Incident {
  id: string;
  service: string;
  instanceId?: string;
  cause: string;
  status: IncidentStatus;
  summary?: string;
  failedAt: string;
  detectedAt: string;
  mitigatedAt?: string;
  resolvedAt?: string;
  needsHuman?: boolean;
  evidence?: Record<string, string>;
  actionIds?: string[];
  timeToDetectMs: number;
  timeToMitigateMs?: number | null;
  actions?: AgentAction[];
}

export interface CloudEvent<T = unknown> {
  id: string;
  source: string;
  type: string;
  time: string;
  subject?: string;
  data?: T;
}

export interface TrafficSample {
  service: string;
  atUtc: string;
  requestsPerSecond: number;
  latencyMsP50: number;
  latencyMsP95: number;
  errorRate: number;
  inFlight: number;
  readyReplicas: number;
}

export interface MetricSample {
  instanceId: string;
  pid: number;
  rssBytes: number;
  cpuSeconds: number;
  cpuCores: number;
  openFiles: number;
  threads: number;
}

export interface ServerInfo {
  version?: string;
  demo: boolean;
  auth: 'keys' | 'none';
}

export interface ChaosResult {
  fault: string;
  instanceId: string;
  pid?: number;
  detail: string;
}

// Planned endpoints: the dashboard reads these loosely (any extra field is ignored, missing ones shown as '—').
export interface TaskItem {
  id: string;
  kind?: string;
  type?: string;
  status?: string;
  state?: string;
  createdAt?: string;
  startedAt?: string;
  completedAt?: string;
  attempts?: number;
  error?: string;
}

export interface ObjectItem {
  store?: string;
  key: string;
  size?: number;
  contentType?: string;
  lastModified?: string;
  modifiedAt?: string;
}

export interface FunctionItem {
  name: string;
  runtime?: string;
  description?: string;
  invocations?: number;
  warm?: number;
}

export interface InvokeResult {
  result?: unknown;
  output?: unknown;
  cold?: boolean;
  coldStart?: boolean;
  durationMs?: number;
  error?: string;
}

// Security (docs/api.md#security, docs/security.md).

export type SecuritySeverity = 'low' | 'medium' | 'high';
export type SecurityResponseKind = 'none' | 'block' | 'suspend_key' | 'rate_limit' | 'quarantine';

/** A detection, as GET /api/v1/security/alerts lists them (newest first). */
export interface SecurityAlert {
  id: string;
  time: string;
  rule: string;
  /** Attack class: brute_force, sqli, xss, path_traversal, scanner, probing, anomaly, key_misuse, novel_log, … */
  class: string;
  severity: SecuritySeverity;
  sourceIp?: string;
  keyId?: string;
  subject?: string;
  instance?: string;
  response: SecurityResponseKind;
  reason: string;
  /** The offending lines or events. */
  evidence: string[];
}

export interface BlockRecord {
  ip: string;
  reason: string;
  rule: string;
  since: string;
  until: string;
  /** How many times this address has been blocked (ban time grows with it). */
  count: number;
  /** False once expired or lifted; the record stays to remember repeat offenders. */
  active: boolean;
  dryRun: boolean;
  evidence: string[];
}

/** An element of GET /api/v1/security/blocks. */
export interface BlockView {
  block: BlockRecord;
  inForce: boolean;
}

export interface ResponseRecord {
  kind: 'rate_limit' | 'quarantine';
  /** An address for a rate limit, an instance id for a quarantine. */
  target: string;
  reason: string;
  rule: string;
  since: string;
  until: string;
  active: boolean;
  dryRun: boolean;
  requestsPerSecond?: number;
  /** Who decided it: "security" (the agent) or the operator's key name. */
  by: string;
  alertId?: string;
  evidence: string[];
}

/** An element of GET /api/v1/security/rate-limits and GET /api/v1/security/quarantines. */
export interface ResponseView {
  response: ResponseRecord;
  inForce: boolean;
}

/** The body of POST /api/v1/security/quarantines. */
/** The body of POST /api/v1/security/blocks (admin). */
export interface BlockRequest {
  ip: string;
  /** A duration such as 30m or 2h (default 1h, at most 30d). */
  for?: string;
  reason?: string;
}

export interface QuarantineRequest {
  instance: string;
  /** A duration such as 30m or 2h (default 1h, at most 30d). */
  for?: string;
  reason?: string;
}
