/**
 * Installs bench/'s own dependencies (`npm ci` in bench/) when they are missing or older than
 * `bench/package-lock.json`. The peers the benchmarks measure live there rather than in the root
 * install, which stays light for `npm ci && npm run example`; every bench script runs this first.
 */
import { execSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';

const BENCH = join(__dirname, '..', 'bench');

function modifiedAt(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

// npm ci writes node_modules/.package-lock.json last; a lockfile changed since (a pull, a checkout)
// is newer than it.
const lock = modifiedAt(join(BENCH, 'package-lock.json'));
const installed = modifiedAt(join(BENCH, 'node_modules', '.package-lock.json'));
if (lock === undefined) throw new Error(`${join(BENCH, 'package-lock.json')} is missing`);
if (installed === undefined || installed < lock) {
  console.log('bench: installing the peers it measures (npm ci in bench/)');
  execSync('npm ci --no-audit --no-fund', { cwd: BENCH, stdio: 'inherit' });
}
