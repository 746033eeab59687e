import type { RedisClientType } from 'redis';
import { createMemoizer, type MemoizeOptions } from '../lib';
import { callFromOtherProcess, LONG_LOCK_TTL } from './helpers/other-process';
import { describeThrown, resolvedValue } from './helpers/outcome';
import { connect, uniquePrefix } from './helpers/redis';

// Hooks observe; they never change a call's outcome. Whatever onHit, onMiss or onError throws (even a
// value that cannot be turned into a string), the call resolves with the right value, hits still
// hit, and a lock held by the call is released. Any process warning the library emits about it must
// itself be emitted without throwing.

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

// A 'warning' listener on jest's sandboxed process hears nothing, so a spy on process.emitWarning
// stands in for one: it checks that every warning the library emits is what emitWarning accepts (a
// string, or an Error whose message is a string), instead of printing it.
let badWarnings: string[] = [];
let emitWarning: jest.SpyInstance;

function checkWarning(warning: unknown, ...rest: unknown[]): void {
  try {
    const text = warning instanceof Error ? warning.message : warning;
    if (typeof text !== 'string') badWarnings.push(`emitWarning would throw on ${describeThrown(warning)}`);
    const [options] = rest;
    if (options !== undefined && typeof options !== 'string' && (typeof options !== 'object' || options === null)) {
      badWarnings.push(`emitWarning would throw on its options ${describeThrown(options)}`);
    }
  } catch (error) {
    badWarnings.push(`reading the warning threw ${describeThrown(error)}`);
  }
}

beforeEach(() => {
  badWarnings = [];
  emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(checkWarning as typeof process.emitWarning);
});

afterEach(() => {
  emitWarning.mockRestore();
  expect(badWarnings).toEqual([]);
});

function setup(hooks: MemoizeOptions<[number], Value>, result: (id: number, computes: number) => unknown = toValue) {
  const keyPrefix = uniquePrefix('hook-throws');
  let computes = 0;
  const memoize = createMemoizer({ client, keyPrefix });
  const f = memoize(
    async (id: number) => {
      computes++;
      return result(id, computes) as Value;
    },
    { name: NAME, lockTtl: LONG_LOCK_TTL, ...hooks },
  );
  return { keyPrefix, f, computes: () => computes };
}

function toValue(id: number, computes: number): Value {
  return { id, computes };
}

function errorWithThrowingMessage(): Error {
  const error = new Error('hidden');
  Object.defineProperty(error, 'message', {
    get(): string {
      throw new Error('message getter exploded');
    },
  });
  return error;
}

describe.each<[string, () => unknown]>([
  ['an object without a prototype (String() throws on it)', () => Object.create(null)],
  ['a Symbol', () => Symbol('hook')],
  ['an Error', () => new Error('hook exploded')],
  ['an Error whose message getter throws', errorWithThrowingMessage],
])('a hook that throws %s', (_label, makeThrown) => {
  const throwing = (): void => {
    throw makeThrown();
  };

  test('onHit: the hit resolves with the stored value, and later calls still hit', async () => {
    const { f, computes, keyPrefix } = setup({ onHit: throwing });
    expect(await f(1)).toEqual({ id: 1, computes: 1 });
    expect(await resolvedValue(f(1), 'the hit')).toEqual({ id: 1, computes: 1 });
    expect(await resolvedValue(f(1), 'the second hit')).toEqual({ id: 1, computes: 1 });
    expect(computes()).toBe(1);
    const other = await callFromOtherProcess({ keyPrefix, name: NAME, args: [1] });
    expect(other.computed).toBe(false);
  });

  test('onMiss: the miss resolves with the computed value, which is stored, and its lock is released', async () => {
    const { f, computes, keyPrefix } = setup({ onMiss: throwing });
    expect(await resolvedValue(f(1), 'the miss')).toEqual({ id: 1, computes: 1 });
    const other = await callFromOtherProcess({ keyPrefix, name: NAME, args: [1] });
    expect(other.computed).toBe(false);
    expect(await resolvedValue(f(1), 'the hit')).toEqual({ id: 1, computes: 1 });
    expect(computes()).toBe(1);
  });

  test('onError, while the call holds the lock (an unserializable result): the call resolves with the result and its lock is released', async () => {
    const unserializable = (id: number) => ({ id, format: () => `#${id}` });
    const { f, keyPrefix } = setup({ onError: throwing }, unserializable);
    const result = (await resolvedValue(f(1), 'the call')) as unknown as ReturnType<typeof unserializable>;
    expect(result.id).toBe(1);
    expect(result.format()).toBe('#1');
    const other = await callFromOtherProcess({ keyPrefix, name: NAME, args: [1] });
    expect(other.computed).toBe(true);
  });

  test('onError, on the read path (damaged bytes in the store): the call resolves with a fresh value that later calls hit', async () => {
    const { f, computes } = setup({ onError: throwing });
    await client.set(f.keyFor(1), 'not an entry this library wrote');
    expect(await resolvedValue(f(1), 'the call')).toEqual({ id: 1, computes: 1 });
    expect(await resolvedValue(f(1), 'the hit')).toEqual({ id: 1, computes: 1 });
    expect(computes()).toBe(1);
  });
});

// Hooks are typed as returning nothing, so an async hook is accepted; its rejection is a hook that
// threw. Jest fails the running test when a rejection goes unhandled.
describe('an async hook that rejects', () => {
  const rejecting = async (): Promise<void> => {
    throw new Error('async hook rejected');
  };

  test.each<[string, MemoizeOptions<[number], Value>]>([
    ['onMiss', { onMiss: rejecting }],
    ['onHit', { onHit: rejecting }],
  ])('%s: the calls resolve, and the rejection is not left unhandled', async (_hook, hooks) => {
    const { f, computes } = setup(hooks);
    expect(await f(1)).toEqual({ id: 1, computes: 1 });
    expect(await f(1)).toEqual({ id: 1, computes: 1 });
    expect(computes()).toBe(1);
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  });
});
