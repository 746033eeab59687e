import type Redis from 'ioredis';
import { RedisStore } from '../lib/stores/redis/store';
import { type Admin, connectAdmin } from './helpers/connections';
import { ioredisClient } from './helpers/ioredis';
import { listen, probe, trackingOf, untilLocal } from './helpers/local';
import { testRedisUrl, uniquePrefix, until } from './helpers/redis';

// The local tier over an ioredis `Redis` (one server, or a Sentinel group's master) in reads mode:
// its control connection tracks in Redis's default mode, redirected to its listener, and the tier
// reads what it keeps there. So the process hears the changes of the entries it read and nothing
// else, and reads the database the user's `Redis` uses, also one chosen with `select()` after it was
// made.

let admin: Admin;
let writer: Redis;
beforeAll(async () => {
  admin = await connectAdmin(testRedisUrl());
  writer = await ioredisClient();
});
afterAll(async () => {
  writer.disconnect();
  await admin.close();
});

test('the control connection tracks in default mode, redirected, and the process hears only the entries it read', async () => {
  const name = uniquePrefix('io-reads').replace(/-/g, '_');
  const reader = await ioredisClient(testRedisUrl(), { connectionName: name });
  const keyPrefix = uniquePrefix('io-reads');
  const source = { version: 1 };
  const pa = probe(new RedisStore(reader), keyPrefix, { local: true }, source);
  const pb = probe(new RedisStore(writer), keyPrefix, {}, source);
  try {
    await pb.call(1);
    await untilLocal(pa, 1);
    // One control connection of the store's own: tracking on, not broadcast, redirected.
    const mine = (await admin.list()).filter((c) => c.name === name);
    const control = mine.filter((c) => (c.flags ?? '').includes('t'));
    expect(control).toHaveLength(1);
    expect(control[0]?.flags).not.toContain('B');
    expect(mine.some((c) => c.id === control[0]?.redir)).toBe(true);

    const heard = listen(pa.store, pa.functionPrefix);
    // Entries this process never read, written elsewhere: nothing is pushed for them.
    for (let id = 2; id <= 5; id++) await pb.call(id);
    source.version = 2;
    await pb.f.refresh(1);
    await until(() => heard.heard.length > 0, 'the change of the entry read');
    // Pushes come in the order Redis applied the writes: those of 2 to 5 would have come first.
    expect(heard.heard).toEqual([pa.f.keyFor(1)]);
    expect((await untilLocal(pa, 1)).version).toBe(2);
    heard.stop();
  } finally {
    reader.disconnect();
  }
});

test('the tier reads the database the client selected after it was made', async () => {
  const reader = await ioredisClient(testRedisUrl());
  const other = await ioredisClient(testRedisUrl(), { db: 3 });
  const keyPrefix = uniquePrefix('io-reads-db');
  try {
    await reader.select(3);
    // The same entry in database 0 holds another value: reading there would answer version 0.
    const in3 = probe(new RedisStore(other), keyPrefix, {}, { version: 3 });
    const in0 = probe(new RedisStore(writer), keyPrefix, {}, { version: 0 });
    await in3.call(1);
    await in0.call(1);
    const pa = probe(new RedisStore(reader), keyPrefix, { local: true }, { version: 99 });
    await pa.call(1);
    await until(() => trackingOf(pa.store).covers(pa.functionPrefix), 'tracking on');
    expect((await untilLocal(pa, 1)).version).toBe(3);
    expect(pa.computes).toBe(0);
  } finally {
    reader.disconnect();
    other.disconnect();
  }
});
