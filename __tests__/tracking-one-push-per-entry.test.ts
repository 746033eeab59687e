import { randomUUID } from 'node:crypto';
import { createClient, type RedisClientType } from 'redis';
import {
  functionKeyPrefix,
  lockKeyOf,
  stampKeyOf,
  TAG_KEY_PREFIX,
  tokenKeyOf,
  trackedPrefixOf,
  valueKey,
  waitersKeyOf,
} from '../lib/key';
import { createMemoizer } from '../lib/memoizer';
import { RedisStore } from '../lib/stores/redis/store';
import { connect, deferred, sleep, testRedisUrl, uniquePrefix, until } from './helpers/redis';

// Tracking pushes one key per changed entry to each tracking process: the value key. The entry's
// token, lock, waiters mark and stamp live outside the tracked prefix, which is one per keyPrefix
// (not one per function), and a write outside every keyPrefix is pushed to nobody. Counted on the
// library's own tracking connection, raw (before the store routes anything).

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

test('a miss, an invalidate and invalidateAll each push the value key once; nothing else is pushed', async () => {
  const keyPrefix = uniquePrefix('one-push');
  const { client: own, tracking } = await trackedClient();
  const store = new RedisStore(own);
  // Another process: it computes and writes, so every change below comes from elsewhere.
  const elsewhereStore = new RedisStore(client);
  const waiterStore = new RedisStore(client);
  try {
    const hold = deferred<void>();
    let runs = 0;
    const body = async (id: number) => {
      runs++;
      if (id === 7) await hold.promise;
      return `v${id}`;
    };
    const tags = ['one-push-tag'];
    const local = createMemoizer({ store, keyPrefix });
    const f = local(
      async function target(id: number) {
        return body(id);
      },
      { local: true, lock: true, tags },
    );
    // A second function of the same keyPrefix: it shares the one tracked prefix.
    const g = local(
      async function sibling(id: number) {
        return `g${id}`;
      },
      { local: true },
    );
    const writer = createMemoizer({ store: elsewhereStore, keyPrefix })(
      async function target(id: number) {
        return body(id);
      },
      { lock: true, tags },
    );
    const waiter = createMemoizer({ store: waiterStore, keyPrefix })(
      async function target(id: number) {
        return body(id);
      },
      { lock: true, tags },
    );

    await f(0);
    await g(0);
    const connection = await tracking;
    const heard = pushes(connection);
    const functionPrefix = f.keyFor(1).slice(0, f.keyFor(1).indexOf('{'));
    await until(() => store.tracking()?.covers(functionPrefix) === true, 'tracking covers the function');
    const info = (await connection.sendCommand(['CLIENT', 'TRACKINGINFO'])) as unknown;
    const prefixes = info instanceof Map ? info.get('prefixes') : (info as Record<string, unknown>).prefixes;
    // One broadcast prefix for both functions of the keyPrefix, and the tag namespace.
    expect((prefixes as unknown[]).map(String).sort()).toEqual([`${keyPrefix}:`, TAG_KEY_PREFIX].sort());
    expect(trackedPrefixOf(functionPrefix)).toBe(`${keyPrefix}:`);

    await settled(connection);
    heard.length = 0;
    // A miss whose lock a second process waits for: begin (token, lock), the waiter's mark, the
    // write (value, token, stamp), the release (lock, mark).
    const key = writer.keyFor(7);
    const first = writer(7);
    await until(async () => (await client.exists(lockKeyOf(key))) === 1, 'the lock taken');
    const second = waiter(7);
    await until(async () => (await client.exists(waitersKeyOf(key))) === 1, 'the lock waited for');
    hold.resolve();
    expect(await Promise.all([first, second])).toEqual(['v7', 'v7']);
    expect(await client.exists([tokenKeyOf(key), stampKeyOf(key)])).toBe(2);
    await settled(connection);
    expect(heard.filter((k) => k === null || !k.startsWith(TAG_KEY_PREFIX))).toEqual([key]);

    heard.length = 0;
    await writer.invalidate(7);
    await settled(connection);
    expect(heard).toEqual([key]);

    heard.length = 0;
    await writer(8);
    await writer(9);
    await settled(connection);
    heard.length = 0;
    await writer.invalidateAll();
    await settled(connection);
    // The entries alive: 0 (written by this process), 8 and 9 (7 was invalidated already).
    expect([...heard].sort()).toEqual([writer.keyFor(0), writer.keyFor(8), writer.keyFor(9)].sort());

    // Writes outside every keyPrefix, and to a keyPrefix nobody tracks, are pushed to nobody.
    heard.length = 0;
    await client.set(`unrelated-${randomUUID()}`, 'x');
    await client.set(`${uniquePrefix('untracked')}:fn:{x}`, 'x');
    await client.set(`${keyPrefix}-other:fn:{x}`, 'x');
    await settled(connection);
    await sleep(20);
    expect(heard).toEqual([]);
    expect(runs).toBe(4);
  } finally {
    await store.close();
    await elsewhereStore.close();
    await waiterStore.close();
    await own.quit();
  }
});

test('keyPrefixes nested by `:` share the shorter tracked prefix; each function hears its own entries', async () => {
  const outer = uniquePrefix('nested');
  const store = new RedisStore(client);
  try {
    const tracking = store.tracking();
    if (tracking === undefined) throw new Error('no tracking');
    const inner = functionKeyPrefix(`${outer}:sub`, 'f');
    const top = functionKeyPrefix(outer, 'f');
    const heard = { inner: [] as Array<string | null>, top: [] as Array<string | null> };
    // The inner keyPrefix first: the outer one then covers it, and tracking starts over with `outer:`.
    const stops = [tracking.watch(inner, (k) => heard.inner.push(k))];
    await until(() => tracking.covers(inner), 'the inner keyPrefix covered');
    stops.push(tracking.watch(top, (k) => heard.top.push(k)));
    await until(() => tracking.covers(inner) && tracking.covers(top), 'both covered by the outer prefix');
    heard.inner.length = 0;
    heard.top.length = 0;
    await client.set(valueKey(inner, 'x'), 'v');
    await client.set(valueKey(top, 'x'), 'v');
    await until(() => heard.inner.length > 0 && heard.top.length > 0, 'both changes delivered');
    expect(heard).toEqual({ inner: [valueKey(inner, 'x')], top: [valueKey(top, 'x')] });
    for (const stop of stops) stop();
  } finally {
    await store.close();
  }
});
