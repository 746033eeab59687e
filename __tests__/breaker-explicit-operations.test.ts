import { performance } from 'node:perf_hooks';
import type { RedisClientType } from 'redis';
import { createMemoizer } from '../lib';
import { connect } from './helpers/redis';
import { type RedisServer, spawnRedis } from './helpers/redis-server';

// Explicit operations (invalidate, refresh, invalidateAll) are not held back by an open circuit,
// but they must not close it either: only the store answering closes it. Against a paused
// redis-server of this file's own.

let server: RedisServer;
let client: RedisClientType;
beforeAll(async () => {
  server = await spawnRedis();
  client = await connect(server.url);
});
afterAll(async () => {
  client.destroy();
  await server.stop();
});

test('invalidateAll on a paused Redis times out and leaves the open circuit open', async () => {
  const codes: string[] = [];
  const memoize = createMemoizer({
    client,
    keyPrefix: 'explicit',
    timeout: 100,
    circuitBreaker: { failures: 2, coolDown: '10s' },
    onError: ({ error }) => codes.push(error.code),
  });
  const f = memoize(async function answer(n: number) {
    return n;
  });
  await f(1);
  // A miss returns once its write is sent; this hit is answered after it, so none is pending.
  await f(1);
  server.pause();
  try {
    await f(1);
    await f(2);
    expect(codes.slice(-2)).toEqual(['E_TIMEOUT', 'E_TIMEOUT']);
    await expect(f.invalidateAll()).rejects.toMatchObject({ code: 'E_TIMEOUT' });
    const started = performance.now();
    expect(await f(3)).toBe(3);
    expect(codes.at(-1)).toBe('E_CIRCUIT_OPEN');
    expect(performance.now() - started).toBeLessThan(50);
  } finally {
    server.resume();
  }
});
