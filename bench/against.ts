import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClient, createCluster } from 'redis';
import { spawnRedisCluster } from '../__tests__/helpers/redis-cluster';
import { spawnRedis } from '../__tests__/helpers/redis-server';
import * as current from '../lib';
import { asyncRate, compare } from './lib/measure';
import { markdownRow } from './lib/report';
import { relatedPosts } from './peers/related-posts';

// `npm run bench:against -- <git ref>`: misses and hits of this checkout against those of another
// commit, both loaded in one process and measured in interleaved rounds over the same client, so that
// a change's effect is read as a ratio and not lost in the machine's noise between runs. The ref is
// checked out in a temporary git worktree (removed at the end) that uses this checkout's node_modules.
// Misses on one spawned redis-server (a 10-post value and a small one) and on a spawned 3-master
// cluster; hits through Redis (10 posts, 100 keys) on the one server.

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const ROUND_MS = 300;

type Library = typeof current;
type Client = NonNullable<Parameters<Library['createMemoizer']>[0]>['client'];

/** The other commit's library, from a worktree of `ref`; `remove` deletes the worktree. */
function checkout(ref: string): { dir: string; remove(): void } {
  const root = resolve(__dirname, '..');
  const dir = mkdtempSync(join(tmpdir(), 'cache-memoize-against-'));
  execFileSync('git', ['worktree', 'add', '--detach', dir, ref], { cwd: root, stdio: 'ignore' });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return {
    dir,
    remove() {
      execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: root, stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Distinct entries the hit rows read, one per lane at 100 in flight: hits, not single-flight joins. */
const HIT_KEYS = 100;

/** One row: hits per second of each library over `client`, read from Redis, `inFlight` at once. */
async function hitRow(name: string, other: Library, client: Client, inFlight: number): Promise<string> {
  const options = { client, ttl: '1h', timeout: '10s', circuitBreaker: false } as const;
  const stamp = Date.now();
  const before = other.createMemoizer({ ...options, keyPrefix: `against-${stamp}` })(
    async (n: number) => relatedPosts(n),
    { name: 'hit' },
  );
  const after = current.createMemoizer({ ...options, keyPrefix: `current-${stamp}` })(
    async (n: number) => relatedPosts(n),
    { name: 'hit' },
  );
  // The second pass reads what the first one wrote.
  for (let pass = 0; pass < 2; pass++) for (let n = 0; n < HIT_KEYS; n++) await Promise.all([before(n), after(n)]);
  let next = 0;
  const comparison = await compare({
    baseline: (ms) => asyncRate(() => before(next++ % HIT_KEYS), inFlight, ms),
    candidate: (ms) => asyncRate(() => after(next++ % HIT_KEYS), inFlight, ms),
    rounds: ROUNDS,
    roundMs: ROUND_MS,
    warmupMs: ROUND_MS,
  });
  return markdownRow(name, comparison);
}

/** One row: misses per second of each library over `client`, fresh arguments, `inFlight` at once. */
async function row(
  name: string,
  other: Library,
  client: Client,
  inFlight: number,
  value: (n: number) => unknown,
): Promise<string> {
  const options = { client, ttl: '1h', timeout: '10s', circuitBreaker: false } as const;
  const stamp = Date.now();
  const before = other.createMemoizer({ ...options, keyPrefix: `against-${stamp}` })(async (n: number) => value(n), {
    name: 'miss',
  });
  const after = current.createMemoizer({ ...options, keyPrefix: `current-${stamp}` })(async (n: number) => value(n), {
    name: 'miss',
  });
  let next = 1;
  const comparison = await compare({
    baseline: (ms) => asyncRate(() => before(next++), inFlight, ms),
    candidate: (ms) => asyncRate(() => after(next++), inFlight, ms),
    rounds: ROUNDS,
    roundMs: ROUND_MS,
    warmupMs: ROUND_MS,
  });
  return markdownRow(name, comparison);
}

async function main(): Promise<void> {
  const ref = process.argv[2];
  if (ref === undefined || ref === '') throw new TypeError('bench:against: give the git ref to compare with');
  const worktree = checkout(ref);
  const rows: string[] = [];
  try {
    const other = (await import(join(worktree.dir, 'lib', 'index.ts'))) as Library;
    const small = (n: number) => ({ n, title: `post ${n}` });
    const server = await spawnRedis();
    const client = createClient({ url: server.url });
    client.on('error', () => {});
    await client.connect();
    try {
      for (const inFlight of [1, 100]) {
        rows.push(await row(`one server, ${inFlight} in flight, 10 posts`, other, client, inFlight, relatedPosts));
        rows.push(await row(`one server, ${inFlight} in flight, small value`, other, client, inFlight, small));
      }
      for (const inFlight of [1, 100]) {
        rows.push(await hitRow(`hits: one server, ${inFlight} in flight, 10 posts`, other, client, inFlight));
      }
    } finally {
      await client.quit();
      await server.stop();
    }
    const cluster = await spawnRedisCluster({ masters: 3 });
    const clusterClient = createCluster({ rootNodes: cluster.rootNodes });
    clusterClient.on('error', () => {});
    await clusterClient.connect();
    try {
      for (const inFlight of [1, 100]) {
        rows.push(
          await row(`cluster (3 masters), ${inFlight} in flight, small value`, other, clusterClient, inFlight, small),
        );
      }
    } finally {
      await clusterClient.close();
      await cluster.stop();
    }
  } finally {
    worktree.remove();
  }
  process.stdout.write(
    `misses (fresh arguments) and hits (read from Redis), ${ROUNDS} interleaved rounds of ${ROUND_MS} ms; ` +
      `ratio = this checkout / ${ref}\n\n` +
      `| case | ${ref} ops/s | this checkout ops/s | ratio (round range) |\n|---|---:|---:|---:|\n${rows.join('\n')}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
