import { fork } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ClosedReport, Mode } from './fixtures/cluster-exit-child';
import { deployment } from './helpers/deployments';
import { uniquePrefix } from './helpers/redis';

// Nothing the library starts outlives the client it belongs to: a process that memoizes over a
// node-redis cluster client (lock on: its miss subscribes to lock releases) and then closes that
// client exits by itself, as it does with the lock off.

const EXIT_WITHIN_MS = 3000;

const cluster = deployment('node-redis cluster');

interface Run {
  report: ClosedReport;
  /** ms from the child's report (cluster closed) to its exit; undefined if it was still alive. */
  exitMs: number | undefined;
  exitCode: number | null;
}

/** Runs the child; if it is still alive `EXIT_WITHIN_MS` after closing its cluster, kills it. */
async function runChild(mode: Mode): Promise<Run> {
  const rootNodes = JSON.stringify(cluster.rootNodes);
  const child = fork(join(__dirname, 'fixtures', 'cluster-exit-child.ts'), [rootNodes, mode, uniquePrefix('exit')], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const report = await new Promise<ClosedReport>((resolve, reject) => {
    child.once('message', (message: ClosedReport) => resolve(message));
    exited.then((code) => reject(new Error(`the child exited (code ${code}) before closing its cluster`)));
  });
  const closedAt = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'alive'>((resolve) => {
    timer = setTimeout(() => resolve('alive'), EXIT_WITHIN_MS);
  });
  const first = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (first === 'alive') {
    child.kill('SIGKILL');
    await exited;
    return { report, exitMs: undefined, exitCode: null };
  }
  return { report, exitMs: performance.now() - closedAt, exitCode: first };
}

function expectExitedByItself(run: Run): void {
  expect(run.report.computes).toBe(1);
  expect(run.report.values).toEqual([{ id: 1 }, { id: 1 }]);
  if (run.exitMs === undefined) {
    throw new Error(`the child was still alive ${EXIT_WITHIN_MS} ms after closing its cluster client`);
  }
  expect(run.exitCode).toBe(0);
}

test('lock: true: the process exits by itself after cluster.close()', async () => {
  expectExitedByItself(await runChild('lock'));
});

test('lock: true with local: true: the process exits by itself after cluster.close()', async () => {
  expectExitedByItself(await runChild('lock-local'));
});

test('lock: false (control): the process exits by itself after cluster.close()', async () => {
  expectExitedByItself(await runChild('no-lock'));
});
