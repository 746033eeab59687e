import { createCluster } from 'redis';
import { createMemoizer } from '../../lib';
import type { RedisLike } from '../../lib/stores/redis/drivers';
import { connectClient } from '../lib/redis-client';

// A process that tracks the fan-out benchmark's functions: it memoizes each of them with `local`, and
// reads through each until its local tier holds the value, so Redis pushes it the changes of the keys
// it read. Told `track` and `untrack` by the benchmark; answers each with the same word once done.
// Its argument says where: `{ url }` (one server) or `{ rootNodes }` (a cluster, through node-redis's
// cluster object).

const [where = '{}', keyPrefix = '', count = '0'] = process.argv.slice(2);
const functions = Number(count);
let client: { quit?(): Promise<unknown>; close?(): Promise<unknown> } | undefined;

async function connect(): Promise<RedisLike> {
  const spec = JSON.parse(where) as { url?: string; rootNodes?: Array<{ url: string }> };
  if (spec.rootNodes !== undefined) {
    const cluster = createCluster({ rootNodes: spec.rootNodes });
    cluster.on('error', (error: unknown) => console.error('redis cluster error:', error));
    await cluster.connect();
    client = cluster;
    return cluster as unknown as RedisLike;
  }
  const single = await connectClient(spec.url ?? '');
  client = single;
  return single as unknown as RedisLike;
}

async function track(): Promise<void> {
  const tracking = await connect();
  const local = new Set<string>();
  const memoize = createMemoizer({
    client: tracking,
    keyPrefix,
    ttl: '1h',
    local: true,
    onHit: (e) => {
      if (e.local === true) local.add(e.name);
    },
  });
  const all = Array.from({ length: functions }, (_, i) =>
    memoize(async (id: number) => ({ id, at: i }), { name: `fan${i}` }),
  );
  for (let attempt = 0; local.size < functions; attempt++) {
    if (attempt === 200) throw new Error(`only ${local.size} of ${functions} functions are tracked`);
    for (const f of all) await f(0);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function untrack(): Promise<void> {
  await (client?.close?.() ?? client?.quit?.());
  client = undefined;
}

process.on('message', (op: 'track' | 'untrack') => {
  (op === 'track' ? track() : untrack()).then(
    () => process.send?.(op),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});
process.on('disconnect', () => process.exit(0));
