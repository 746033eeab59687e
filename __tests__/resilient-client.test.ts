import { SocketTimeoutError } from 'redis';
import { configure } from '../lib/memoizer';
import { createResilientClient, RESILIENT_DEFAULTS, reconnectForever } from '../lib/stores/redis/resilient-client';
import { untilReady } from './faults/scenarios';
import { sleep } from './helpers/redis';
import { freePort, spawnRedis } from './helpers/redis-server';

// node-redis waits between reconnect attempts on a timer that destroy() does not clear (up to
// maxReconnectDelayMs plus 100 ms of jitter here): wait it out, or it keeps the jest worker alive.
afterAll(() => sleep(RESILIENT_DEFAULTS.maxReconnectDelayMs + 100));

test('a URL that is not a string is a TypeError', () => {
  expect(() => createResilientClient(undefined as never)).toThrow(
    /createResilientClient needs a redis:\/\/ URL string/,
  );
  expect(() => createResilientClient('')).toThrow(TypeError);
});

test('reconnectForever never gives up, even after a socket timeout, and backs off to its cap', () => {
  const cap = RESILIENT_DEFAULTS.maxReconnectDelayMs;
  for (let retries = 0; retries < 50; retries++) {
    const delay = reconnectForever(retries);
    expect(typeof delay).toBe('number');
    expect(delay).toBeGreaterThanOrEqual(Math.min(50 * 2 ** retries, cap));
    expect(delay).toBeLessThan(Math.min(50 * 2 ** retries, cap) + 100);
  }
  // node-redis passes the cause as a second argument; the default strategy returns false for this one.
  expect(typeof (reconnectForever as (r: number, c: unknown) => number)(3, new SocketTimeoutError(3000))).toBe(
    'number',
  );
});

test('returns at once with nothing listening, warns once per outage, connects when Redis comes up', async () => {
  const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
  const port = await freePort();
  const started = performance.now();
  const client = createResilientClient(`redis://127.0.0.1:${port}`);
  try {
    // Connecting takes seconds while nothing listens; returning must not wait for it.
    expect(performance.now() - started).toBeLessThan(250);
    expect(client.isReady).toBe(false);
    configure({ client }); // accepted as a client: the types line up
    await sleep(1500);
    const connectionWarnings = () => warn.mock.calls.filter(([m]) => String(m).includes('Redis connection error'));
    expect(connectionWarnings()).toHaveLength(1);
    expect(String(connectionWarnings()[0]![0])).toMatch(/ECONNREFUSED [\d.:]+; calls run uncached until it is back$/);
    const server = await spawnRedis({ port });
    try {
      await untilReady(client, 3000);
      expect(await client.ping()).toBe('PONG');
      // A second outage warns again, once.
      await server.kill();
      await sleep(1500);
      expect(connectionWarnings()).toHaveLength(2);
    } finally {
      await server.stop();
    }
  } finally {
    client.destroy();
    warn.mockRestore();
  }
});

test('node-redis options pass through; socket fields merge over the defaults; onConnectionError gets every error', async () => {
  const port = await freePort();
  const errors: Error[] = [];
  const client = createResilientClient(`redis://127.0.0.1:${port}`, {
    socket: { socketTimeout: 9000 },
    pingInterval: 2000,
    onConnectionError: (error) => errors.push(error),
  });
  try {
    expect(client.options?.socket).toMatchObject({
      socketTimeout: 9000,
      connectTimeout: RESILIENT_DEFAULTS.connectTimeoutMs,
    });
    expect(client.options?.pingInterval).toBe(2000);
    expect(client.options?.disableOfflineQueue).toBe(true);
    await sleep(1200);
    expect(errors.length).toBeGreaterThan(1);
  } finally {
    client.destroy();
  }
});
