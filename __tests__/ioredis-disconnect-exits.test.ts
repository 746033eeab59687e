import { fork } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Connection } from './fixtures/ioredis-child';
import type { ClosedReport } from './fixtures/ioredis-exit-child';
import { connectionTo } from './helpers/ioredis-processes';
import { testRedisUrl, uniquePrefix } from './helpers/redis';
import { type RedisCluster, spawnRedisCluster } from './helpers/redis-cluster';
import { spawnRedis } from './helpers/redis-server';

// Nothing the library starts outlives the client it belongs to, and closing that client never
// crashes the process: a process that memoizes with the lock and the local tier over an ioredis
// Redis or Cluster, then calls disconnect() or quit(), exits by itself with code 0 (no uncaught
// exception, no unhandled rejection) and prints nothing. Nor does the library open connections for a
// client the user never connected: such a process exits by itself without closing anything.

const EXIT_WITHIN_MS = 3000;

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await spawnRedisCluster({ masters: 3 });
}, 30_000);
afterAll(async () => {
  await cluster?.stop();
});

interface Run {
  report: ClosedReport;
  /** ms from the child's report (client closed) to its exit; undefined if it was still alive. */
  exitMs: number | undefined;
  exitCode: number | null;
  stderr: string;
}

type How = 'disconnect' | 'quit' | 'never-connected' | 'disconnect-while-down';

/**
 * Runs the child; if it is still alive `EXIT_WITHIN_MS` after closing its client, kills it.
 * `whenWarm` is called when a 'disconnect-while-down' child is warm; the child disconnects after it.
 */
async function runChild(connection: Connection, how: How, whenWarm?: () => Promise<void>): Promise<Run> {
  const child = fork(
    join(__dirname, 'fixtures', 'ioredis-exit-child.ts'),
    [JSON.stringify(connection), how, uniquePrefix('io-exit')],
    { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const report = await new Promise<ClosedReport>((resolve, reject) => {
    child.on('message', (message: ClosedReport | { warm: true }) => {
      if ('warm' in message) whenWarm?.().then(() => child.send('down'));
      else resolve(message);
    });
    exited.then((code) => reject(new Error(`the child exited (code ${code}) before closing its client: ${stderr}`)));
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
    return { report, exitMs: undefined, exitCode: null, stderr };
  }
  return { report, exitMs: performance.now() - closedAt, exitCode: first, stderr };
}

test.each([
  ['an ioredis Redis', 'disconnect'],
  ['an ioredis Redis', 'quit'],
  ['an ioredis Cluster', 'disconnect'],
  ['an ioredis Cluster', 'quit'],
] as const)('lock and local on, over %s: after %s() the process exits by itself, cleanly', async (kind, how) => {
  const run = await runChild(connectionTo(kind === 'an ioredis Redis' ? testRedisUrl() : cluster), how);
  expect(run.report.computes).toBe(1);
  expect(run.report.values).toEqual([{ id: 1 }, { id: 1 }]);
  // Over a single server the tier was in use (its tracking connections were up) when the client closed.
  expect(run.report.localHit).toBe(kind === 'an ioredis Redis');
  if (run.exitMs === undefined) {
    throw new Error(`the child was still alive ${EXIT_WITHIN_MS} ms after ${how}(): ${run.stderr}`);
  }
  expect(run.stderr).toBe('');
  expect(run.exitCode).toBe(0);
});

test.each([
  ['an ioredis Redis', testRedisUrl],
  ['an ioredis Cluster', () => cluster],
] as const)(
  'lock and local on, over %s made with lazyConnect and never connected: the process exits by itself',
  async (_kind, target) => {
    const run = await runChild(connectionTo(target()), 'never-connected');
    // Without a connected store every call computes.
    expect(run.report.computes).toBe(2);
    expect(run.report.localHit).toBe(false);
    if (run.exitMs === undefined) {
      throw new Error(`the child was still alive ${EXIT_WITHIN_MS} ms after its calls: ${run.stderr}`);
    }
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
  },
);

test('lock and local on, over an ioredis Redis: disconnect() while Redis is down (the client reconnecting) lets the process exit', async () => {
  // ioredis emits no 'end' for a client disconnected while it reconnects: the store never hears it.
  const server = await spawnRedis();
  try {
    const run = await runChild(connectionTo(server.url), 'disconnect-while-down', () => server.kill());
    expect(run.report.localHit).toBe(true);
    if (run.exitMs === undefined) {
      throw new Error(`the child was still alive ${EXIT_WITHIN_MS} ms after disconnect(): ${run.stderr}`);
    }
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
  } finally {
    await server.stop();
  }
});
