/**
 * `npm run bench:example`: autocannon against the blog cluster on one post page, served with the
 * cached related posts and with `?nocache=1` (which calls `getRelatedPosts.original`), printing
 * requests per second for both and the ratio, with the machine and its load.
 *
 * Starts the cluster itself on a free port, over a freshly seeded database in a temporary folder
 * (so edits made while trying the example never change the figures) and a redis-server of its own
 * (or the one at `REDIS_URL`); `WORKERS` applies as for `npm run example`. Or it measures a cluster
 * already running at `BENCH_URL`, e.g. `http://localhost:3000`. `BENCH_DURATION` (seconds per run,
 * default 10) and `BENCH_CONNECTIONS` (default 20) tune the load.
 *
 * With its own database it also counts, from the data, how many related lists an edit of a post's
 * keywords invalidates through their tags, against every list with `invalidateAll`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../__tests__/helpers/redis-server';
import { openDatabase } from '../examples/blog/database';
import { createPostRepository } from '../examples/blog/posts';
import { benchRedis } from './lib/redis-server';

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

/**
 * Starts `npm run example`'s program in its own process group on a free port; resolves once every
 * worker listens. A port handed out free can be taken before the workers bind it (ports come from the
 * range outgoing connections use too): then it starts again on another, up to 3 times.
 */
async function startCluster(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; banner: string; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return { ...(await startClusterOn({ ...env, PORT: String(port) })), port };
    } catch (error) {
      if (attempt === 3 || !(error instanceof PortTaken)) throw error;
    }
  }
}

/** The cluster exited because its port was taken before it bound it. */
class PortTaken extends Error {}

async function startClusterOn(env: Record<string, string>): Promise<{ child: ChildProcess; banner: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/blog/main.ts'], {
    cwd: ROOT,
    detached: true,
    env: { ...process.env, KEY_PREFIX: 'blog-bench', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let banner = '';
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
    process.stderr.write(chunk);
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk) => {
      banner += chunk;
      if (/listening on/.test(banner)) resolve();
    });
    child.once('exit', (code) => {
      const message = `the cluster exited (${code}) before listening:\n${banner}`;
      reject(stderr.includes('EADDRINUSE') ? new PortTaken(message) : new Error(message));
    });
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

/**
 * How many related lists an edit of a post's keywords invalidates: the lists of every post carrying
 * one of them (its own included), for the post at `path` and for posts spread over the blog.
 */
function tagReach(dataDir: string, path: string): string {
  const db = openDatabase(dataDir);
  try {
    const posts = createPostRepository(db);
    const total = posts.count();
    const reach = (slug: string) => {
      const keywords = posts.getBySlug(slug)?.keywords ?? [];
      return { keywords, lists: posts.countCarrying(keywords) };
    };
    const slug = decodeURIComponent(path.slice('/posts/'.length));
    const edited = reach(slug);
    const spread = Array.from({ length: 200 }, (_, i) => posts.list(Math.floor((i * total) / 200), 1)[0])
      .map((post) => (post === undefined ? 0 : reach(post.slug).lists))
      .sort((a, b) => a - b);
    const at = (q: number) =>
      (spread[Math.min(spread.length - 1, Math.floor(q * spread.length))] ?? 0).toLocaleString('en');
    const all = total.toLocaleString('en');
    return [
      `tags: an edit of ${slug} (keywords ${edited.keywords.join(', ')}) invalidates the related lists of`,
      `  ${edited.lists.toLocaleString('en')} posts, those carrying one of its keywords, against ${all} with invalidateAll;`,
      `  over 200 posts spread over the blog: min ${at(0)}, median ${at(0.5)}, 90th percentile ${at(0.9)}, max ${at(1)}`,
    ].join('\n');
  } finally {
    db.close();
  }
}

/** The machine and its load averages (1, 5 and 15 minutes, as `uptime` prints them). */
function machine(): string {
  const cores = cpus();
  const load = loadavg()
    .map((n) => n.toFixed(2))
    .join(', ');
  return `${cores[0]?.model.trim() ?? 'unknown CPU'} x${cores.length}, ${process.platform}, node ${process.version}, load average ${load}`;
}

async function main(): Promise<void> {
  const duration = positiveInteger('BENCH_DURATION', 10);
  const connections = positiveInteger('BENCH_CONNECTIONS', 20);
  let base = process.env.BENCH_URL;
  let cluster: ChildProcess | undefined;
  let dataDir: string | undefined;
  const cleanups: (() => Promise<void> | void)[] = [];
  console.log(`machine: ${machine()}`);
  try {
    if (base === undefined || base === '') {
      const dir = mkdtempSync(join(tmpdir(), 'blog-bench-'));
      dataDir = dir;
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const redis = await benchRedis();
      cleanups.push(() => redis.stop());
      console.log(`redis: ${redis.spawned ? `redis-server spawned for this run at ${redis.url}` : redis.url}`);
      const started = await startCluster({ DATA_DIR: dir, REDIS_URL: redis.url });
      cluster = started.child;
      process.stdout.write(started.banner);
      base = `http://127.0.0.1:${started.port}`;
    }
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
    if (dataDir !== undefined) console.log(`\n${tagReach(dataDir, path)}`);
    console.log(`machine at the end: ${machine()}`);
  } finally {
    if (cluster?.pid !== undefined) {
      const exited = new Promise((resolve) => cluster?.once('exit', resolve));
      process.kill(-cluster.pid, 'SIGTERM');
      await exited;
    }
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
