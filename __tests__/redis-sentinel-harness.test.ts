import { performance } from 'node:perf_hooks';
import { createSentinel } from 'redis';
import { type SentinelGroup, spawnSentinelGroup } from './helpers/redis-sentinel';

// The sentinel harness itself: a master, a replica and three sentinels that node-redis's sentinel
// object can use, and a teardown that leaves none of them running.

describe('spawnSentinelGroup', () => {
  let group: SentinelGroup | undefined;
  let startupMs = 0;

  beforeAll(async () => {
    const started = performance.now();
    group = await spawnSentinelGroup();
    startupMs = performance.now() - started;
  });

  afterAll(async () => {
    await group?.stop();
  });

  test('every sentinel knows the master and its replica', () => {
    const g = group as SentinelGroup;
    expect(g.sentinels).toHaveLength(3);
    process.stdout.write(`sentinel group ready in ${(startupMs / 1000).toFixed(2)} s\n`);
    expect(startupMs).toBeLessThan(10_000);
  });

  test('node-redis createSentinel can SET and GET through the master, then close', async () => {
    const g = group as SentinelGroup;
    const sentinel = createSentinel({ name: g.name, sentinelRootNodes: g.sentinels });
    sentinel.on('error', () => {});
    await sentinel.connect();
    try {
      expect(sentinel.getMasterNode()).toEqual({ host: '127.0.0.1', port: g.master.port });
      await sentinel.set('harness-sentinel', 'value');
      expect(await sentinel.get('harness-sentinel')).toBe('value');
    } finally {
      await sentinel.close();
    }
  });

  test('stop() kills every process it started', async () => {
    const g = await spawnSentinelGroup();
    const pids = [g.master, g.replica, ...g.sentinelServers].map((s) => s.pid as number);
    expect(pids).toHaveLength(5);
    await g.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
