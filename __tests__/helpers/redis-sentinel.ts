import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisCli } from './redis-cluster';
import { type RedisServer, spawnRedis } from './redis-server';

/** A master, its replica and three sentinels watching them, all owned by the test suite. */
export interface SentinelGroup {
  /** The master's name in the sentinels' config. */
  readonly name: 'mymaster';
  /** For node-redis `createSentinel({ name, sentinelRootNodes })`. */
  readonly sentinels: Array<{ host: string; port: number }>;
  readonly master: RedisServer;
  readonly replica: RedisServer;
  /** The sentinel processes themselves. */
  readonly sentinelServers: RedisServer[];
  /** Stops every process this harness started and removes its config directory. */
  stop(): Promise<void>;
}

const NAME = 'mymaster';

async function waitFor(check: () => Promise<boolean>, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // Not answering yet.
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether a sentinel knows the master at `masterPort` and the replica at `replicaPort`. */
async function sentinelSeesBoth(sentinelPort: number, masterPort: number, replicaPort: number): Promise<boolean> {
  const master = await redisCli(sentinelPort, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME);
  if (!master.split('\n').includes(String(masterPort))) return false;
  const replicas = await redisCli(sentinelPort, 'SENTINEL', 'REPLICAS', NAME);
  return replicas.split('\n').includes(String(replicaPort));
}

/**
 * Spawns a master, a replica of it (`--replicaof`) and three sentinels (`redis-server <conf>
 * --sentinel`, quorum 2, down after 1 s) on free ports, and waits until every sentinel reports both
 * the master and the replica.
 */
export async function spawnSentinelGroup(): Promise<SentinelGroup> {
  const dir = await mkdtemp(join(tmpdir(), 'cache-memoize-sentinel-'));
  const servers: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const master = await spawnRedis();
    servers.push(master);
    const replica = await spawnRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    servers.push(replica);
    const started = await Promise.allSettled(
      [0, 1, 2].map(async (i) => {
        // Sentinel rewrites its config file, so each gets its own.
        const configFile = join(dir, `sentinel-${i}.conf`);
        await writeFile(
          configFile,
          [
            'sentinel resolve-hostnames no',
            `sentinel monitor ${NAME} 127.0.0.1 ${master.port} 2`,
            `sentinel down-after-milliseconds ${NAME} 1000`,
            `sentinel failover-timeout ${NAME} 5000`,
            '',
          ].join('\n'),
        );
        return spawnRedis({ configFile, args: ['--sentinel'] });
      }),
    );
    // allSettled: a sentinel that failed must not leave the others running unseen by stop().
    const sentinelServers: RedisServer[] = [];
    for (const result of started) if (result.status === 'fulfilled') sentinelServers.push(result.value);
    servers.push(...sentinelServers);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    await waitFor(
      async () =>
        (await Promise.all(sentinelServers.map((s) => sentinelSeesBoth(s.port, master.port, replica.port)))).every(
          Boolean,
        ),
      'every sentinel to report the master and the replica',
      20_000,
    );
    return {
      name: NAME,
      sentinels: sentinelServers.map((s) => ({ host: '127.0.0.1', port: s.port })),
      master,
      replica,
      sentinelServers,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
