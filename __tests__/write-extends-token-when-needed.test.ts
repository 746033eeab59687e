import { createMemoizer } from '../lib';
import { entryIndexKey, entryKeysOf, functionKeyPrefix } from '../lib/key';
import { type CountedServer, countedServer } from './helpers/command-stats';
import { uniquePrefix } from './helpers/redis';

// A miss's write extends the entry's token, and raises its score in the function's entry index, only
// when they need it. A token set less than half the index's pruning margin (30 s) ago, as its
// remaining life tells the write script, already reaches past the value's end by more than that
// margin, with its score (both are set together); an older one is extended, and the score with it.
// Counted by the server (INFO commandstats: the commands scripts run count too), on a server of this
// file's own.

let counted: CountedServer;
beforeAll(async () => {
  counted = await countedServer();
});
afterAll(async () => {
  await counted?.close();
});

/** The function's calls in `work`, once the writes their callers did not wait for have landed. */
function during(work: () => Promise<unknown>): Promise<Record<string, number>> {
  return counted.commandsDuring(async () => {
    await work();
    // Same connection, so everything the calls sent was answered before this.
    await counted.client.ping();
  });
}

test('misses whose begin just created the token write without extending it or touching the index again', async () => {
  const memoize = createMemoizer({ client: counted.client, keyPrefix: uniquePrefix('fresh'), ttl: '1h' });
  const f = memoize(async function entry(n: number) {
    return n;
  });
  const ran = await during(async () => {
    for (let n = 0; n < 10; n++) await f(n);
  });
  // Each begin created a token and indexed its entry: one ZADD per miss, none from the writes.
  expect(ran.zadd).toBe(10);
  expect(ran.pexpire).toBeUndefined();
  expect(ran.set).toBe(30); // per miss: token, lock, value
  for (let n = 0; n < 10; n++) expect(await f(n)).toBe(n);
});

test('a write under a token set more than 30 s ago extends it and raises the index score', async () => {
  const keyPrefix = uniquePrefix('kept');
  const memoize = createMemoizer({ client: counted.client, keyPrefix, ttl: '300ms' });
  let runs = 0;
  const f = memoize(async function entry(n: number) {
    runs++;
    return n;
  });
  await f(1);
  // The value expires; its token (which outlives any value by minutes) does not.
  await new Promise((resolve) => setTimeout(resolve, 400));
  const index = entryIndexKey(functionKeyPrefix(keyPrefix, 'entry'));
  const [key, tokenKey] = entryKeysOf(f.keyFor(1));
  // As if it had been set minutes ago: a minute left of its ten.
  await counted.client.pExpire(tokenKey, 60_000);
  const scoreBefore = Number(await counted.client.zScore(index, key));
  const tokenTtlBefore = await counted.client.pTTL(tokenKey);
  const ran = await during(() => f(1));
  expect(runs).toBe(2);
  expect(ran.pexpire).toBe(1);
  expect(ran.zadd).toBe(1);
  expect(Number(await counted.client.zScore(index, key))).toBeGreaterThan(scoreBefore);
  expect(await counted.client.pTTL(tokenKey)).toBeGreaterThan(tokenTtlBefore);
});

test('a token without expiry gets one when the function now stores values that expire', async () => {
  const memoize = createMemoizer({ client: counted.client, keyPrefix: uniquePrefix('persisted'), ttl: '300ms' });
  const f = memoize(async function entry(n: number) {
    return n;
  });
  await f(1);
  const [, tokenKey] = entryKeysOf(f.keyFor(1));
  // As a version whose values never expired left it.
  await counted.client.persist(tokenKey);
  await new Promise((resolve) => setTimeout(resolve, 400));
  const ran = await during(() => f(1));
  expect(ran.pexpire).toBe(1);
  expect(await counted.client.pTTL(tokenKey)).toBeGreaterThan(0);
});
