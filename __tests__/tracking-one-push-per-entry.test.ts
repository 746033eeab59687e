import { randomUUID } from 'node:crypto';
import { createClient, type RedisClientType } from 'redis';
import { functionKeyPrefix, lockKeyOf, stampKeyOf, tokenKeyOf, valueKey, waitersKeyOf } from '../lib/key';
import type { Memoized } from '../lib/memoize';
import { createMemoizer } from '../lib/memoizer';
import { RedisStore } from '../lib/stores/redis/store';
import { startTracking } from '../lib/stores/redis/tracking';
import { connect, deferred, sleep, testRedisUrl, uniquePrefix, until } from './helpers/redis';

// What Redis pushes to a process's tracking connection, counted raw (before the store routes anything).
// The local tier reads what it keeps on that connection (Redis's default mode), so only the entries
// the process read are pushed, each once per change; nothing is pushed for the entry's token, lock,
// waiters mark or stamp, for entries it never read, or for writes outside every keyPrefix. (The
// other deployments are checked in tracking-reads-mode-deployments.test.ts.)

let client: RedisClientType;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.quit();
});

/** A client whose tracking connection (the one duplicated with overrides) is handed to the test. */
async function trackedClient(): Promise<{ client: RedisClientType; tracking: Promise<RedisClientType> }> {
  const c = createClient({ url: testRedisUrl() }) as RedisClientType;
  c.on('error', () => {});
  await c.connect();
  const found = deferred<RedisClientType>();
  const duplicate = c.duplicate.bind(c);
  c.duplicate = ((overrides?: object) => {
    const d = duplicate(overrides as never) as RedisClientType;
    if (overrides !== undefined && 'emitInvalidate' in overrides) found.resolve(d);
    return d;
  }) as typeof c.duplicate;
  return { client: c, tracking: found.promise };
}

/** Every key pushed to `connection` (a `null` for "everything"), as they arrive. */
function pushes(connection: RedisClientType): Array<string | null> {
  const heard: Array<string | null> = [];
  connection.on('invalidate', (key: Buffer | string | null) => heard.push(key === null ? null : String(key)));
  return heard;
}

/**
 * Waits until every push for writes acknowledged so far has arrived: Redis queues a push on the
 * tracking connection when it applies the write, so a reply to a later command on that connection
 * comes after it.
 */
async function settled(connection: RedisClientType): Promise<void> {
  await connection.sendCommand(['PING']);
}

/** The flags and prefixes of a connection's CLIENT TRACKINGINFO. */
async function trackingInfo(connection: RedisClientType): Promise<{ flags: string[]; prefixes: string[] }> {
  const info = (await connection.sendCommand(['CLIENT', 'TRACKINGINFO'])) as unknown;
  const field = (name: string) =>
    (info instanceof Map ? info.get(name) : (info as Record<string, unknown>)[name]) as unknown[];
  return { flags: field('flags').map(String), prefixes: field('prefixes').map(String) };
}

/** The value keys among pushes (tag keys, and a tagged entry's stamp read with it, left out). */
function valueKeys(heard: ReadonlyArray<string | null>, keyPrefix: string): Array<string | null> {
  return heard.filter((k) => k === null || k.startsWith(`${keyPrefix}:`));
}

const TAGS = ['one-push-tag'];

/**
 * Two other processes of one tagged, locking function: a writer, and a waiter for its lock. Their
 * body (shared with this process's function) holds entry 7 until the locked miss lets it go.
 */
function otherProcesses(keyPrefix: string) {
  const hold = deferred<void>();
  let runs = 0;
  const body = async (id: number) => {
    runs++;
    if (id === 7) await hold.promise;
    return `v${id}`;
  };
  const stores = [new RedisStore(client), new RedisStore(client)];
  const [writer, waiter] = stores.map((store) =>
    createMemoizer({ store, keyPrefix })(
      async function target(id: number) {
        return body(id);
      },
      { lock: true, tags: TAGS },
    ),
  ) as [Memoized<[number], string>, Memoized<[number], string>];
  return {
    body,
    writer,
    runs: () => runs,
    /** Entry 7 computed by the writer while the waiter waits for its lock: begin, mark, write, release. */
    async lockedMiss(): Promise<string> {
      const key = writer.keyFor(7);
      const first = writer(7);
      await until(async () => (await client.exists(lockKeyOf(key))) === 1, 'the lock taken');
      const second = waiter(7);
      await until(async () => (await client.exists(waitersKeyOf(key))) === 1, 'the lock waited for');
      hold.resolve();
      expect(await Promise.all([first, second])).toEqual(['v7', 'v7']);
      expect(await client.exists([tokenKeyOf(key), stampKeyOf(key)])).toBe(2);
      return key;
    },
    async close(): Promise<void> {
      for (const store of stores) await store.close();
    },
  };
}

test('only the entries this process read are pushed, each value key once per change', async () => {
  const keyPrefix = uniquePrefix('one-push');
  const { client: own, tracking } = await trackedClient();
  const store = new RedisStore(own);
  // Other processes compute and write, so every change below comes from elsewhere.
  const others = otherProcesses(keyPrefix);
  const { writer } = others;
  try {
    let localHits = 0;
    const f = createMemoizer({ store, keyPrefix })(
      async function target(id: number) {
        return others.body(id);
      },
      {
        local: true,
        lock: true,
        tags: TAGS,
        onHit: (e) => {
          if (e.local === true) localHits++;
        },
      },
    );
    /** Reads `id` until the local tier holds it: read on the tracking connection, so pushed from now on. */
    const readUntilLocal = async (id: number) => {
      await until(async () => {
        const before = localHits;
        await f(id);
        return localHits > before;
      }, `entry ${id} held by the local tier`);
    };

    await f(0);
    const connection = await tracking;
    const heard = pushes(connection);
    const functionPrefix = f.keyFor(1).slice(0, f.keyFor(1).indexOf('{'));
    await until(() => store.tracking()?.covers(functionPrefix) === true, 'tracking covers the function');
    // Default mode: no broadcast prefix for Redis to check every write against.
    expect(await trackingInfo(connection)).toEqual({ flags: ['on'], prefixes: [] });

    await settled(connection);
    heard.length = 0;
    // A miss elsewhere, its lock waited for: nothing this process read.
    const key = await others.lockedMiss();
    await settled(connection);
    expect(heard).toEqual([]);

    // Read here: from now on a change of it is pushed, once.
    await readUntilLocal(7);
    await settled(connection);
    heard.length = 0;
    await writer.invalidate(7);
    await settled(connection);
    expect(valueKeys(heard, keyPrefix)).toEqual([key]);

    await readUntilLocal(0);
    heard.length = 0;
    await writer(8);
    await writer(9);
    await settled(connection);
    expect(heard).toEqual([]);
    await writer.invalidateAll();
    await settled(connection);
    // The entries alive: 0, 8 and 9 (7 was invalidated already); this process read only 0.
    expect(valueKeys(heard, keyPrefix)).toEqual([f.keyFor(0)]);

    // Writes outside every keyPrefix, and under this one, of keys never read here: pushed to nobody.
    heard.length = 0;
    await client.set(`unrelated-${randomUUID()}`, 'x');
    await client.set(`${keyPrefix}:fn:{x}`, 'x');
    await settled(connection);
    await sleep(20);
    expect(heard).toEqual([]);
    expect(others.runs()).toBe(4);
  } finally {
    await store.close();
    await others.close();
    await own.quit();
  }
});

test('keyPrefixes nested by `:`: each function hears the changes of its own entries', async () => {
  const outer = uniquePrefix('nested');
  const tracking = startTracking(client, 'client', () => {});
  try {
    if (tracking === undefined) throw new Error('no tracking');
    const inner = functionKeyPrefix(`${outer}:sub`, 'f');
    const top = functionKeyPrefix(outer, 'f');
    const heard = { inner: [] as Array<string | null>, top: [] as Array<string | null> };
    const stops = [tracking.watch(inner, (k) => heard.inner.push(k)), tracking.watch(top, (k) => heard.top.push(k))];
    await until(() => tracking.covers(inner) && tracking.covers(top), 'both covered');
    for (const prefix of [inner, top]) {
      await client.set(valueKey(prefix, 'x'), 'v1');
      expect(await tracking.read?.(valueKey(prefix, 'x'))).toBe('v1');
    }
    heard.inner.length = 0;
    heard.top.length = 0;
    await client.set(valueKey(inner, 'x'), 'v2');
    await client.set(valueKey(top, 'x'), 'v2');
    await until(() => heard.inner.length > 0 && heard.top.length > 0, 'both changes delivered');
    expect(heard).toEqual({ inner: [valueKey(inner, 'x')], top: [valueKey(top, 'x')] });
    for (const stop of stops) stop();
  } finally {
    tracking?.close();
  }
});
