import type { RedisClientType } from 'redis';
import { createMemoizer } from '../lib/memoizer';
import { RedisStore } from '../lib/stores/redis/store';
import { type CountedServer, countedServer } from './helpers/command-stats';

// invalidateAll reads the function's own entry index, not the keyspace: on a server of this test's
// own, the commands it sends (counted by the server, INFO commandstats) and the keys it touches are
// the same with no foreign keys and with 200,000 of them, and grow with the entries over the page.

let counted: CountedServer;
let client: RedisClientType;
let admin: RedisClientType;
beforeAll(async () => {
  counted = await countedServer({ args: ['--enable-debug-command', 'yes'] });
  ({ client, admin } = counted);
});
afterAll(async () => {
  await counted?.close();
});

/** What `invalidateAll` of `entries` entries ran on the server, with `foreign` other keys present. */
async function invalidateAllOf(entries: number, foreign: number, pageSize: number) {
  await admin.flushAll();
  if (foreign > 0) await admin.sendCommand(['DEBUG', 'POPULATE', String(foreign), 'foreign']);
  const memoize = createMemoizer({
    store: new RedisStore(client, { scanCount: pageSize }),
    keyPrefix: 'idx',
    // A loaded machine must not turn the setup's writes into misses without the store.
    timeout: 5000,
  });
  let runs = 0;
  const f = memoize(async function entry(n: number) {
    runs++;
    return n;
  });
  const g = memoize(async function neighbour(n: number) {
    return n;
  });
  await Promise.all(Array.from({ length: entries }, (_, i) => Promise.all([f(i), g(i)])));
  // Let the callers' unawaited lock releases land before counting.
  await new Promise((resolve) => setTimeout(resolve, 300));
  // Scripts loaded (a first call sends EVAL), then counted.
  await memoize(async function warmUp() {}).invalidateAll();
  const keysBefore = await admin.dbSize();
  const ran = await counted.commandsDuring(() => f.invalidateAll());
  const removed = keysBefore - (await admin.dbSize());
  runs = 0;
  await f(3);
  return {
    ran,
    removed,
    recomputed: runs,
    neighbour: await admin.exists(g.keyFor(3)),
  };
}

test('its commands do not grow with the keyspace, only with the function’s entries', async () => {
  const empty = await invalidateAllOf(100, 0, 1000);
  const crowded = await invalidateAllOf(100, 200_000, 1000);
  expect(crowded.ran).toEqual(empty.ran);
  expect(empty.ran.scan).toBeUndefined();
  // One page: one script call; inside it, one UNLINK of every key of the 100 entries.
  expect(empty.ran).toMatchObject({ evalsha: 1, unlink: 1 });
  // Each entry had a value and a token, and the index goes once empty; the neighbour's entries stay.
  expect(empty.removed).toBe(201);
  expect(crowded.removed).toBe(201);
  expect(crowded.recomputed).toBe(1);
  expect(crowded.neighbour).toBe(1);
});

test('one round trip per page of entries', async () => {
  const paged = await invalidateAllOf(100, 0, 10);
  expect(paged.ran.evalsha).toBe(10);
  expect(paged.removed).toBe(201);
});
