import { randomBytes } from 'node:crypto';
import type { RedisClientType } from 'redis';
import { createMemoizer } from '../../lib/memoizer';
import { connect, testRedisUrl, uniquePrefix } from '../helpers/redis';

// The suite's real redis-server; the garbage is planted with a raw client, as another program would.
let client: RedisClientType;
beforeAll(async () => {
  client = await connect(testRedisUrl());
});
afterAll(async () => {
  await client.quit();
});

const plants: [string, string | Buffer][] = [
  ['random bytes', randomBytes(64)],
  ['a truncated envelope', 'cm1J{"title":"half'],
  ['a truncated tagged envelope', 'cm1T{"$":["D",'],
  ['bare JSON with __proto__', '{"__proto__":{"polluted":true}}'],
  ['an envelope of a future version', 'cm2J{"title":"from the future"}'],
  ['an empty string', ''],
];

test.each(plants)('%s at the key: a miss, reported, overwritten; no throw, no pollution', async (_label, garbage) => {
  const codes: string[] = [];
  let runs = 0;
  const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('garbage') });
  const f = memoize(
    async function article(id: number) {
      runs++;
      return { id, title: 'real' };
    },
    { onError: ({ error }) => codes.push(error.code) },
  );
  await client.set(f.keyFor(1), garbage);

  expect(await f(1)).toEqual({ id: 1, title: 'real' });
  expect(codes).toEqual(['E_DECODE']);
  expect(String(await client.get(f.keyFor(1)))).toMatch(/^cm1J/);
  expect(await f(1)).toEqual({ id: 1, title: 'real' });
  expect(runs).toBe(1);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty('polluted');
});

test.each([
  ['an envelope', 'cm1J{"__proto__":{"polluted":true}}'],
  ['a tagged envelope', 'cm1T{"$":["O",{"__proto__":{"polluted":true}}]}'],
])(
  '%s carrying __proto__ is well-formed: it decodes to an own property, and pollutes nothing',
  async (_label, planted) => {
    const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('proto') });
    const f = memoize(async function article(id: number) {
      return { id };
    });
    await client.set(f.keyFor(1), planted);
    const found = (await f(1)) as unknown as Record<string, unknown>;
    expect(Object.getPrototypeOf(found)).toBe(Object.prototype);
    expect(Object.hasOwn(found, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(found.polluted).toBeUndefined();
  },
);

test('a value of another Redis type at the key (a hash): a miss, reported as E_DECODE, replaced', async () => {
  const codes: string[] = [];
  let runs = 0;
  const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('wrongtype') });
  const f = memoize(
    async function article(id: number) {
      runs++;
      return { id };
    },
    { onError: ({ error }) => codes.push(error.code) },
  );
  await client.hSet(f.keyFor(1), 'field', 'value');
  expect(await f(1)).toEqual({ id: 1 });
  expect(codes).toEqual(['E_DECODE']);
  expect(await client.type(f.keyFor(1))).toBe('string');
  expect(await f(1)).toEqual({ id: 1 });
  expect(runs).toBe(1);
});
