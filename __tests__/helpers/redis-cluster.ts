import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, type RedisServer, spawnRedis } from './redis-server';

const run = promisify(execFile);

/** One redis-server process of a {@link RedisCluster}. */
export interface ClusterNode {
  readonly port: number;
  readonly url: string;
  readonly pid: number | undefined;
  /** SIGKILL: the node dies at once, losing its data. */
  kill(): Promise<void>;
  /** SIGSTOP: the socket stays open, nothing answers. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
}

/** A master as the cluster sees it now (`CLUSTER NODES`). */
export interface ClusterMaster {
  readonly id: string;
  readonly port: number;
  readonly url: string;
  /** Slot ranges it serves, as `CLUSTER NODES` prints them (`0-5460`). */
  readonly slots: string[];
}

/** A Redis Cluster of redis-server processes owned by the test suite. */
export interface RedisCluster {
  readonly nodes: ClusterNode[];
  /** For node-redis `createCluster({ rootNodes })`. */
  readonly rootNodes: Array<{ url: string }>;
  /** The masters right now, asked of the first node that answers. */
  masters(): Promise<ClusterMaster[]>;
  /** Stops every node this harness started and removes its config directory. */
  stop(): Promise<void>;
}

/** Options of {@link spawnRedisCluster}. */
export interface RedisClusterOptions {
  /** @default 3 (the fewest `redis-cli --cluster create` accepts) */
  masters?: number;
  /** @default 0 */
  replicasPerMaster?: number;
  /** Extra arguments for every node, e.g. `['--cluster-node-timeout', '1000']`. */
  args?: string[];
}

/** `redis-cli` against a node, for the harness's own admin commands; the reply as text. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });
  return stdout;
}

async function clusterStateOk(port: number): Promise<boolean> {
  try {
    return (await redisCli(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok');
  } catch {
    return false;
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function parseMasters(nodes: string): ClusterMaster[] {
  const masters: ClusterMaster[] = [];
  for (const line of nodes.split('\n')) {
    const [id, address, flags, , , , , , ...slots] = line.trim().split(' ');
    if (id === undefined || address === undefined || flags === undefined) continue;
    const flagList = flags.split(',');
    if (!flagList.includes('master') || flagList.includes('fail')) continue;
    const port = Number(address.slice(address.lastIndexOf(':') + 1, address.indexOf('@')));
    masters.push({ id, port, url: `redis://127.0.0.1:${port}`, slots });
  }
  return masters.sort((a, b) => a.port - b.port);
}

/**
 * One redis-server in cluster mode on a free port. Its cluster bus listens on port + 10000, which
 * must be free too: a server that cannot bind either exits, and another port is tried.
 */
async function spawnClusterNode(dir: string, args: string[]): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    if (port + 10_000 > 65_535) continue;
    try {
      return await spawnRedis({
        port,
        args: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '2000',
          ...args,
        ],
      });
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

/**
 * Spawns `masters * (1 + replicasPerMaster)` redis-servers in cluster mode on free ports (no
 * persistence, node configs in a fresh temp directory), joins them with
 * `redis-cli --cluster create --cluster-yes`, and waits until every node says `cluster_state:ok`.
 */
export async function spawnRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const { masters = 3, replicasPerMaster = 0, args = [] } = options;
  const dir = await mkdtemp(join(tmpdir(), 'cache-memoize-cluster-'));
  const servers: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const count = masters * (1 + replicasPerMaster);
    // allSettled: a node that failed must not leave the others running unseen by stop().
    const started = await Promise.allSettled(Array.from({ length: count }, () => spawnClusterNode(dir, args)));
    for (const result of started) if (result.status === 'fulfilled') servers.push(result.value);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    const ports = servers.map((s) => s.port);
    const create = [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      String(replicasPerMaster),
      '--cluster-yes',
    ];
    try {
      await run('redis-cli', create, { timeout: 30_000 });
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`redis-cli ${create.join(' ')} failed:\n${stdout}${stderr}`, { cause: error });
    }
    await waitFor(
      async () => (await Promise.all(ports.map(clusterStateOk))).every(Boolean),
      'cluster_state:ok on every node',
      20_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    nodes: servers.map((s) => ({
      port: s.port,
      url: s.url,
      get pid() {
        return s.pid;
      },
      kill: () => s.kill(),
      pause: () => s.pause(),
      resume: () => s.resume(),
    })),
    rootNodes: servers.map((s) => ({ url: s.url })),
    async masters() {
      let lastError: unknown;
      for (const s of servers) {
        try {
          return parseMasters(await redisCli(s.port, 'CLUSTER', 'NODES'));
        } catch (error) {
          lastError = error;
        }
      }
      throw new Error('no cluster node answered CLUSTER NODES', { cause: lastError });
    },
    stop,
  };
}
