import type { RedisClientType } from 'redis';
import { createMemoizer, MemoizeError } from '../lib';
import { callFromOtherProcess, LONG_LOCK_TTL } from './helpers/other-process';
import { resolvedValue } from './helpers/outcome';
import { connect, uniquePrefix } from './helpers/redis';

// A shouldCache that returns a promise is awaited: its answer decides, not the promise object (which
// is always truthy). One that rejects is a shouldCache that threw: the result is returned, the
// rejection reported, nothing stored, and the entry's lock released at once.

let client: RedisClientType;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.quit();
});

const NAME = 'target';

interface Value {
  id: number;
  computes: number;
}

// MemoizeOptions types shouldCache as returning a boolean; what this file checks is that a promise of
// one is awaited, so the predicates are given as promises and typed as the option is today.
function asyncPredicate(predicate: (result: Value, args: [number]) => Promise<boolean>) {
  return predicate as unknown as (result: Value, args: [number]) => boolean;
}

function setup(shouldCache: (result: Value, args: [number]) => Promise<boolean>) {
  const keyPrefix = uniquePrefix('should-cache-async');
  const errors: MemoizeError[] = [];
  let computes = 0;
  const memoize = createMemoizer({ client, keyPrefix, onError: ({ error }) => errors.push(error) });
  const f = memoize(
    async (id: number): Promise<Value> => {
      computes++;
      return { id, computes };
    },
    { name: NAME, lockTtl: LONG_LOCK_TTL, shouldCache: asyncPredicate(shouldCache) },
  );
  return { keyPrefix, errors, f, computes: () => computes };
}

/** Runs `work` to the end, then lets the event loop turn a few times so late rejections surface. */
async function settleFully(work: () => Promise<unknown>): Promise<void> {
  await work().catch(() => undefined);
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

test('async () => false stores nothing: the next call computes again', async () => {
  const seen: Array<[Value, [number]]> = [];
  const { f, computes } = setup(async (result, args) => {
    seen.push([result, args]);
    return false;
  });
  expect(await f(1)).toEqual({ id: 1, computes: 1 });
  expect(seen).toEqual([[{ id: 1, computes: 1 }, [1]]]);
  expect(await client.exists(f.keyFor(1))).toBe(0);
  expect(await f(1)).toEqual({ id: 1, computes: 2 });
  expect(computes()).toBe(2);
});

test('async () => true stores: the next call is a hit', async () => {
  const { f, computes } = setup(async () => true);
  expect(await f(1)).toEqual({ id: 1, computes: 1 });
  expect(await client.exists(f.keyFor(1))).toBe(1);
  expect(await f(1)).toEqual({ id: 1, computes: 1 });
  expect(computes()).toBe(1);
});

describe('a predicate that rejects', () => {
  const rejection = new Error('shouldCache rejected');
  const rejecting = async (): Promise<boolean> => {
    throw rejection;
  };

  test("the call resolves with fn's result, and the rejection is reported to onError", async () => {
    const { f, errors } = setup(rejecting);
    expect(await resolvedValue(f(1), 'the call')).toEqual({ id: 1, computes: 1 });
    expect(errors).toHaveLength(1);
    const [reported] = errors;
    expect(reported).toBeInstanceOf(MemoizeError);
    expect((reported as MemoizeError).cause).toBe(rejection);
  });

  test('nothing is stored', async () => {
    const { f } = setup(rejecting);
    await f(1).catch(() => undefined);
    expect(await client.exists(f.keyFor(1))).toBe(0);
  });

  // Jest fails the running test when a promise rejection goes unhandled (listeners a test adds on its
  // sandboxed `process` do not hear it), so this test fails with the rejection itself if one is left.
  test('the rejection is not left unhandled', async () => {
    const { f } = setup(rejecting);
    await settleFully(() => f(1));
  });

  test("the entry's lock is released at once: another process computes the entry without waiting for lockTtl", async () => {
    const { f, keyPrefix } = setup(rejecting);
    await f(1).catch(() => undefined);
    const other = await callFromOtherProcess({ keyPrefix, name: NAME, args: [1] });
    expect(other.computed).toBe(true);
  });
});
