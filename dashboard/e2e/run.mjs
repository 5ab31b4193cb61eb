// npm run e2e: puts the current dashboard beside the control plane under test (the gateway serves wwwroot/ next to
// autonomic.dll), then runs the browser end-to-end tests. The control plane is AUTONOMIC_E2E_DLL (e.g. a Debug build:
// src/Autonomic.Cli/bin/Debug/net10.0/autonomic.dll) or else bin/autonomic (artifacts/autonomic, from make build).
// Extra arguments go to vitest, e.g. `npm run e2e -- e2e/security.e2e.test.ts`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const dll = process.env.AUTONOMIC_E2E_DLL ? resolve(process.env.AUTONOMIC_E2E_DLL) : join(repoRoot, 'artifacts', 'autonomic', 'autonomic.dll');
if (!existsSync(dll)) {
  console.error(`e2e: ${dll} does not exist: run 'make build', or set AUTONOMIC_E2E_DLL to a built autonomic.dll`);
  process.exit(2);
}
// The tests start the control plane in a fresh temporary directory: pass the path on absolute.
if (process.env.AUTONOMIC_E2E_DLL) process.env.AUTONOMIC_E2E_DLL = dll;

const run = (command, args, cwd) => {
  const r = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (r.error) throw r.error;
  return r.status ?? 1;
};

const built = run(join(repoRoot, 'scripts', 'build-dashboard.sh'), [dirname(dll)], repoRoot);
if (built !== 0) process.exit(built);
process.exit(run('npx', ['vitest', 'run', '-c', 'vitest.e2e.config.ts', ...process.argv.slice(2)], resolve(import.meta.dirname, '..')));
