import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClientType } from 'redis';
import { createMemoizer, type MemoizeError } from '../lib';
import { pausableServer } from './helpers/pausable-server';
import { connect } from './helpers/redis';

// A call whose begin or write is lost to a paused Redis also lets go of the lock that operation may
// have taken. That release fails for the same outage: the breaker must not count it a second time
// (which would open the circuit after half the failures the user asked for), and onError hears of
// the outage once per call. Against a redis-server of this file's own, paused with SIGSTOP.

const own = pausableServer();
const TIMEOUT_MS = 200;
/** Long enough for a clean-up release sent at a timeout to time out itself. */
const SETTLED_MS = 2 * TIMEOUT_MS;
// Each test waits out several deadlines: room for a loaded machine.
jest.setTimeout(20_000);

// Each test has a client of its own: a circuit belongs to its client, and one test opens it.
let client: RedisClientType;
beforeEach(async () => {
  client = await connect(own.server.url);
});
afterEach(() => client.destroy());

function memoizerWith(failures: number, keyPrefix: string) {
  const errors: MemoizeError[] = [];
  const memoize = createMemoizer({
    client,
    keyPrefix,
    timeout: TIMEOUT_MS,
    circuitBreaker: { failures, coolDown: '10s' },
    onError: ({ error }) => errors.push(error),
  });
  return { memoize, errors };
}

const summary = (errors: MemoizeError[]) => errors.map((error) => `${error.code} ${error.message}`);

/**
 * Ten misses (fresh arguments: the function's reads then mostly miss, so each read is the store's
 * begin), then more until one passes with its write answered and no error. The suite on 2 cores can
 * make an operation miss a short deadline here; a later success resets the breaker's count, and
 * the errors of the warm-up are not what the tests count, so they are dropped.
 */
async function warmUp(f: (n: number) => Promise<number>, errors: MemoizeError[]): Promise<void> {
  for (let n = 0; n < 10; n++) await f(n);
  for (let n = 10; ; n++) {
    const before = errors.length;
    await f(n);
    // A miss returns once its write is sent: let it be answered.
    await sleep(50);
    if (errors.length === before) break;
    if (n > 30) throw new Error(`the store kept failing during the warm-up: ${summary(errors).join('; ')}`);
  }
  errors.length = 0;
}

test('a lost read that began the entry counts once: the circuit opens after `failures` calls', async () => {
  const { memoize, errors } = memoizerWith(3, 'once-begin');
  const f = memoize(async function square(n: number) {
    return n * n;
  });
  await warmUp(f, errors);

  own.server.pause();
  for (const n of [100, 101]) {
    expect(await f(n)).toBe(n * n);
    await sleep(SETTLED_MS);
  }
  // Two calls, two failures of three: the third call still asks the store.
  expect(await f(102)).toBe(102 * 102);
  await sleep(SETTLED_MS);
  expect(summary(errors)).toEqual([
    `E_TIMEOUT cache-memoize: store read did not answer within ${TIMEOUT_MS} ms`,
    `E_TIMEOUT cache-memoize: store read did not answer within ${TIMEOUT_MS} ms`,
    `E_TIMEOUT cache-memoize: store read did not answer within ${TIMEOUT_MS} ms`,
  ]);
  // That third failure opened it.
  expect(await f(103)).toBe(103 * 103);
  expect(errors.at(-1)?.code).toBe('E_CIRCUIT_OPEN');
});

test('a write that is lost counts once: its lock release does not open the circuit', async () => {
  const { memoize, errors } = memoizerWith(2, 'once-write');
  let pauseOnRun = false;
  const f = memoize(async function cube(n: number) {
    if (pauseOnRun) own.server.pause();
    return n * n * n;
  });
  await warmUp(f, errors);

  // The store began the entry (and gave this call its lock); the server stops while it computes.
  pauseOnRun = true;
  expect(await f(999)).toBe(999 ** 3);
  pauseOnRun = false;
  await sleep(SETTLED_MS);
  expect(summary(errors)).toEqual([`E_TIMEOUT cache-memoize: store write did not answer within ${TIMEOUT_MS} ms`]);
  // One failure of two: the next call still asks the store (and is its second failure).
  expect(await f(1000)).toBe(1000 ** 3);
  expect(errors.map((error) => error.code)).toEqual(['E_TIMEOUT', 'E_TIMEOUT']);
  expect(errors[1]?.message).not.toContain('skipped');
});

test('after the outage, the locks the lost operations took are let go', async () => {
  const { memoize, errors } = memoizerWith(100, 'once-after');
  let runs = 0;
  const f = memoize(
    async function double(n: number) {
      runs++;
      return 2 * n;
    },
    { lockTtl: '1h' },
  );
  await warmUp(f, errors);
  own.server.pause();
  expect(await f(100)).toBe(200);
  own.server.resume();
  await sleep(SETTLED_MS);
  // The begin that timed out took the lock when the server woke; its release, sent at the timeout,
  // reached the server behind it. Otherwise this call would wait for a lock of an hour.
  const before = runs;
  expect(await f(100)).toBe(200);
  expect(runs).toBe(before + 1);
  expect(summary(errors)).toEqual([`E_TIMEOUT cache-memoize: store read did not answer within ${TIMEOUT_MS} ms`]);
});
