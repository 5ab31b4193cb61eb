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

export interface SecurityAlert {
  id?: string;
  kind?: string;
  type?: string;
  severity?: string;
  source?: string;
  ip?: string;
  detail?: string;
  summary?: string;
  at?: string;
  time?: string;
  createdAt?: string;
}

export interface SecurityBlock {
  ip: string;
  reason?: string;
  createdAt?: string;
  since?: string;
  expiresAt?: string;
  until?: string;
}
