import { createClient, type RedisClientType } from 'redis';
import { createMemoizer } from '../lib';
import { type Monitor, monitor, type SentCommand } from './helpers/monitor';
import { until } from './helpers/redis';
import { type RedisServer, spawnRedis } from './helpers/redis-server';

// A function whose recent reads mostly missed reads with `begin` itself: the value if there is one,
// else the token and the lock in the same round trip, so a miss costs one round trip before `fn`
// (and the write after it) instead of two. A function whose reads mostly hit keeps the plain `GET`.
// The round trips are counted by the server (MONITOR, script-internal commands left out), on a
// server of this file's own.

let server: RedisServer;
let client: RedisClientType;
let watching: Monitor;
beforeAll(async () => {
  server = await spawnRedis();
  client = createClient({ url: server.url });
  client.on('error', () => {});
  await client.connect();
  watching = await monitor(server.url);
});
afterAll(async () => {
  watching?.stop();
  await client?.quit();
  await server?.stop();
});

let marks = 0;

/**
 * Where the monitor's record stands once everything sent so far reached it: MONITOR reports a
 * command after its reply may already have reached the client, so a marker command is sent and
 * waited for.
 */
async function caughtUp(): Promise<number> {
  const marker = `monitor-mark-${++marks}`;
  await client.exists(marker);
  await until(() => watching.sent.some((c) => c.args[0] === marker), 'the monitor caught up');
  return watching.sent.findIndex((c) => c.args[0] === marker) + 1;
}

/**
 * The round trips for keys under `prefix` while `work` ran, once those it left in flight landed:
 * `get`, or `script` for a script call (its first run in a process goes as `EVAL`, then `EVALSHA`).
 */
async function sentFor(prefix: string, work: () => Promise<unknown>, expected: number): Promise<string[]> {
  const mine = (c: SentCommand) => c.args.some((a) => a.startsWith(prefix));
  const from = await caughtUp();
  await work();
  // Writes and lock releases are not waited for by the callers: let them reach the monitor.
  await until(() => watching.sent.slice(from).filter(mine).length >= expected, `${expected} commands`);
  const to = await caughtUp();
  return watching.sent
    .slice(from, to)
    .filter(mine)
    .map((c) => (c.name === 'eval' || c.name === 'evalsha' ? 'script' : c.name));
}

function counted(keyPrefix: string) {
  let runs = 0;
  const memoize = createMemoizer({ client, keyPrefix });
  const f = memoize(
    async (id: number) => {
      runs++;
      return { id };
    },
    { name: 'lookup' },
  );
  return { f, runs: () => runs };
}

test('a function whose reads mostly miss: one round trip before fn, the write after', async () => {
  const { f, runs } = counted('adapt-miss');
  for (let id = 0; id < 20; id++) await f(id);
  const sent = await sentFor(
    'adapt-miss',
    async () => {
      for (let id = 100; id < 110; id++) await f(id);
    },
    20,
  );
  expect(runs()).toBe(30);
  // Each miss: begin (which answered "nothing here"), then the conditional write. No GET.
  expect(sent).toEqual(Array.from({ length: 20 }, () => 'script'));
});

test('a function whose reads mostly hit keeps the plain GET, for its hits and its rare misses', async () => {
  const { f, runs } = counted('adapt-hit');
  await f(1);
  for (let i = 0; i < 20; i++) await f(1);
  const sent = await sentFor(
    'adapt-hit',
    async () => {
      for (let i = 0; i < 5; i++) await f(1);
      await f(2);
    },
    8,
  );
  expect(runs()).toBe(2);
  expect(sent).toEqual(['get', 'get', 'get', 'get', 'get', 'get', 'script', 'script']);
});

test('a function that starts hitting goes back to the plain GET', async () => {
  const { f } = counted('adapt-back');
  for (let id = 0; id < 20; id++) await f(id);
  // Hits read with begin at first (one script call each), until the ratio falls below the line.
  for (let i = 0; i < 20; i++) await f(0);
  const sent = await sentFor(
    'adapt-back',
    async () => {
      for (let i = 0; i < 5; i++) await f(0);
    },
    5,
  );
  expect(sent).toEqual(['get', 'get', 'get', 'get', 'get']);
});
