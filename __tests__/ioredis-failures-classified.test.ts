import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { Cluster } from 'ioredis';
import { createMemoizer, type MemoizeError } from '../lib';
import { RedisStore } from '../lib/stores/redis/store';
import { ioredisClient } from './helpers/ioredis';
import { uniquePrefix } from './helpers/redis';
import { freePort, type RedisServer, spawnRedis } from './helpers/redis-server';

// ioredis fails in its own words ("Connection is closed.", "Stream isn't writeable and
// enableOfflineQueue options is false", "Reached the max retries per request limit", and its cluster's
// "Cluster isn't ready ..."), and passes Redis's error replies on as they are. Each must mean to the
// cache what node-redis's counterpart means: an outage is E_UNAVAILABLE, a refusal E_WRITE_REFUSED, a
// missing permission E_NO_PERMISSION, another type at the key E_DECODE. Real errors only, from real
// connections (this file's own redis-server, with maxmemory or ACL users set as a case needs).

let server: RedisServer;
let admin: Redis;
beforeAll(async () => {
  server = await spawnRedis();
  admin = await ioredisClient(server.url);
});
afterAll(async () => {
  admin.disconnect();
  await server.stop();
});

/**
 * For the test's own clients of a dead port: ioredis keeps a closed connection's timer for
 * `disconnectTimeout` (2 s) when its connection attempt failed, which would outlive the file.
 */
const QUICK_CLOSE = { disconnectTimeout: 50 };

const entry = () => `${uniquePrefix('io-fail')}:fn:{${randomUUID().slice(0, 8)}}`;

/** How the store describes the failure of `operation` (it must fail). */
async function failureOf(store: RedisStore, operation: () => Promise<unknown>): Promise<MemoizeError> {
  try {
    await operation();
  } catch (error) {
    return store.describeFailure('read', error);
  }
  throw new Error('the operation did not fail');
}

test.each<[string, RegExp, () => Promise<{ client: Redis | Cluster; close: () => void }>]>([
  [
    "a client that was disconnected ('Connection is closed.')",
    /^Connection is closed\.$/,
    async () => {
      const client = await ioredisClient(server.url);
      client.disconnect();
      return { client, close: () => {} };
    },
  ],
  [
    "a client not yet connected, without offline queue ('Stream isn't writeable ...')",
    /^Stream isn't writeable and enableOfflineQueue options is false$/,
    async () => {
      const client = await ioredisClient(server.url);
      client.disconnect();
      const offline = client.duplicate({ lazyConnect: true, enableOfflineQueue: false });
      offline.on('error', () => {});
      return { client: offline, close: () => offline.disconnect() };
    },
  ],
  [
    "a client whose server is down ('Reached the max retries per request limit')",
    /^Reached the max retries per request limit/,
    async () => {
      const port = await freePort();
      const { default: IoRedis } = await import('ioredis');
      const client = new IoRedis(port, '127.0.0.1', {
        maxRetriesPerRequest: 0,
        retryStrategy: () => 20,
        ...QUICK_CLOSE,
      });
      client.on('error', () => {});
      return { client, close: () => client.disconnect() };
    },
  ],
  [
    "a cluster not yet connected, without offline queue ('Cluster isn't ready ...')",
    /^Cluster isn't ready and enableOfflineQueue options is false$/,
    async () => {
      const cluster = new Cluster([{ host: '127.0.0.1', port: await freePort() }], {
        lazyConnect: true,
        enableOfflineQueue: false,
        redisOptions: QUICK_CLOSE,
      });
      cluster.on('error', () => {});
      return { client: cluster, close: () => cluster.disconnect() };
    },
  ],
])('%s: E_UNAVAILABLE', async (_case, message, make) => {
  const { client, close } = await make();
  try {
    const store = new RedisStore(client);
    const failure = await failureOf(store, () => store.get(entry()));
    expect((failure.cause as Error).message).toMatch(message);
    expect(failure.code).toBe('E_UNAVAILABLE');
  } finally {
    close();
  }
});

test('another Redis type at the key (WRONGTYPE, through EVALSHA): E_DECODE', async () => {
  const store = new RedisStore(admin);
  const key = entry();
  await admin.hset(key, 'field', 'value');
  const failure = await failureOf(store, () => store.begin({ key, tokenTtlMs: 60_000 }));
  expect((failure.cause as Error).message).toMatch(/^WRONGTYPE /);
  expect(failure.code).toBe('E_DECODE');
});

test('a user without EVALSHA (NOPERM): E_NO_PERMISSION, saying what to grant', async () => {
  const user = `io-noscripts-${randomUUID().slice(0, 8)}`;
  await admin.call('ACL', 'SETUSER', user, 'on', '>pw', '~*', '+@all', '-evalsha', '-eval');
  const client = await ioredisClient(server.url, { username: user, password: 'pw' });
  try {
    const store = new RedisStore(client);
    const failure = await failureOf(store, () => store.begin({ key: entry(), tokenTtlMs: 60_000 }));
    expect((failure.cause as Error).message).toMatch(/^NOPERM /);
    expect(failure.code).toBe('E_NO_PERMISSION');
    expect(failure.message).toMatch(/ACL SETUSER <user> \+get \+mget \+evalsha \+eval \+unlink \+scan/);
  } finally {
    client.disconnect();
    await admin.call('ACL', 'DELUSER', user);
  }
});

test('a server out of memory (OOM): E_WRITE_REFUSED', async () => {
  await admin.config('SET', 'maxmemory', '1');
  try {
    const store = new RedisStore(admin);
    const failure = await failureOf(store, () => store.begin({ key: entry(), tokenTtlMs: 60_000 }));
    expect((failure.cause as Error).message).toMatch(/^OOM /);
    expect(failure.code).toBe('E_WRITE_REFUSED');
  } finally {
    await admin.config('SET', 'maxmemory', '0');
  }
});

test('a memoized call over an ioredis client whose server is down gets its function’s result; onError gets E_UNAVAILABLE', async () => {
  const { default: IoRedis } = await import('ioredis');
  const client = new IoRedis(await freePort(), '127.0.0.1', {
    enableOfflineQueue: false,
    retryStrategy: () => 20,
    ...QUICK_CLOSE,
  });
  client.on('error', () => {});
  try {
    const errors: string[] = [];
    const memoize = createMemoizer({
      client,
      keyPrefix: uniquePrefix('io-down'),
      onError: (e) => errors.push(e.error.code),
    });
    const f = memoize(async function computed(id: number) {
      return { id };
    });
    expect(await f(1)).toEqual({ id: 1 });
    expect(errors).toContain('E_UNAVAILABLE');
  } finally {
    client.disconnect();
  }
});
