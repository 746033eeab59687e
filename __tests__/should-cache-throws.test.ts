import type { RedisClientType } from 'redis';
import { createMemoizer, MemoizeError } from '../lib';
import { callFromOtherProcess, LONG_LOCK_TTL } from './helpers/other-process';
import { resolvedValue } from './helpers/outcome';
import { connect, uniquePrefix } from './helpers/redis';

// A shouldCache predicate that throws runs after fn has succeeded, while the call holds the entry's
// lock: the result is still returned, the throw is reported, nothing is stored, and the lock is let
// go at once instead of making other processes wait for it to expire.

let client: RedisClientType;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.quit();
});

const NAME = 'target';

function setup() {
  const keyPrefix = uniquePrefix('should-cache-throws');
  const errors: MemoizeError[] = [];
  const thrown = new Error('shouldCache exploded');
  let computes = 0;
  const memoize = createMemoizer({ client, keyPrefix, onError: ({ error }) => errors.push(error) });
  const f = memoize(
    async (id: number) => {
      computes++;
      return { id, computes };
    },
    {
      name: NAME,
      lockTtl: LONG_LOCK_TTL,
      shouldCache: () => {
        throw thrown;
      },
    },
  );
  return { keyPrefix, errors, thrown, f };
}

test("the call resolves with fn's result, and the throw is reported to onError", async () => {
  const { f, errors, thrown } = setup();
  expect(await resolvedValue(f(1), 'the call')).toEqual({ id: 1, computes: 1 });
  expect(errors).toHaveLength(1);
  const [reported] = errors;
  expect(reported).toBeInstanceOf(MemoizeError);
  expect((reported as MemoizeError).cause).toBe(thrown);
});

test('nothing is stored', async () => {
  const { f } = setup();
  await f(1).catch(() => undefined);
  expect(await client.exists(f.keyFor(1))).toBe(0);
});

test("the entry's lock is released at once: another process computes the entry without waiting for lockTtl", async () => {
  const { f, keyPrefix } = setup();
  await f(1).catch(() => undefined);
  const other = await callFromOtherProcess({ keyPrefix, name: NAME, args: [1] });
  expect(other.computed).toBe(true);
});
