import { performance } from 'node:perf_hooks';
import type { RedisClientType } from 'redis';
import type { MemoizeError } from '../lib/errors';
import { configure, createMemoizer, memoize, ready } from '../lib/memoizer';
import { createResilientClient } from '../lib/stores/redis/resilient-client';
import { sleep } from './helpers/redis';
import { freePort, type RedisServer, spawnRedis } from './helpers/redis-server';

// Readiness: ready() against servers this test starts, stops and pauses. It resolves true once the
// store answers, false at its timeout, and never rejects; until then calls run uncached and explicit
// operations reject.

const clients: RedisClientType[] = [];
const servers: RedisServer[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  for (const server of servers.splice(0)) await server.stop();
});

/** A client of the recommended kind for a server on `port`; it reconnects for ever. */
function clientOn(port: number): RedisClientType {
  const client = createResilientClient(`redis://127.0.0.1:${port}`, { onConnectionError: () => {} });
  clients.push(client);
  return client;
}

async function serverOn(port?: number): Promise<RedisServer> {
  const server = await spawnRedis(port === undefined ? {} : { port });
  servers.push(server);
  return server;
}

/** How long `promise` took to settle, and with what. */
async function timed<T>(promise: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await promise;
  return { value, ms: performance.now() - started };
}

describe('ready()', () => {
  test('false at the timeout while the server is down; calls run uncached and explicit operations reject', async () => {
    const port = await freePort();
    const memoizer = createMemoizer({ client: clientOn(port), keyPrefix: 'ready-down', onError: () => {} });
    let runs = 0;
    const f = memoizer(async function startup(n: number) {
      runs++;
      return n;
    });
    const waited = await timed(memoizer.ready(300));
    expect(waited.value).toBe(false);
    expect(waited.ms).toBeGreaterThanOrEqual(290);
    expect(waited.ms).toBeLessThan(2000);
    expect(await f(1)).toBe(1);
    expect(await f(1)).toBe(1);
    expect(runs).toBe(2);
    await expect(f.invalidate(1)).rejects.toMatchObject({ code: 'E_UNAVAILABLE' });
    await expect(f.invalidateAll()).rejects.toMatchObject({ code: 'E_UNAVAILABLE' });
    // refresh computes anyway, for callers in this process, and rejects with the store's failure.
    await expect(f.refresh(1)).rejects.toMatchObject({ code: 'E_UNAVAILABLE' });
    expect(runs).toBe(3);

    // The server comes up: ready() resolves true, and calls are cached from then on.
    await serverOn(port);
    expect(await memoizer.ready(10_000)).toBe(true);
    expect(await f(2)).toBe(2);
    expect(await f(2)).toBe(2);
    expect(runs).toBe(4);
  });

  test('true at once when the store already answers, and again after a restart', async () => {
    const server = await serverOn();
    const client = clientOn(server.port);
    const memoizer = createMemoizer({ client, keyPrefix: 'ready-up' });
    expect(await memoizer.ready(5000)).toBe(true);
    expect((await timed(memoizer.ready(5000))).ms).toBeLessThan(500);
    await server.kill();
    expect(await memoizer.ready(200)).toBe(false);
    await server.restart();
    expect(await memoizer.ready('10s')).toBe(true);
  });

  test('false while the server is paused (connected, silent), true once it resumes', async () => {
    const server = await serverOn();
    const client = clientOn(server.port);
    const memoizer = createMemoizer({ client, keyPrefix: 'ready-paused', timeout: 100 });
    expect(await memoizer.ready()).toBe(true);
    server.pause();
    try {
      const waited = await timed(memoizer.ready(400));
      expect(waited.value).toBe(false);
      expect(waited.ms).toBeLessThan(2000);
    } finally {
      server.resume();
    }
    expect(await memoizer.ready(10_000)).toBe(true);
  });

  test('waits for a store configured later; false if none comes', async () => {
    const server = await serverOn();
    const memoizer = createMemoizer({ keyPrefix: 'ready-later' });
    expect(await memoizer.ready(100)).toBe(false);
    const waiting = memoizer.ready(10_000);
    await sleep(100);
    memoizer.configure({ client: clientOn(server.port) });
    expect(await waiting).toBe(true);
  });

  test('the ready export waits for the process-wide memoizer', async () => {
    const server = await serverOn();
    configure({ client: clientOn(server.port), keyPrefix: 'ready-default' });
    expect(await ready(10_000)).toBe(true);
    let runs = 0;
    const f = memoize(async function processWideReady() {
      return ++runs;
    });
    expect([await f(), await f()]).toEqual([1, 1]);
  });

  test('a timeout that is not a duration is a TypeError', () => {
    const memoizer = createMemoizer({ keyPrefix: 'ready-bad' });
    expect(() => memoizer.ready(0)).toThrow(/the timeout of ready\(\) must be a positive number of milliseconds/);
    expect(() => memoizer.ready('soon' as never)).toThrow(/; got "soon"$/);
  });
});

describe('at startup, before the store answers', () => {
  test('a refresh is reported once, as the refresh it was (no release the caller never asked for)', async () => {
    const port = await freePort();
    const errors: MemoizeError[] = [];
    const memoizer = createMemoizer({
      client: clientOn(port),
      keyPrefix: 'ready-refresh',
      onError: ({ error }) => errors.push(error),
    });
    const f = memoizer(async function refreshedAtStartup() {
      return 1;
    });
    await expect(f.refresh()).rejects.toMatchObject({ code: 'E_UNAVAILABLE' });
    // A release is sent without being awaited: give a second report the time to arrive.
    await sleep(200);
    expect(errors.map((e) => e.message)).toEqual(['cache-memoize: store refresh skipped: the client is not connected']);
  });
});
