import { createClient, type RedisClientType } from 'redis';
import { createMemoizer } from '../lib/memoizer';
import { RedisStore } from '../lib/stores/redis/store';
import { sleep } from './helpers/redis';
import { type RedisServer, spawnRedis } from './helpers/redis-server';

// What a hit and an invalidation cost on one server, counted by the server itself (INFO
// commandstats, which counts the commands a script runs too) on a server of this test's own: an
// untagged hit stays one GET, a tagged hit is one script call, and invalidateTags is one script call
// doing the same work whatever the number of entries.

let server: RedisServer;
let client: RedisClientType;
let admin: RedisClientType;
beforeAll(async () => {
  server = await spawnRedis();
  [client, admin] = await Promise.all([
    createClient({ url: server.url }).connect(),
    createClient({ url: server.url }).connect(),
  ]);
});
afterAll(async () => {
  await Promise.allSettled([client?.quit(), admin?.quit()]);
  await server?.stop();
});

/** Calls of each command the server ran during `work` (not counting the INFO calls themselves). */
async function commandsDuring(work: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await calls();
  await work();
  const after = await calls();
  const ran: Record<string, number> = {};
  for (const [name, n] of Object.entries(after))
    if (n - (before[name] ?? 0) > 0 && name !== 'info') ran[name] = n - (before[name] ?? 0);
  return ran;
}

async function calls(): Promise<Record<string, number>> {
  const text = await admin.info('commandstats');
  return Object.fromEntries(
    [...text.matchAll(/cmdstat_([\w|]+):calls=(\d+)/g)].map((m) => [m[1] as string, Number(m[2])]),
  );
}

describe('hit and invalidation costs on one server', () => {
  const memoize = () => createMemoizer({ store: new RedisStore(client), keyPrefix: 'cost' });

  test('an untagged hit is one GET, a tagged hit one script call', async () => {
    const m = memoize();
    const plain = m(async function plain() {
      return 1;
    });
    const tagged = m(
      async function tagged() {
        return 2;
      },
      { tags: ['a', 'b', 'c', 'd', 'e'] },
    );
    await plain();
    await tagged();
    expect(await commandsDuring(() => plain())).toEqual({ get: 1 });
    // Inside the script: the value, the stamp and the five tag keys.
    expect(await commandsDuring(() => tagged())).toEqual({ evalsha: 1, get: 7 });
  });

  test('invalidateTags is one script call, for 1 entry as for 500', async () => {
    const m = memoize();
    const f = m(
      async function many(n: number) {
        return n;
      },
      { tags: ['shared'] },
    );
    await m.invalidateTags(['shared']);
    await f(0);
    const one = await commandsDuring(() => m.invalidateTags(['shared']));
    await Promise.all(Array.from({ length: 500 }, (_, i) => f(i)));
    // Lock releases are not awaited by the callers.
    await sleep(500);
    const many = await commandsDuring(() => m.invalidateTags(['shared']));
    expect(one).toMatchObject({ evalsha: 1, incr: 1 });
    expect(many).toEqual(one);
  });
});
