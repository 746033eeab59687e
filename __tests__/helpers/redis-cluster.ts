import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
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
  /**
   * Slot ranges it serves, as `CLUSTER NODES` prints them (`0-5460`); a slot being migrated also
   * shows as `[slot->-id]` or `[slot-<-id]`.
   */
  readonly slots: string[];
}

/** Whether `master` serves `slot` (migration markers such as `[42->-id]` do not count). */
export function servesSlot(master: ClusterMaster, slot: number): boolean {
  return master.slots.some((range) => {
    if (range.startsWith('[')) return false;
    const [from, to = from] = range.split('-').map(Number);
    return from !== undefined && to !== undefined && slot >= from && slot <= to;
  });
}

/** A Redis Cluster of redis-server processes owned by the test suite. */
export interface RedisCluster {
  readonly nodes: ClusterNode[];
  /** For node-redis `createCluster({ rootNodes })`. */
  readonly rootNodes: Array<{ url: string }>;
  /** The masters right now, asked of the first node that answers. */
  masters(): Promise<ClusterMaster[]>;
  /** The node listening on `port`. */
  node(port: number): ClusterNode;
  /** The master that serves `slot` right now. */
  masterOf(slot: number): Promise<ClusterMaster>;
  /**
   * After a master was killed: waits until its slots are served by another (live) master and every
   * live node says `cluster_state:ok`; resolves the masters then.
   */
  awaitFailover(deadPort: number, ms?: number): Promise<ClusterMaster[]>;
  /**
   * Moves `slots` slots from master `from` to master `to` with `redis-cli --cluster reshard` (keys
   * and all, the way an operator does it), and waits until every node agrees.
   */
  reshard(options: { from: ClusterMaster; to: ClusterMaster; slots: number }): Promise<void>;
  /**
   * The first step of a slot migration, by hand: `CLUSTER SETSLOT <slot> IMPORTING` on the target,
   * then `MIGRATING` on the source. Keys stay where they are until {@link migrateKeys}.
   */
  beginSlotMigration(slot: number, source: ClusterMaster, target: ClusterMaster): Promise<void>;
  /** `MIGRATE` of these keys (all in the slot being migrated) from the source to the target. */
  migrateKeys(source: ClusterMaster, target: ClusterMaster, keys: string[]): Promise<void>;
  /**
   * Ends a migration begun with {@link beginSlotMigration}: moves the keys still on the source, then
   * `CLUSTER SETSLOT <slot> NODE <target>` on every master.
   */
  finishSlotMigration(slot: number, source: ClusterMaster, target: ClusterMaster): Promise<void>;
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

/** `redis-cli` with an argument vector that must succeed: an error reply throws. */
async function redisCliOk(port: number, ...args: string[]): Promise<string> {
  const reply = await redisCli(port, ...args);
  if (/^(ERR|[A-Z]+ )/.test(reply) && !reply.startsWith('OK')) {
    throw new Error(`redis-cli -p ${port} ${args.join(' ')}: ${reply.trim()}`);
  }
  return reply;
}

async function replicaInSync(port: number): Promise<boolean> {
  try {
    return (await redisCli(port, 'INFO', 'replication')).includes('master_link_status:up');
  } catch {
    return false;
  }
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

const SLOTS = 16_384;

/** How many slots these masters serve between them. */
function slotCount(masters: ClusterMaster[]): number {
  let count = 0;
  for (const m of masters) {
    for (const range of m.slots) {
      if (range.startsWith('[')) continue;
      const [from, to = from] = range.split('-').map(Number);
      if (from !== undefined && to !== undefined) count += to - from + 1;
    }
  }
  return count;
}

/** The ports of the replicas in a `CLUSTER NODES` reply. */
function parseReplicaPorts(nodes: string): number[] {
  const ports: number[] = [];
  for (const line of nodes.split('\n')) {
    const [, address, flags] = line.trim().split(' ');
    if (address === undefined || flags === undefined || !flags.split(',').includes('slave')) continue;
    ports.push(Number(address.slice(address.lastIndexOf(':') + 1, address.indexOf('@'))));
  }
  return ports;
}

/**
 * Spawns `masters * (1 + replicasPerMaster)` redis-servers in cluster mode on free ports (no
 * persistence, node configs in a fresh temp directory), joins them with
 * `redis-cli --cluster create --cluster-yes`, and waits until every node says `cluster_state:ok` and
 * every replica has finished its first sync.
 */
export async function spawnRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnClusterOnce(options);
    } catch (error) {
      if (attempt === 3 || !(error instanceof PortCollision)) throw error;
    }
  }
}

/**
 * Other processes on the machine (other test runs) pick free ports too: one may take a port between
 * our probe and our bind. Then our server does not start, or a `PING` reaches theirs; the harness
 * starts over on other ports.
 */
export class PortCollision extends Error {}

/** A fresh directory for the node on `port`, inside the cluster's. */
async function ownDirectory(dir: string, port: number): Promise<string> {
  const path = join(dir, String(port));
  await mkdir(path);
  return path;
}

/** Whether the server answering on `server.port` is the process we started. */
export async function answersItself(server: RedisServer): Promise<boolean> {
  try {
    return (await redisCli(server.port, 'INFO', 'server')).includes(`process_id:${server.pid}\r`);
  } catch {
    return false;
  }
}

async function spawnClusterOnce(options: RedisClusterOptions): Promise<RedisCluster> {
  const { masters = 3, replicasPerMaster = 0, args = [] } = options;
  const dir = await mkdtemp(join(tmpdir(), 'cache-memoize-cluster-'));
  const servers: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const count = masters * (1 + replicasPerMaster);
    const ports: number[] = [];
    // freePort() closes its probe before returning: ask for each port only once, so two never collide.
    while (ports.length < count) {
      const port = await freePort();
      // Cluster nodes also listen on port + 10000 (the bus), which must be a valid, free port too.
      if (!ports.includes(port) && port + 10_000 <= 65_535) ports.push(port);
    }
    const started = await Promise.allSettled(
      ports.map(async (port) =>
        spawnRedis({
          port,
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${port}.conf`),
            '--cluster-node-timeout',
            '2000',
            // A replica writes the data of its sync to dump.rdb in its directory, which any server
            // started later from that directory would load: each node gets a directory of its own.
            '--dir',
            await ownDirectory(dir, port),
            ...args,
          ],
        }),
      ),
    );
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw new PortCollision('a cluster node did not start', { cause: failed.reason });
    if (!(await Promise.all(servers.map(answersItself))).every(Boolean)) {
      throw new PortCollision('another process answers on a port of this cluster');
    }
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        String(replicasPerMaster),
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    await waitFor(
      async () => (await Promise.all(ports.map(clusterStateOk))).every(Boolean),
      'cluster_state:ok on every node',
      20_000,
    );
    if (replicasPerMaster > 0) {
      // A replica that never finished its first sync cannot take over: wait for every link.
      const replicaPorts = parseReplicaPorts(await redisCli(ports[0] as number, 'CLUSTER', 'NODES'));
      await waitFor(
        async () => (await Promise.all(replicaPorts.map(replicaInSync))).every(Boolean),
        'every replica in sync with its master',
        20_000,
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const dead = new Set<number>();
  const live = () => servers.filter((s) => !dead.has(s.port));
  const nodes: ClusterNode[] = servers.map((s) => ({
    port: s.port,
    url: s.url,
    get pid() {
      return s.pid;
    },
    async kill() {
      dead.add(s.port);
      await s.kill();
    },
    pause: () => s.pause(),
    resume: () => s.resume(),
  }));
  const mastersNow = async (): Promise<ClusterMaster[]> => {
    let lastError: unknown;
    for (const s of live()) {
      try {
        return parseMasters(await redisCli(s.port, 'CLUSTER', 'NODES'));
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error('no cluster node answered CLUSTER NODES', { cause: lastError });
  };
  // Every live node agrees that each slot has one owner, none in migration, none on a dead node.
  const settled = async (): Promise<boolean> => {
    for (const s of live()) {
      if (!(await clusterStateOk(s.port))) return false;
      const seen = parseMasters(await redisCli(s.port, 'CLUSTER', 'NODES'));
      const serving = seen.filter((m) => !dead.has(m.port));
      if (serving.length < seen.length || slotCount(serving) !== SLOTS) return false;
      if (seen.some((m) => m.slots.some((range) => range.startsWith('[')))) return false;
    }
    return true;
  };
  return {
    nodes,
    rootNodes: servers.map((s) => ({ url: s.url })),
    masters: mastersNow,
    node(port) {
      const node = nodes.find((n) => n.port === port);
      if (node === undefined) throw new Error(`no cluster node on port ${port}`);
      return node;
    },
    async masterOf(slot) {
      const master = (await mastersNow()).find((m) => servesSlot(m, slot));
      if (master === undefined) throw new Error(`no master serves slot ${slot}`);
      return master;
    },
    async awaitFailover(deadPort, ms = 20_000) {
      await waitFor(settled, `the slots of the master on port ${deadPort} to move to a live master`, ms);
      return mastersNow();
    },
    async reshard({ from, to, slots }) {
      const entry = live()[0];
      if (entry === undefined) throw new Error('no live cluster node');
      await run(
        'redis-cli',
        [
          '--cluster',
          'reshard',
          `127.0.0.1:${entry.port}`,
          '--cluster-from',
          from.id,
          '--cluster-to',
          to.id,
          '--cluster-slots',
          String(slots),
          '--cluster-yes',
        ],
        { timeout: 60_000 },
      );
      await waitFor(settled, 'every node to agree on the slots after the reshard', 20_000);
    },
    async beginSlotMigration(slot, source, target) {
      await redisCliOk(target.port, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', source.id);
      await redisCliOk(source.port, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', target.id);
    },
    async migrateKeys(source, target, keys) {
      if (keys.length === 0) return;
      await redisCliOk(source.port, 'MIGRATE', '127.0.0.1', String(target.port), '', '0', '5000', 'KEYS', ...keys);
    },
    async finishSlotMigration(slot, source, target) {
      for (;;) {
        const left = (await redisCliOk(source.port, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '100'))
          .split('\n')
          .filter((k) => k.length > 0);
        if (left.length === 0) break;
        await redisCliOk(source.port, 'MIGRATE', '127.0.0.1', String(target.port), '', '0', '5000', 'KEYS', ...left);
      }
      // The target first, then the source, then everyone else, as redis-cli --cluster does.
      const others = (await mastersNow()).filter((m) => m.port !== source.port && m.port !== target.port);
      for (const m of [target, source, ...others]) {
        await redisCliOk(m.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', target.id);
      }
      await waitFor(settled, `every node to agree that slot ${slot} moved`, 20_000);
    },
    stop,
  };
}
