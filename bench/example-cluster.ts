/**
 * `npm run bench:example`: autocannon against the blog cluster on one post page, served with the
 * cached related posts and with `?nocache=1` (which calls `getRelatedPosts.original`), printing
 * requests per second for both and the ratio.
 *
 * Starts the cluster itself on a free port (`WORKERS`, `REDIS_URL`, `DATA_DIR` apply as for
 * `npm run example`), or measures one already running at `BENCH_URL`, e.g. `http://localhost:3000`.
 * `BENCH_DURATION` (seconds per run, default 10) and `BENCH_CONNECTIONS` (default 20) tune the load.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** The part of autocannon's API and result this script reads (the package ships no types). */
interface LoadResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (options: { url: string; connections: number; duration: number }) => Promise<LoadResult>;
const autocannon: Autocannon = require('autocannon');

const ROOT = join(__dirname, '..');

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer, got ${raw}`);
  return value;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Starts `npm run example`'s program in its own process group; resolves once every worker listens. */
async function startCluster(port: number): Promise<{ child: ChildProcess; banner: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/blog/main.ts'], {
    cwd: ROOT,
    detached: true,
    env: { ...process.env, PORT: String(port), KEY_PREFIX: process.env.KEY_PREFIX || 'blog-bench' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let banner = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk) => {
      banner += chunk;
      if (/listening on/.test(banner)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the cluster exited (${code}) before listening:\n${banner}`)));
  });
  return { child, banner };
}

async function firstPostPath(base: string): Promise<string> {
  const index = await (await fetch(base)).text();
  const path = /href="(\/posts\/[^"]+)"/.exec(index)?.[1];
  if (path === undefined) throw new Error(`no post link on ${base}`);
  return path;
}

function row(label: string, result: LoadResult): string {
  const failures = result.non2xx + result.errors + result.timeouts;
  return [
    label.padEnd(24),
    result.requests.average.toFixed(0).padStart(8),
    String(result.latency.p50).padStart(8),
    String(result.latency.p99).padStart(8),
    failures > 0 ? `   ${failures} failed` : '',
  ].join('');
}

async function main(): Promise<void> {
  const duration = positiveInteger('BENCH_DURATION', 10);
  const connections = positiveInteger('BENCH_CONNECTIONS', 20);
  let base = process.env.BENCH_URL;
  let cluster: ChildProcess | undefined;
  if (base === undefined || base === '') {
    const port = await freePort();
    const started = await startCluster(port);
    cluster = started.child;
    process.stdout.write(started.banner);
    base = `http://127.0.0.1:${port}`;
  }
  try {
    const path = await firstPostPath(base);
    await fetch(base + path);
    console.log(`\nautocannon: ${base}${path}, ${connections} connections, ${duration} s per run\n`);
    const cached = await autocannon({ url: base + path, connections, duration });
    const uncached = await autocannon({ url: `${base}${path}?nocache=1`, connections, duration });
    console.log(`${''.padEnd(24)}${'req/s'.padStart(8)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}`);
    console.log(row('cached', cached));
    console.log(row('uncached (?nocache=1)', uncached));
    const ratio = cached.requests.average / uncached.requests.average;
    console.log(`\ncached / uncached: ${ratio.toFixed(1)}x the requests per second`);
  } finally {
    if (cluster?.pid !== undefined) {
      const exited = new Promise((resolve) => cluster?.once('exit', resolve));
      process.kill(-cluster.pid, 'SIGTERM');
      await exited;
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
