// Starts a real control plane with the demo fleet on free ports in a fresh directory, and stops it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '..', '..');

/** A free loopback port; with `span`, `span` consecutive free ports starting there (web replicas use port + i). */
export async function freePort(span = 1): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenOnce(0);
    let ok = true;
    for (let i = 1; i < span && ok; i++) ok = await listenOnce(port + i).then(() => true, () => false);
    if (ok) return port;
  }
  throw new Error('no free port range found');
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const chosen = typeof address === 'object' && address ? address.port : port;
      server.close(() => resolvePort(chosen));
    });
  });
}

export interface RunningControlPlane {
  api: string;
  /** The bootstrap API key when the control plane printed one, else null (auth off). */
  key: () => string | null;
  output: () => string;
  stop: () => Promise<void>;
}

/** Matches a line announcing an API key, e.g. "bootstrap API key: ak_...". The key itself is never logged by the test. */
const keyLine = /\b(?:api[ _-]?key|bootstrap key|admin key)\b[^:=\n]*[:=]\s*([A-Za-z0-9_.~+/-]{16,})/i;

export async function startControlPlane(): Promise<RunningControlPlane> {
  const apiPort = await freePort();
  const webPort = await freePort(2);
  const workerPort = await freePort();
  const apiServicePort = await freePort(4);
  const apiLbPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'autonomic-e2e-'));
  const api = `http://127.0.0.1:${apiPort}`;
  // AUTONOMIC_E2E_DLL runs another build (e.g. a Debug one) instead of bin/autonomic.
  const dll = process.env.AUTONOMIC_E2E_DLL;
  const [command, args] = dll ? ['dotnet', [dll, 'up', '--demo']] : [join(repoRoot, 'bin', 'autonomic'), ['up', '--demo']];
  const child: ChildProcess = spawn(command, args, {
    cwd: dir,
    env: {
      ...process.env,
      AUTONOMIC_API: api,
      AUTONOMIC_SERVICES__WEB__PORT: String(webPort),
      AUTONOMIC_SERVICES__WORKER__PORT: String(workerPort),
      // The demo's scaled api service (up to 4 replicas) and its load balancer, off their fixed ports.
      AUTONOMIC_SERVICES__API__PORT: String(apiServicePort),
      AUTONOMIC_SERVICES__API__LB_PORT: String(apiLbPort),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: false,
  });
  let output = '';
  let key: string | null = process.env.AUTONOMIC_E2E_KEY ?? null;
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    if (!key) key = keyLine.exec(output)?.[1] ?? null;
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGINT');
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000));
      if ((await Promise.race([exited, timeout])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  // Ready when every demo instance is ready (the same condition the CLI's tour waits for).
  // Generous: on a loaded two-core machine the first start (JIT, SQLite migration) can take a minute.
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the control plane exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the demo fleet was not ready within 180 s:\n${output}`);
    }
    try {
      const headers: Record<string, string> = key ? { Authorization: `Bearer ${key}` } : {};
      const response = await fetch(`${api}/api/v1/status`, { headers });
      if (response.ok) {
        const status = (await response.json()) as { services: { instances: { state: string }[] }[] };
        const instances = status.services.flatMap((s) => s.instances);
        if (instances.length >= 3 && instances.every((i) => i.state === 'ready')) break;
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { api, key: () => key, output: () => output, stop };
}

export interface Answer {
  status: number;
  body: string;
}

/**
 * One GET to the control plane from a chosen loopback source address (e.g. 127.0.0.2, which is on the loopback
 * interface but outside the default allowlist 127.0.0.1/32), with the given bearer key (or none).
 */
export function requestFrom(api: string, path: string, localAddress: string, key: string | null): Promise<Answer> {
  const url = new URL(path, api);
  return new Promise((resolveAnswer, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: 'GET',
        localAddress,
        agent: false,
        headers: { Accept: 'application/json', ...(key ? { Authorization: `Bearer ${key}` } : {}) },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolveAnswer({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${url} from ${localAddress} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
