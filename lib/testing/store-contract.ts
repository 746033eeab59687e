import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { functionKeyPrefix, valueKey } from '../key';
import type { Begin, Store } from '../stores/store';

/** The test functions the suite registers with: jest's, vitest's, mocha's or `node:test`'s. */
export interface ContractFramework {
  describe(name: string, body: () => void): unknown;
  test(name: string, body: () => Promise<void>): unknown;
  beforeEach(body: () => Promise<void> | void): unknown;
  afterEach(body: () => Promise<void> | void): unknown;
}

/** Options of {@link storeContract}. */
export interface StoreContractOptions {
  /**
   * The test functions. Give them unless your runner defines `describe`, `test`, `beforeEach` and
   * `afterEach` as globals (jest, vitest with `globals`, mocha).
   * @default the globals
   */
  framework?: ContractFramework;
  /** Called after each test with the store it used, say to close it. */
  dispose?: (store: Store) => Promise<void> | void;
}

const MINUTE = 60_000;

function globals(): ContractFramework {
  const g = globalThis as Partial<ContractFramework>;
  const { describe, test, beforeEach, afterEach } = g;
  if (
    typeof describe !== 'function' ||
    typeof test !== 'function' ||
    typeof beforeEach !== 'function' ||
    typeof afterEach !== 'function'
  ) {
    throw new TypeError(
      'storeContract: no describe/test/beforeEach/afterEach globals; pass options.framework, e.g. ' +
        "{ framework: { describe, test, beforeEach, afterEach } } from 'node:test'",
    );
  }
  return { describe, test, beforeEach, afterEach };
}

/** The token of a begin that must have created or found one. */
function tokenOf(begun: Begin): string {
  assert.equal(typeof begun.token, 'string', 'begin must hand out a token when there is no value');
  return begun.token as string;
}

/**
 * Registers the contract every {@link Store} keeps, as one `describe` block: generation tokens and
 * conditional writes, expiry, `deleteMatching`, and, where the store has them, compute locks with
 * release announcements and `waitFor`, and change tracking for the local tier. `MemoryStore` and
 * `RedisStore` pass it; run it against your own store.
 *
 * Assertions use `node:assert`, so the suite runs under any runner.
 *
 * @param name - the `describe` title
 * @param makeStore - a fresh store for each test (it may share a backend: keys are unique per test)
 * @example
 * ```ts
 * import { storeContract } from 'cache-memoize/testing';
 * storeContract('MyStore', () => new MyStore(connection));
 * ```
 */
export function storeContract(
  name: string,
  makeStore: () => Store | Promise<Store>,
  options: StoreContractOptions = {},
): void {
  const { describe, test, beforeEach, afterEach } = options.framework ?? globals();
  let store: Store;
  let prefix: string;
  let key: string;
  const entry = (digest: string) => valueKey(prefix, digest);
  const write = async (at: string, value: string, ttlMs = MINUTE) =>
    store.set({
      key: at,
      token: tokenOf(await store.begin({ key: at, tokenTtlMs: MINUTE })),
      value,
      ttlMs,
      tokenTtlMs: MINUTE,
    });

  describe(name, () => {
    beforeEach(async () => {
      store = await makeStore();
      prefix = functionKeyPrefix(`contract-${randomUUID().slice(0, 8)}`, 'fn');
      key = entry('digest');
    });
    afterEach(async () => {
      await options.dispose?.(store);
    });

    test('get of an absent entry is null or undefined', async () => {
      assert.equal((await store.get(key)) ?? null, null);
    });

    test('begin creates one token and hands the same one to every caller', async () => {
      const a = tokenOf(await store.begin({ key, tokenTtlMs: MINUTE }));
      const b = tokenOf(await store.begin({ key, tokenTtlMs: MINUTE }));
      assert.equal(b, a);
    });

    test('set with the current token writes; begin then returns the value', async () => {
      const token = tokenOf(await store.begin({ key, tokenTtlMs: MINUTE }));
      assert.equal(await store.set({ key, token, value: 'v1', ttlMs: MINUTE, tokenTtlMs: MINUTE }), true);
      assert.equal(await store.get(key), 'v1');
      assert.equal((await store.begin({ key, tokenTtlMs: MINUTE })).value, 'v1');
    });

    test('set with a wrong or missing token writes nothing', async () => {
      assert.equal(await store.set({ key, token: 'no-such', value: 'v', ttlMs: MINUTE, tokenTtlMs: MINUTE }), false);
      await store.begin({ key, tokenTtlMs: MINUTE });
      assert.equal(await store.set({ key, token: 'wrong', value: 'v', ttlMs: MINUTE, tokenTtlMs: MINUTE }), false);
      assert.equal((await store.get(key)) ?? null, null);
    });

    test('delete removes the value and the token: an older computation can no longer write', async () => {
      const token = tokenOf(await store.begin({ key, tokenTtlMs: MINUTE }));
      await store.set({ key, token, value: 'v1', ttlMs: MINUTE, tokenTtlMs: MINUTE });
      await store.delete(key);
      assert.equal((await store.get(key)) ?? null, null);
      assert.equal(await store.set({ key, token, value: 'stale', ttlMs: MINUTE, tokenTtlMs: MINUTE }), false);
      assert.notEqual(tokenOf(await store.begin({ key, tokenTtlMs: MINUTE })), token);
    });

    test('rotate deletes the value and replaces the token', async () => {
      const old = tokenOf(await store.begin({ key, tokenTtlMs: MINUTE }));
      await store.set({ key, token: old, value: 'v1', ttlMs: MINUTE, tokenTtlMs: MINUTE });
      const fresh = await store.rotate({ key, tokenTtlMs: MINUTE });
      assert.notEqual(fresh, old);
      assert.equal((await store.get(key)) ?? null, null);
      assert.equal(await store.set({ key, token: old, value: 'stale', ttlMs: MINUTE, tokenTtlMs: MINUTE }), false);
      assert.equal(await store.set({ key, token: fresh, value: 'v2', ttlMs: MINUTE, tokenTtlMs: MINUTE }), true);
      assert.equal(await store.get(key), 'v2');
    });

    test('values expire after their ttl', async () => {
      await write(key, 'short', 80);
      assert.equal(await store.get(key), 'short');
      await sleep(150);
      assert.equal((await store.get(key)) ?? null, null);
    });

    test('an expired token refuses the write', async () => {
      const token = tokenOf(await store.begin({ key, tokenTtlMs: 50 }));
      await sleep(120);
      assert.equal(await store.set({ key, token, value: 'late', ttlMs: MINUTE, tokenTtlMs: MINUTE }), false);
    });

    test('Infinity means no expiry', async () => {
      const forever = Number.POSITIVE_INFINITY;
      const token = tokenOf(await store.begin({ key, tokenTtlMs: forever }));
      await store.set({ key, token, value: 'forever', ttlMs: forever, tokenTtlMs: forever });
      await sleep(20);
      assert.equal(await store.get(key), 'forever');
    });

    test('deleteMatching removes every entry under the prefix (values and tokens) and nothing else', async () => {
      const other = valueKey(functionKeyPrefix(`other-${randomUUID().slice(0, 8)}`, 'fn'), 'x');
      const keys = Array.from({ length: 25 }, (_, i) => entry(`d${i}`));
      for (const k of [...keys, other]) await write(k, 'v');
      assert.equal(await store.deleteMatching({ prefix: `${prefix}{` }), 50);
      for (const k of keys) assert.equal((await store.get(k)) ?? null, null);
      assert.equal(await store.get(other), 'v');
    });

    test('deleteMatching treats glob characters in the prefix literally', async () => {
      const literal = functionKeyPrefix(`glob-${randomUUID().slice(0, 8)}*?[a]`, 'fn');
      const lookalike = literal.replace('*?[a]', 'xx');
      for (const p of [literal, lookalike]) await write(valueKey(p, '1'), 'v');
      await store.deleteMatching({ prefix: literal });
      assert.equal((await store.get(valueKey(literal, '1'))) ?? null, null);
      assert.equal(await store.get(valueKey(lookalike, '1')), 'v');
    });

    lockContract(
      test,
      () => store,
      () => key,
    );
    trackingContract(
      test,
      () => store,
      () => prefix,
      entry,
    );
  });
}

/** Locks, release announcements and `waitFor`: for stores that hand out locks (`locked` is set). */
function lockContract(test: ContractFramework['test'], store: () => Store, key: () => string): void {
  const lock = () => ({ token: randomUUID(), ttlMs: MINUTE });
  /** Whether the store has locks: without them, `locked` stays undefined and nothing else applies. */
  const hasLocks = async (): Promise<boolean> => {
    const begun = await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: lock() });
    if (begun.locked === undefined) return false;
    assert.equal(begun.locked, true, 'the first caller to ask for a free lock gets it');
    return true;
  };

  test('locks: one caller gets the lock; the others learn its holder', async () => {
    const first = lock();
    const a = await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: first });
    if (a.locked === undefined) return;
    assert.equal(a.locked, true);
    const b = await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: lock() });
    assert.equal(b.locked, false);
    assert.equal(b.holder, first.token);
    assert.equal(b.token, a.token);
  });

  test('locks: the write releases the writer’s lock; a wrong token releases nothing', async () => {
    const holder = lock();
    const begun = await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: holder });
    if (begun.locked === undefined) return;
    await store().release?.({ key: key(), lockToken: 'not-the-holder' });
    assert.equal((await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: lock() })).locked, false);
    const request = { key: key(), token: tokenOf(begun), value: 'v', ttlMs: MINUTE, tokenTtlMs: MINUTE };
    await store().set({ ...request, lockToken: holder.token });
    await store().delete(key());
    assert.equal((await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: lock() })).locked, true);
  });

  test('locks: release lets the lock go; rotate with a lock takes it over; delete removes it', async () => {
    const holder = lock();
    if (!(await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: holder })).locked) return;
    await store().release?.({ key: key(), lockToken: holder.token });
    const next = lock();
    assert.equal((await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: next })).locked, true);
    const refresher = lock();
    await store().rotate({ key: key(), tokenTtlMs: MINUTE, lock: refresher });
    assert.equal((await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: lock() })).holder, refresher.token);
    await store().delete(key());
    assert.equal((await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: lock() })).locked, true);
  });

  test('locks: a release that someone waits for is announced: waitFor resolves long before its timeout', async () => {
    const s = store();
    if (s.waitFor === undefined || !(await hasLocks())) return;
    const holder = lock();
    await s.delete(key());
    await s.begin({ key: key(), tokenTtlMs: MINUTE, lock: holder });
    const asked = performance.now();
    // A caller that finds the lock taken marks it as waited for, so that its release is announced.
    assert.equal((await s.begin({ key: key(), tokenTtlMs: MINUTE, lock: lock() })).locked, false);
    const waiting = s.waitFor({ key: key(), ms: 5000, since: asked });
    const started = performance.now();
    // Give a subscription that is still being set up time to be in place (the store prepares it).
    await sleep(200);
    await s.release?.({ key: key(), lockToken: holder.token });
    await waiting.promise;
    assert.ok(performance.now() - started < 2500, 'the release resolved the wait, not its timeout');
  });

  test('locks: waitFor times out without a release, and cancel resolves it at once', async () => {
    const s = store();
    if (s.waitFor === undefined) return;
    const started = performance.now();
    await s.waitFor({ key: key(), ms: 60 }).promise;
    assert.ok(performance.now() - started >= 50, 'waited for its timeout');
    const cancelled = s.waitFor({ key: key(), ms: 60_000 });
    cancelled.cancel();
    await cancelled.promise;
  });
}

/** Change tracking for the local tier: for stores that offer `tracking()`. */
function trackingContract(
  test: ContractFramework['test'],
  store: () => Store,
  prefix: () => string,
  entry: (digest: string) => string,
): void {
  test('tracking: every change of an entry under a watched prefix is delivered, and nothing else', async () => {
    const s = store();
    const tracking = s.tracking?.();
    if (tracking === undefined) return;
    const heard: Array<string | null> = [];
    const stop = tracking.watch(prefix(), (changed) => heard.push(changed));
    try {
      const deadline = performance.now() + 5000;
      while (!tracking.covers(prefix())) {
        assert.ok(performance.now() < deadline, 'tracking covers the prefix within 5 s');
        await sleep(10);
      }
      const k = entry('tracked');
      const token = tokenOf(await s.begin({ key: k, tokenTtlMs: MINUTE }));
      await s.set({ key: k, token, value: 'v', ttlMs: MINUTE, tokenTtlMs: MINUTE });
      await s.delete(k);
      const foreign = valueKey(functionKeyPrefix(`untracked-${randomUUID().slice(0, 8)}`, 'fn'), 'x');
      const other = tokenOf(await s.begin({ key: foreign, tokenTtlMs: MINUTE }));
      await s.set({ key: foreign, token: other, value: 'v', ttlMs: MINUTE, tokenTtlMs: MINUTE });
      const until = performance.now() + 2000;
      while (heard.filter((h) => h === k).length < 2 && performance.now() < until) await sleep(10);
      assert.ok(heard.filter((h) => h === k).length >= 2, 'the write and the delete were both delivered');
      assert.ok(!heard.includes(foreign), 'a change under another prefix is not delivered');
      assert.ok(
        heard.every((h) => h === null || h === k),
        'only value keys are delivered (not tokens, locks or waiters marks)',
      );
    } finally {
      stop();
    }
  });
}
