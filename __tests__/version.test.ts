import type { RedisClientType } from 'redis';
import { createMemoizer } from '../lib/memoizer';
import { RedisStore } from '../lib/stores/redis/store';
import { connect, uniquePrefix, until } from './helpers/redis';

// The version option: old and new code, deployed side by side over one Redis, each read their own
// entries, and invalidateAll of one leaves the other's alone.

let client: RedisClientType;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.quit();
});

/** The function as one deploy defines it, in its own process (here: its own memoizer). */
function deploy(keyPrefix: string, version: number | string | undefined, output: string) {
  let runs = 0;
  const memoize = createMemoizer({ client, keyPrefix });
  const render = memoize(
    async function render(id: number) {
      runs++;
      return `${output} ${id}`;
    },
    version === undefined ? {} : { version },
  );
  return { render, runs: () => runs };
}

describe('version', () => {
  test('a new version reads none of the old entries, and the old code keeps its own', async () => {
    const prefix = uniquePrefix('version');
    const old = deploy(prefix, 1, 'old');
    const next = deploy(prefix, 2, 'new');
    expect(await old.render(1)).toBe('old 1');
    expect(await next.render(1)).toBe('new 1');
    expect(await old.render(1)).toBe('old 1');
    expect(await next.render(1)).toBe('new 1');
    expect([old.runs(), next.runs()]).toEqual([1, 1]);
    expect(old.render.keyFor(1)).toMatch(new RegExp(`^${prefix}:render:v1\\{`));
    expect(next.render.keyFor(1)).toMatch(new RegExp(`^${prefix}:render:v2\\{`));
  });

  test('an unversioned function and its first version do not share entries', async () => {
    const prefix = uniquePrefix('version-none');
    const unversioned = deploy(prefix, undefined, 'plain');
    const versioned = deploy(prefix, 'a1', 'versioned');
    expect(await unversioned.render(1)).toBe('plain 1');
    expect(await versioned.render(1)).toBe('versioned 1');
  });

  test('invalidateAll of one version leaves the other alone', async () => {
    const prefix = uniquePrefix('version-all');
    const v1 = deploy(prefix, 1, 'one');
    const v10 = deploy(prefix, 10, 'ten');
    const plain = deploy(prefix, undefined, 'plain');
    for (const d of [v1, v10, plain]) {
      await d.render(1);
      await d.render(2);
    }
    await v1.render.invalidateAll();
    expect(await client.exists([v1.render.keyFor(1), v1.render.keyFor(2)])).toBe(0);
    expect(await client.exists([v10.render.keyFor(1), v10.render.keyFor(2)])).toBe(2);
    expect(await client.exists([plain.render.keyFor(1), plain.render.keyFor(2)])).toBe(2);
    await plain.render.invalidateAll();
    expect(await client.exists([v10.render.keyFor(1), v10.render.keyFor(2)])).toBe(2);
  });

  test('invalidateAll of version 1 leaves version 2 alone: each version has its own entry index', async () => {
    // Versions whose prefixes differ only in their last character (`v1`, `v2`) once shared one
    // index key, so invalidateAll of one deleted the other's entries.
    const prefix = uniquePrefix('version-index');
    const v1 = deploy(prefix, 1, 'one');
    const v2 = deploy(prefix, 2, 'two');
    for (const d of [v1, v2]) {
      await d.render(1);
      await d.render(2);
    }
    await v1.render.invalidateAll();
    expect(await client.exists([v1.render.keyFor(1), v1.render.keyFor(2)])).toBe(0);
    expect(await client.exists([v2.render.keyFor(1), v2.render.keyFor(2)])).toBe(2);
    expect(await v2.render(1)).toBe('two 1');
    expect(v2.runs()).toBe(2);
    await v2.render.invalidateAll();
    expect(await client.exists([v2.render.keyFor(1), v2.render.keyFor(2)])).toBe(0);
  });

  test('a versioned function keeps a local tier, which changes made elsewhere evict', async () => {
    const prefix = uniquePrefix('version-local');
    const store = new RedisStore(client);
    let runs = 0;
    let local = false;
    const memoize = createMemoizer({ store, keyPrefix: prefix, onHit: (e) => (local ||= e.local === true) });
    const f = memoize(
      async function tiered(id: number) {
        return `${id}:${++runs}`;
      },
      { version: 3, local: true },
    );
    try {
      expect(await f(1)).toBe('1:1');
      await until(async () => (await f(1)) === '1:1' && local, 'a local hit');
      // Another process (its own memoizer, without a local tier) invalidates the entry.
      const elsewhere = createMemoizer({ client, keyPrefix: prefix })(
        async function tiered(id: number) {
          return `${id}:${++runs}`;
        },
        { version: 3 },
      );
      await elsewhere.invalidate(1);
      await until(async () => (await f(1)) === '1:2', 'the local copy evicted');
    } finally {
      await store.close();
    }
  });

  test.each<[string, unknown, RegExp]>([
    ['a negative number', -1, /version must be a non-negative integer, or a non-empty string .*; got -1$/],
    ['a fraction', 1.5, /version must be .*; got 1\.5$/],
    ['an empty string', '', /version must be .*; got ""$/],
    ['a colon', 'v:2', /version must be .* without \{, \} or :; got "v:2"$/],
    ['a brace', '{2}', /version must be .*; got "\{2\}"$/],
    ['an object', {}, /version must be .*; got an object$/],
  ])('a version that is %s is a TypeError naming it', (_label, version, message) => {
    const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('version-bad') });
    expect(() => memoize(async function f() {}, { version: version as number })).toThrow(message);
  });
});
