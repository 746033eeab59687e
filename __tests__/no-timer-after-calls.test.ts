import type { RedisClientType } from 'redis';
import { createMemoizer } from '../lib';
import { connect, uniquePrefix } from './helpers/redis';
import { type RedisServer, spawnRedis } from './helpers/redis-server';

// Nothing the library starts outlives what it belongs to: once a function's calls are over (every
// store operation answered), no timer of the library keeps the process alive, even with a long
// deadline: a timer left armed until one deadline after the last operation would keep a process
// that closed its client alive that long. Against a redis-server of this file's own.

let server: RedisServer;
let client: RedisClientType;
beforeAll(async () => {
  server = await spawnRedis();
  client = await connect(server.url);
});
afterAll(async () => {
  await client?.quit();
  await server?.stop();
});

/** The timers keeping this process alive. */
const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

// Each case has a deadline length of its own: functions with equal timeouts share one timer.
test.each([
  ['lock: true', true, '30s'],
  ['lock: false', false, '31s'],
] as const)('%s: after a miss, a hit and an invalidate, no timer is left running', async (_, lock, timeout) => {
  const memoize = createMemoizer({ client, keyPrefix: uniquePrefix('timers'), timeout });
  const f = memoize(
    async function twice(n: number) {
      return 2 * n;
    },
    { lock, awaitWrite: true },
  );
  const before = timers();
  expect(await f(1)).toBe(2);
  expect(await f(1)).toBe(2);
  await f.invalidate(1);
  expect(await f(1)).toBe(2);
  expect(timers()).toBe(before);
});
