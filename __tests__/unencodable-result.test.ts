import type { RedisClientType } from 'redis';
import { createMemoizer, MemoizeError } from '../lib';
import { callFromOtherProcess, LONG_LOCK_TTL } from './helpers/other-process';
import { resolvedValue } from './helpers/outcome';
import { connect, uniquePrefix } from './helpers/redis';

// A result whose encoding throws while the encoder walks it (not one it recognises and refuses, like a
// function or a cycle) is still a result fn produced: the call returns that very value, reports
// E_UNSERIALIZABLE, stores nothing, and lets the entry's lock go at once.
//
// Jest must never print these values (its printer would hit the same throw or recursion), so the
// checks compare references and codes only.

let client: RedisClientType;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.quit();
});

const NAME = 'target';

/** Arrays and objects nested `depth` levels deep: walking it recursively overflows the stack. */
function deeplyNested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { child: value };
  return value;
}

function withThrowingGetter(): unknown {
  return {
    id: 1,
    get secret(): string {
      throw new Error('getter exploded');
    },
  };
}

function withRevokedProxy(): unknown {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return { id: 1, proxy };
}

describe.each<[string, () => unknown]>([
  ['a 10,000-deep nesting of arrays and objects', () => deeplyNested(10_000)],
  ['an object with a getter that throws', withThrowingGetter],
  ['an object holding a revoked Proxy', withRevokedProxy],
])('fn resolves %s', (_label, make) => {
  function setup() {
    const keyPrefix = uniquePrefix('unencodable');
    const errors: MemoizeError[] = [];
    const value = make();
    const memoize = createMemoizer({ client, keyPrefix, onError: ({ error }) => errors.push(error) });
    const f = memoize(async (_id: number) => value, { name: NAME, lockTtl: LONG_LOCK_TTL });
    return { keyPrefix, errors, value, f };
  }

  test('the call resolves with the very value fn returned, and E_UNSERIALIZABLE is reported', async () => {
    const { f, value, errors } = setup();
    const result = await resolvedValue(f(1), 'the call');
    expect(result === value).toBe(true);
    expect(errors.map((e) => [e instanceof MemoizeError, e.code])).toEqual([[true, 'E_UNSERIALIZABLE']]);
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
});
