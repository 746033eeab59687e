import { createMemoizer } from '../../lib';
import { connectClient } from '../lib/redis-client';

// A process that tracks the fan-out benchmark's functions: it memoizes each of them with `local`, and
// reads through each until its local tier holds the value, so Redis pushes it the changes of their
// keys: of every key under the keyPrefix in broadcast mode, of the keys it read in default mode (one
// node-redis server). Told `track` and `untrack` by the benchmark; answers each with the same word once
// done.

const [url = '', keyPrefix = '', count = '0'] = process.argv.slice(2);
const functions = Number(count);
let client: Awaited<ReturnType<typeof connectClient>> | undefined;

async function track(): Promise<void> {
  const tracking = await connectClient(url);
  client = tracking;
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
  await client?.quit();
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
