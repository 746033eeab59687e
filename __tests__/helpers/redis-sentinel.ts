import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answersItself, PortCollision, redisCli } from './redis-cluster';
import { freePort, type RedisServer, spawnRedis } from './redis-server';

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
  /** The data server on `port`: {@link master} or {@link replica}, whichever role it has now. */
  server(port: number): RedisServer;
  /** The port of the master that every sentinel reports now; throws while they disagree. */
  masterPort(): Promise<number>;
  /** `SENTINEL FAILOVER <name>`, asked of the first sentinel: the replica is promoted, no agreement needed. */
  failover(): Promise<void>;
  /**
   * Waits until every sentinel reports a master other than `oldPort` and that master says it is one
   * (`ROLE`); resolves the new master's port.
   */
  awaitNewMaster(oldPort: number, ms?: number): Promise<number>;
  /**
   * Waits until every data server still alive, other than the master, is a replica of it in sync.
   * After a failover the sentinels turn the old master into a replica only after about 10 s.
   */
  awaitReplicasInSync(ms?: number): Promise<void>;
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

async function masterPortOf(sentinelPort: number): Promise<number> {
  const [, port] = (await redisCli(sentinelPort, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME)).trim().split('\n');
  return Number(port);
}

async function replicaInSync(port: number, masterPort: number): Promise<boolean> {
  const info = await redisCli(port, 'INFO', 'replication');
  return info.includes(`master_port:${masterPort}`) && info.includes('master_link_status:up');
}

/** Whether a sentinel knows the master at `masterPort` and the replica at `replicaPort`. */
async function sentinelSeesBoth(sentinelPort: number, masterPort: number, replicaPort: number): Promise<boolean> {
  const master = await redisCli(sentinelPort, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME);
  if (!master.split('\n').includes(String(masterPort))) return false;
  const replicas = await redisCli(sentinelPort, 'SENTINEL', 'REPLICAS', NAME);
  return replicas.split('\n').includes(String(replicaPort));
}

/** Options of {@link spawnSentinelGroup}. */
export interface SentinelGroupOptions {
  /** Extra arguments for the master and the replica (not the sentinels), e.g. `['--repl-diskless-sync-delay', '0']`. */
  args?: string[];
}

/**
 * Spawns a master, a replica of it (`--replicaof`) and three sentinels (`redis-server <conf>
 * --sentinel`, quorum 2, down after 1 s) on free ports, and waits until every sentinel reports both
 * the master and the replica.
 */
export async function spawnSentinelGroup(options: SentinelGroupOptions = {}): Promise<SentinelGroup> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnGroupOnce(options);
    } catch (error) {
      if (attempt === 3 || !(error instanceof PortCollision)) throw error;
    }
  }
}

async function spawnGroupOnce(options: SentinelGroupOptions): Promise<SentinelGroup> {
  const { args = [] } = options;
  const dir = await mkdtemp(join(tmpdir(), 'cache-memoize-sentinel-'));
  const servers: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  // A server that does not start is taken for a port another process took meanwhile: try again.
  const spawn = async (o: Parameters<typeof spawnRedis>[0]) => {
    try {
      return await spawnRedis(o);
    } catch (error) {
      throw new PortCollision('a server of the sentinel group did not start', { cause: error });
    }
  };
  try {
    // A replica writes the data of its sync to dump.rdb in its directory, which any server started
    // later from that directory would load: each data server gets a directory of its own.
    await Promise.all(['master', 'replica'].map((d) => mkdir(join(dir, d))));
    const master = await spawn({ args: ['--dir', join(dir, 'master'), ...args] });
    servers.push(master);
    const replica = await spawn({
      args: ['--dir', join(dir, 'replica'), ...args, '--replicaof', '127.0.0.1', String(master.port)],
    });
    servers.push(replica);
    const settled = await Promise.allSettled(
      [0, 1, 2].map(async (i) => {
        const port = await freePort();
        // Sentinel rewrites its config file, so each gets its own.
        const configFile = join(dir, `sentinel-${i}-${port}.conf`);
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
        return spawn({ port, configFile, args: ['--sentinel'] });
      }),
    );
    // Every sentinel that started is stopped with the group, even when another did not start.
    const sentinelServers: RedisServer[] = [];
    for (const s of settled) if (s.status === 'fulfilled') sentinelServers.push(s.value);
    servers.push(...sentinelServers);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    if (!(await Promise.all(servers.map(answersItself))).every(Boolean)) {
      throw new PortCollision('another process answers on a port of this sentinel group');
    }
    await waitFor(
      async () =>
        (await Promise.all(sentinelServers.map((s) => sentinelSeesBoth(s.port, master.port, replica.port)))).every(
          Boolean,
        ),
      'every sentinel to report the master and the replica',
      20_000,
    );
    const data = [master, replica];
    const dead = new Set<number>();
    const masterPort = async (): Promise<number> => {
      const ports = await Promise.all(sentinelServers.map((s) => masterPortOf(s.port)));
      if (ports.some((p) => p !== ports[0]))
        throw new Error(`the sentinels disagree on the master: ${ports.join(', ')}`);
      return ports[0] as number;
    };
    return {
      name: NAME,
      sentinels: sentinelServers.map((s) => ({ host: '127.0.0.1', port: s.port })),
      master,
      replica,
      sentinelServers,
      server(port) {
        const server = data.find((s) => s.port === port);
        if (server === undefined) throw new Error(`no data server of this group on port ${port}`);
        // Remember a kill made through this object, so awaitNewMaster waits for no dead replica.
        return {
          port: server.port,
          url: server.url,
          get pid() {
            return server.pid;
          },
          async kill() {
            dead.add(server.port);
            await server.kill();
          },
          pause: () => server.pause(),
          resume: () => server.resume(),
          restart: async () => {
            dead.delete(server.port);
            await server.restart();
          },
          stop: () => server.stop(),
        };
      },
      masterPort,
      async failover() {
        const reply = await redisCli(sentinelServers[0]?.port as number, 'SENTINEL', 'FAILOVER', NAME);
        if (!reply.startsWith('OK')) throw new Error(`SENTINEL FAILOVER ${NAME}: ${reply.trim()}`);
      },
      async awaitNewMaster(oldPort, ms = 20_000) {
        let newPort = oldPort;
        await waitFor(
          async () => {
            newPort = await masterPort();
            return newPort !== oldPort && (await redisCli(newPort, 'ROLE')).startsWith('master');
          },
          `a new master in place of the one on port ${oldPort}`,
          ms,
        );
        return newPort;
      },
      async awaitReplicasInSync(ms = 30_000) {
        await waitFor(
          async () => {
            const port = await masterPort();
            const replicas = data.filter((s) => s.port !== port && !dead.has(s.port));
            return (await Promise.all(replicas.map((s) => replicaInSync(s.port, port)))).every(Boolean);
          },
          'every live replica in sync with the master',
          ms,
        );
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
