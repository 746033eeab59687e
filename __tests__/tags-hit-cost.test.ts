import type { RedisClientType } from 'redis';
import { createMemoizer } from '../lib/memoizer';
import { RedisStore } from '../lib/stores/redis/store';
import { type CountedServer, countedServer } from './helpers/command-stats';
import { sleep } from './helpers/redis';

// What a hit and an invalidation cost on one server, counted by the server itself (INFO
// commandstats, which counts the commands a script runs too) on a server of this test's own: an
// untagged hit stays one GET, a tagged hit is one script call, and invalidateTags is one script call
// doing the same work whatever the number of entries.

let counted: CountedServer;
let client: RedisClientType;
beforeAll(async () => {
  counted = await countedServer();
  client = counted.client;
});
afterAll(async () => {
  await counted?.close();
});

const commandsDuring = (work: () => Promise<unknown>) => counted.commandsDuring(work);

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
