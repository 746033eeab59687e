import type Redis from 'ioredis';
import { RedisStore } from '../lib/stores/redis/store';
import { ioredisClient } from './helpers/ioredis';
import { connectionTo, IoredisChild, versionKeyOf } from './helpers/ioredis-processes';
import { msUntil, probe, untilLocal } from './helpers/local';
import { testRedisUrl, uniquePrefix } from './helpers/redis';

// The local tier over an ioredis client, kept consistent by Redis across processes: changes made by
// forked processes (each with an ioredis client of its own) evict this process's local values, and
// this process's changes evict theirs. The tier hears them through CLIENT TRACKING ... REDIRECT to a
// connection subscribed to __redis__:invalidate (ioredis speaks RESP2).

const VISIBLE_MS = 200;

let redis: Redis;
const children: IoredisChild[] = [];
beforeAll(async () => {
  redis = await ioredisClient();
});
afterAll(async () => {
  redis.disconnect();
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.quit()));
});

/** A child memoizing the same function (keyPrefix, name `target`) as this process's probe. */
async function child(keyPrefix: string, local: boolean): Promise<IoredisChild> {
  const c = new IoredisChild(connectionTo(testRedisUrl()));
  children.push(c);
  await c.ready;
  await c.setup({ keyPrefix, computeMs: 0, options: { local, ttl: '60s' } });
  return c;
}

test('a child’s refresh, invalidate and invalidateAll evict this process’s local value', async () => {
  const keyPrefix = uniquePrefix('io-local-proc');
  const b = await child(keyPrefix, false);
  const source = { version: 1 };
  const pa = probe(new RedisStore(redis), keyPrefix, { local: true }, source);
  await pa.call(1);
  await untilLocal(pa, 1);
  const delays: number[] = [];
  let version = 1;
  for (const op of ['refresh', 'invalidate', 'invalidateAll'] as const) {
    version++;
    source.version = version;
    await redis.set(versionKeyOf(keyPrefix), String(version));
    await b.ask(op === 'invalidateAll' ? { op } : { op, arg: 1 });
    delays.push(await msUntil(pa, 1, (r) => r.value.version === version));
    expect((await untilLocal(pa, 1)).version).toBe(version);
  }
  for (const ms of delays) expect(ms).toBeLessThan(VISIBLE_MS);
});

test('this process’s refresh evicts the local values of two children', async () => {
  const keyPrefix = uniquePrefix('io-local-procs');
  const source = { version: 1 };
  const pb = probe(new RedisStore(redis), keyPrefix, {}, source);
  const kids = await Promise.all([child(keyPrefix, true), child(keyPrefix, true)]);
  await pb.call(1);
  for (const k of kids) expect((await k.ask({ op: 'untilLocal', arg: 1 })).kind).toBe('local');
  source.version = 2;
  const refreshed = await pb.f.refresh(1);
  const seen = await Promise.all(kids.map((k) => k.ask({ op: 'untilVersion', arg: 1, version: 2 })));
  for (const r of seen) {
    expect(r.value).toEqual(refreshed);
    expect(r.ms).toBeLessThan(VISIBLE_MS);
  }
});
