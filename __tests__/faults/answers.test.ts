import { performance } from 'node:perf_hooks';
import { createMemoizer } from '../../lib/memoizer';
import { RedisStore } from '../../lib/stores/redis/store';
import { connect, testRedisUrl, uniquePrefix } from '../helpers/redis';
import { type RedisServer, spawnRedis } from '../helpers/redis-server';

// Real redis-servers: one with GET renamed away (so every read gets an error *reply*), and the suite's.
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => process.off('unhandledRejection', onUnhandled));
afterEach(() => expect(unhandled).toEqual([]));

describe('a server that answers with an error is up: not an outage', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await spawnRedis({ args: ['--rename-command', 'GET', 'GET_RENAMED'] });
  });
  afterAll(async () => {
    await server.stop();
  });

  test('error replies are E_COMMAND_ERROR, calls answer, and the circuit never opens', async () => {
    const client = await connect(server.url);
    try {
      const codes: string[] = [];
      const f = createMemoizer({ client, keyPrefix: 'answers', onError: ({ error }) => codes.push(error.code) })(
        async function twice(n: number) {
          return n * 2;
        },
      );
      for (let i = 0; i < 20; i++) expect(await f(i % 3)).toBe((i % 3) * 2);
      expect(codes.length).toBeGreaterThanOrEqual(20);
      expect(new Set(codes)).toEqual(new Set(['E_COMMAND_ERROR']));
    } finally {
      await client.quit();
    }
  });
});

test('a blocked event loop does not turn replies that already arrived into timeouts', async () => {
  const client = await connect(testRedisUrl());
  try {
    const codes: string[] = [];
    const f = createMemoizer({
      client,
      keyPrefix: uniquePrefix('lag'),
      timeout: 50,
      onError: ({ error }) => codes.push(error.code),
    })(async function cached(n: number) {
      return n;
    });
    for (let n = 0; n < 50; n++) await f(n);
    const hits = Array.from({ length: 50 }, (_, n) => f(n));
    // Once the commands are written, block well past the deadline while the replies arrive.
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        const until = performance.now() + 300;
        while (performance.now() < until) {
          /* busy */
        }
        resolve();
      }),
    );
    expect(await Promise.all(hits)).toEqual(Array.from({ length: 50 }, (_, n) => n));
    expect(codes).toEqual([]);
  } finally {
    await client.quit();
  }
});

test('closing the client during invalidateAll rejects it with a StoreError and leaves no unhandled rejection', async () => {
  const client = await connect(testRedisUrl());
  const f = createMemoizer({ store: new RedisStore(client, { scanCount: 10 }), keyPrefix: uniquePrefix('close') })(
    async function many(n: number) {
      return n;
    },
  );
  for (let n = 0; n < 200; n++) await f(n);
  const pending = f.invalidateAll();
  await new Promise((r) => setImmediate(r));
  const closing = client.close();
  await expect(pending).rejects.toMatchObject({ name: 'StoreError' });
  await closing;
  await new Promise((r) => setTimeout(r, 50));
});
