import { performance } from 'node:perf_hooks';
import { createCluster } from 'redis';
import { type RedisCluster, spawnRedisCluster } from './helpers/redis-cluster';

// The cluster harness itself: real redis-servers in cluster mode that node-redis can use, and a
// teardown that leaves none of them running.

describe('spawnRedisCluster', () => {
  let cluster: RedisCluster | undefined;
  let startupMs = 0;

  beforeAll(async () => {
    const started = performance.now();
    cluster = await spawnRedisCluster({ masters: 3 });
    startupMs = performance.now() - started;
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  test('starts three masters that cover every slot, quickly', async () => {
    const c = cluster as RedisCluster;
    expect(c.nodes).toHaveLength(3);
    const masters = await c.masters();
    expect(masters.map((m) => m.port)).toEqual(c.nodes.map((n) => n.port).sort((a, b) => a - b));
    expect(masters.every((m) => m.slots.length > 0)).toBe(true);
    // Reported so a slow start-up is visible in the output, not only in the total runtime.
    process.stdout.write(`cluster of 3 masters ready in ${(startupMs / 1000).toFixed(2)} s\n`);
    expect(startupMs).toBeLessThan(10_000);
  });

  test('node-redis createCluster can SET and GET keys in every master, then close', async () => {
    const c = cluster as RedisCluster;
    const client = createCluster({ rootNodes: c.rootNodes });
    client.on('error', () => {});
    await client.connect();
    try {
      // Keys in different slots, so every master takes part.
      const keys = Array.from({ length: 30 }, (_, i) => `harness-cluster-${i}`);
      await Promise.all(keys.map((k) => client.set(k, k)));
      expect(await Promise.all(keys.map((k) => client.get(k)))).toEqual(keys);
      const perMaster = await Promise.all(
        client.masters.map(async (m) => Number(await (await client.nodeClient(m)).dbSize())),
      );
      expect(perMaster.filter((n) => n > 0)).toHaveLength(3);
    } finally {
      await client.close();
    }
  });

  test('stop() kills every node it started', async () => {
    const c = await spawnRedisCluster({ masters: 3 });
    const pids = c.nodes.map((n) => n.pid as number);
    await c.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
