import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClientType } from 'redis';
import { connect, testRedisUrl, uniquePrefix } from '../helpers/redis';
import { freePort } from '../helpers/redis-server';

const WORKERS = 3;
const ROOT = join(__dirname, '..', '..');

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let port: number;
let dataDir: string;
let keyPrefix: string;
let cluster: ChildProcess;
let output = '';
let redis: RedisClientType;

/** One request on a new connection, so the primary hands it to the next worker. */
function send(method: 'GET' | 'POST', path: string, form?: Record<string, string>): Promise<Reply> {
  const body = form === undefined ? undefined : new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        agent: false,
        headers: body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** GETs `path` until every worker has answered it; returns one reply per worker, by pid. */
async function fromEveryWorker(path: string): Promise<Map<string, Reply[]>> {
  const byWorker = new Map<string, Reply[]>();
  for (let i = 0; i < 20 * WORKERS && byWorker.size < WORKERS; i++) {
    const reply = await send('GET', path);
    expect(reply.status).toBe(200);
    const pid = String(reply.headers['x-worker'] ?? JSON.parse(reply.body).pid);
    byWorker.set(pid, [...(byWorker.get(pid) ?? []), reply]);
  }
  expect(byWorker.size).toBe(WORKERS);
  return byWorker;
}

const relatedSlugs = (page: string) =>
  [...(/<ol class="related">(.*?)<\/ol>/s.exec(page)?.[1] ?? '').matchAll(/href="\/posts\/([^"]+)"/g)].map((m) =>
    decodeURIComponent(m[1] as string),
  );

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

beforeAll(async () => {
  port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), 'blog-cluster-'));
  keyPrefix = uniquePrefix('blog-cluster');
  redis = await connect();
  cluster = spawn(process.execPath, ['--import', 'tsx', 'examples/blog/main.ts'], {
    cwd: ROOT,
    // Its own process group, so the test can signal the primary and its workers at once.
    detached: true,
    env: {
      ...process.env,
      PORT: String(port),
      WORKERS: String(WORKERS),
      REDIS_URL: testRedisUrl(),
      DATA_DIR: dataDir,
      KEY_PREFIX: keyPrefix,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cluster.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  cluster.stderr?.on('data', (chunk) => {
    output += `[stderr] ${chunk}`;
  });
  const deadline = Date.now() + 25_000;
  while (!output.includes(`${WORKERS} workers listening`)) {
    if (cluster.exitCode !== null || Date.now() > deadline) throw new Error(`the cluster did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}, 30_000);

afterAll(async () => {
  if (cluster?.pid !== undefined && cluster.exitCode === null) {
    process.kill(-cluster.pid, 'SIGKILL');
    await exited(cluster);
  }
  for await (const keys of redis.scanIterator({ MATCH: `${keyPrefix}:*`, COUNT: 1000 })) {
    if (keys.length > 0) await redis.unlink(keys);
  }
  await redis.close();
  rmSync(dataDir, { recursive: true, force: true });
});

it('prints the cost of the uncached query at startup', () => {
  expect(output).toMatch(/related-posts query: \d+\.\d ms uncached/);
});

it('three workers share one cache: a post misses once, then every worker hits', async () => {
  const index = await send('GET', '/');
  const [a, b] = [...index.body.matchAll(/href="(\/posts\/[^"]+)"/g)].map((m) => m[1] as string);
  if (a === undefined || b === undefined) throw new Error('no posts on the index page');

  const warm = await send('GET', a);
  expect(warm.headers['x-cache']).toBe('miss');
  const served = await fromEveryWorker(a);
  for (const replies of served.values()) for (const reply of replies) expect(reply.headers['x-cache']).toBe('hit');
  const hits = [...served.values()].flat().length;

  const stats = [...(await fromEveryWorker('/stats')).values()].map((replies) =>
    JSON.parse(replies.at(-1)?.body ?? ''),
  );
  expect(stats.reduce((sum, s) => sum + s.worker.misses, 0)).toBe(1);
  expect(stats.reduce((sum, s) => sum + s.worker.hits, 0)).toBe(hits);
  for (const s of stats) expect(s.cluster).toEqual({ hits, misses: 1 });

  // Edit through one worker; every worker must then serve the fresh lists.
  expect((await send('POST', `${b}/edit`, { title: 'Post B', keywords: 'cluster-pair' })).status).toBe(303);
  expect((await send('POST', `${a}/edit`, { title: 'Post A', keywords: 'cluster-pair' })).status).toBe(303);
  const slugOf = (path: string) => decodeURIComponent(path.slice('/posts/'.length));
  for (const replies of (await fromEveryWorker(a)).values()) {
    for (const reply of replies) {
      expect(reply.headers['x-cache']).toBe('hit');
      expect(relatedSlugs(reply.body)).toEqual([slugOf(b)]);
    }
  }
  for (const replies of (await fromEveryWorker(b)).values()) {
    for (const reply of replies) expect(relatedSlugs(reply.body)).toEqual([slugOf(a)]);
  }
});

it('shuts down on SIGTERM: every process exits 0, nothing on stderr', async () => {
  process.kill(-(cluster.pid as number), 'SIGTERM');
  expect(await exited(cluster)).toBe(0);
  expect(output).not.toContain('[stderr]');
});
