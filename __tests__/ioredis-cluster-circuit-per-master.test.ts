import keySlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';
import { createMemoizer, type MemoizeErrorCode } from '../lib';
import type { CallEvent } from '../lib/options';
import { ioredisCluster } from './helpers/ioredis';
import { uniquePrefix } from './helpers/redis';
import { type RedisCluster, spawnRedisCluster } from './helpers/redis-cluster';

// Over an ioredis Cluster, each master has a circuit of its own: while one master does not answer
// (SIGSTOP), calls for its keys time out until its circuit opens and then skip it at once, while
// calls for the other masters' keys keep hitting. The pause stays well under the cluster's node
// timeout (2 s), so the cluster itself never fails.

let cluster: RedisCluster;
let client: Cluster;
beforeAll(async () => {
  cluster = await spawnRedisCluster({ masters: 3 });
  client = await ioredisCluster(cluster);
}, 30_000);
afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

test('one master paused: its keys open its circuit; the other masters’ keys keep hitting', async () => {
  const errors: Array<{ id: number; code: MemoizeErrorCode }> = [];
  const hits: number[] = [];
  const memoize = createMemoizer({
    client,
    keyPrefix: uniquePrefix('io-circuit'),
    timeout: '100ms',
    circuitBreaker: { failures: 2, coolDown: '10s' },
  });
  const f = memoize(
    async function target(id: number) {
      return { id };
    },
    {
      ttl: '1m',
      lock: false,
      onHit: (e: CallEvent) => hits.push(Number((e.args as number[])[0])),
      onError: (e) => errors.push({ id: Number((e.args as number[] | undefined)?.[0]), code: e.error.code }),
    },
  );
  const masterOf = (id: number) => client.slots[keySlot(f.keyFor(id))]?.[0] as string;
  const ids = Array.from({ length: 30 }, (_, i) => i);
  for (const id of ids) await f(id);
  // Hits until the function reads with a plain GET again (30 misses made it read with begin, whose
  // lock request a timed-out read lets go: one more timed-out command for the circuit to count).
  for (const id of ids) await f(id);
  const paused = masterOf(0);
  const onPaused = ids.filter((id) => masterOf(id) === paused);
  const elsewhere = ids.filter((id) => masterOf(id) !== paused);
  expect(new Set(elsewhere.map(masterOf)).size).toBe(2);

  const node = cluster.nodes.find((n) => `127.0.0.1:${n.port}` === paused);
  node?.pause();
  try {
    for (const id of onPaused.slice(0, 4)) expect(await f(id)).toEqual({ id });
    hits.length = 0;
    for (const id of elsewhere) expect(await f(id)).toEqual({ id });
    expect(hits.sort((a, b) => a - b)).toEqual(elsewhere);
  } finally {
    node?.resume();
  }
  const codes = errors.map((e) => e.code);
  expect(codes.slice(0, 2)).toEqual(['E_TIMEOUT', 'E_TIMEOUT']);
  expect(codes.slice(2)).toEqual(['E_CIRCUIT_OPEN', 'E_CIRCUIT_OPEN']);
  for (const e of errors) expect(onPaused).toContain(e.id);
});
