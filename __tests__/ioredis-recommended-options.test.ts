import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis, { type RedisOptions } from 'ioredis';
import { createMemoizer, type MemoizeErrorCode } from '../lib';
import { sleep, uniquePrefix, until } from './helpers/redis';
import { freePort, type RedisServer, spawnRedis } from './helpers/redis-server';

// The ioredis options the README recommends for a cache, each shown doing what the README says it
// does, on a real redis-server that the tests pause, kill and restart.

const exec = promisify(execFile);

const RECOMMENDED: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  retryStrategy: (times) => Math.min(times * 100, 1000),
  commandTimeout: 1000,
};

let server: RedisServer;
let client: Redis;
beforeEach(async () => {
  server = await spawnRedis();
  // disconnectTimeout: a client closed while reconnecting to a dead server otherwise keeps a 2 s
  // timer, which would outlive the file.
  client = new Redis(server.url, { ...RECOMMENDED, disconnectTimeout: 50 });
  client.on('error', () => {});
  await until(() => client.status === 'ready', 'the client to connect');
});
afterEach(async () => {
  client.disconnect();
  await server.stop();
});

/** A memoized function over `client`, and the error codes its calls reported. */
function memoized() {
  const errors: MemoizeErrorCode[] = [];
  let runs = 0;
  const memoize = createMemoizer({
    client,
    keyPrefix: uniquePrefix('io-opts'),
    onError: (e) => errors.push(e.error.code),
  });
  const f = memoize(async function load(id: number) {
    runs++;
    return { id, run: runs };
  }, '1m');
  return { f, errors, runs: () => runs };
}

test('enableOfflineQueue: false: while Redis is down a command fails at once; calls get their function’s result', async () => {
  const { f, errors } = memoized();
  await server.kill();
  await until(() => client.status !== 'ready', 'the client to notice');
  const started = performance.now();
  await expect(client.get('x')).rejects.toThrow("Stream isn't writeable and enableOfflineQueue options is false");
  expect(performance.now() - started).toBeLessThan(50);
  expect(await f(1)).toEqual({ id: 1, run: 1 });
  expect(errors).toEqual(['E_UNAVAILABLE']);
});

test('maxRetriesPerRequest: 1: a command caught by the server’s death fails after one reconnection, not twenty', async () => {
  server.pause();
  const started = performance.now();
  const pending = client.get('x');
  pending.catch(() => {});
  await sleep(50);
  process.kill(server.pid as number, 'SIGKILL'); // dies while stopped: the command gets no answer
  await expect(pending).rejects.toThrow(/Reached the max retries per request limit \(which is 1\)/);
  expect(performance.now() - started).toBeLessThan(1000);
});

test('retryStrategy that never gives up, capped at 1 s: caching resumes soon after Redis restarts', async () => {
  const { f, runs } = memoized();
  await server.kill();
  await sleep(1500); // several attempts failed: the next one comes within the cap
  await server.restart();
  const restarted = performance.now();
  await until(() => client.status === 'ready', 'the client to reconnect', 3000);
  expect(performance.now() - restarted).toBeLessThan(1500);
  await f(1);
  await f(1);
  expect(runs()).toBe(1);
});

test('commandTimeout: 1000: a command to a server that stopped answering settles after 1 s instead of staying pending', async () => {
  const { f } = memoized();
  server.pause();
  try {
    const started = performance.now();
    const pending = client.get('x');
    pending.catch(() => {});
    expect(await f(1)).toEqual({ id: 1, run: 1 }); // the library's own deadline answers the call sooner
    await expect(pending).rejects.toThrow('Command timed out');
    const ms = performance.now() - started;
    expect(ms).toBeGreaterThanOrEqual(950);
    expect(ms).toBeLessThan(1500);
  } finally {
    server.resume();
  }
});

test('an error listener: without one, ioredis prints every connection error to stderr', async () => {
  // In a process of its own: jest's sandbox hides the errors from ioredis's `instanceof Error`.
  const port = await freePort();
  const script = (listen: boolean) =>
    "const Redis = require('ioredis');" +
    `const c = new Redis(${port}, '127.0.0.1', { retryStrategy: () => null });` +
    (listen ? "c.on('error', () => {});" : '') +
    "c.on('end', () => setTimeout(() => process.exit(0), 10));";
  const run = async (listen: boolean) =>
    (await exec(process.execPath, ['-e', script(listen)], { cwd: join(__dirname, '..') })).stderr;
  expect(await run(false)).toContain('[ioredis] Unhandled error event');
  expect(await run(true)).toBe('');
});
