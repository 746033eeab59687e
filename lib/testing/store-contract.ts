import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { entriesPrefix, functionKeyPrefix, valueKey } from '../key';
import type { Store } from '../stores/store';
import { type ContractFramework, MINUTE, tokenOf } from './framework';
import { lockContract } from './lock-contract';
import { tagContract } from './tag-contract';
import { trackingContract } from './tracking-contract';

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
  /**
   * Whether the store hands out compute locks (and announces their releases): then it must pass
   * the lock cases. `false` leaves them out, for a store whose every missing process computes.
   * @default true
   */
  locks?: boolean;
  /**
   * Whether the store offers change tracking for the local tier: then it must pass the tracking
   * case. `false` leaves it out.
   * @default true
   */
  tracking?: boolean;
  /**
   * Whether the store implements tags (`getTagged`, `tagEpoch`, `invalidateTags`), which the `tags`
   * option needs: then it must pass the tag cases. `false` leaves them out.
   * @default true
   */
  tags?: boolean;
}

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

/**
 * Registers the contract every {@link Store} keeps, as one `describe` block: generation tokens and
 * conditional writes, expiry, `deleteMatching`, and, where the store has them, compute locks with
 * release announcements and `waitFor`, tags, and change tracking for the local tier. `MemoryStore` and
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
  const entry = (digest: string) => valueKey(prefix, digest);
  describe(name, () => {
    beforeEach(async () => {
      store = await makeStore();
      prefix = functionKeyPrefix(`contract-${randomUUID().slice(0, 8)}`, 'fn');
    });
    afterEach(async () => {
      if (store !== undefined) await options.dispose?.(store);
    });
    entryContract(
      test,
      () => store,
      () => prefix,
    );
    if (options.locks !== false)
      lockContract(
        test,
        () => store,
        () => entry('digest'),
      );
    if (options.tags !== false) tagContract(test, () => store, entry);
    if (options.tracking !== false)
      trackingContract(
        test,
        () => store,
        () => prefix,
        entry,
      );
  });
}

/** Tokens, conditional writes, expiry and `deleteMatching`: what every store keeps. */
function entryContract(test: ContractFramework['test'], current: () => Store, prefix: () => string): void {
  const entry = (digest: string) => valueKey(prefix(), digest);
  let store: Store;
  let key: string;
  const write = async (at: string, value: string, ttlMs = MINUTE) =>
    store.set({
      key: at,
      token: tokenOf(await store.begin({ key: at, tokenTtlMs: MINUTE })),
      value,
      ttlMs,
      tokenTtlMs: MINUTE,
    });
  // Each test takes the current test's store and key first.
  const it = (title: string, body: () => Promise<void>) =>
    test(title, async () => {
      store = current();
      key = entry('digest');
      await body();
    });

  it('get of an absent entry is null or undefined', async () => {
    assert.equal((await store.get(key)) ?? null, null);
  });

  it('begin creates one token and hands the same one to every caller', async () => {
    const a = tokenOf(await store.begin({ key, tokenTtlMs: MINUTE }));
    const b = tokenOf(await store.begin({ key, tokenTtlMs: MINUTE }));
    assert.equal(b, a);
  });

  it('set with the current token writes; begin then returns the value', async () => {
    const token = tokenOf(await store.begin({ key, tokenTtlMs: MINUTE }));
    assert.equal(await store.set({ key, token, value: 'v1', ttlMs: MINUTE, tokenTtlMs: MINUTE }), true);
    assert.equal(await store.get(key), 'v1');
    assert.equal((await store.begin({ key, tokenTtlMs: MINUTE })).value, 'v1');
  });

  it('set with a wrong or missing token writes nothing', async () => {
    assert.equal(await store.set({ key, token: 'no-such', value: 'v', ttlMs: MINUTE, tokenTtlMs: MINUTE }), false);
    await store.begin({ key, tokenTtlMs: MINUTE });
    assert.equal(await store.set({ key, token: 'wrong', value: 'v', ttlMs: MINUTE, tokenTtlMs: MINUTE }), false);
    assert.equal((await store.get(key)) ?? null, null);
  });

  it('delete removes the value and the token: an older computation can no longer write', async () => {
    const token = tokenOf(await store.begin({ key, tokenTtlMs: MINUTE }));
    await store.set({ key, token, value: 'v1', ttlMs: MINUTE, tokenTtlMs: MINUTE });
    await store.delete(key);
    assert.equal((await store.get(key)) ?? null, null);
    assert.equal(await store.set({ key, token, value: 'stale', ttlMs: MINUTE, tokenTtlMs: MINUTE }), false);
    assert.notEqual(tokenOf(await store.begin({ key, tokenTtlMs: MINUTE })), token);
  });

  it('rotate deletes the value and replaces the token', async () => {
    const old = tokenOf(await store.begin({ key, tokenTtlMs: MINUTE }));
    await store.set({ key, token: old, value: 'v1', ttlMs: MINUTE, tokenTtlMs: MINUTE });
    const fresh = await store.rotate({ key, tokenTtlMs: MINUTE });
    assert.notEqual(fresh, old);
    assert.equal((await store.get(key)) ?? null, null);
    assert.equal(await store.set({ key, token: old, value: 'stale', ttlMs: MINUTE, tokenTtlMs: MINUTE }), false);
    assert.equal(await store.set({ key, token: fresh, value: 'v2', ttlMs: MINUTE, tokenTtlMs: MINUTE }), true);
    assert.equal(await store.get(key), 'v2');
  });

  it('values expire after their ttl', async () => {
    await write(key, 'short', 80);
    assert.equal(await store.get(key), 'short');
    await sleep(150);
    assert.equal((await store.get(key)) ?? null, null);
  });

  it('an expired token refuses the write', async () => {
    const token = tokenOf(await store.begin({ key, tokenTtlMs: 50 }));
    await sleep(120);
    assert.equal(await store.set({ key, token, value: 'late', ttlMs: MINUTE, tokenTtlMs: MINUTE }), false);
  });

  it('Infinity means no expiry', async () => {
    const forever = Number.POSITIVE_INFINITY;
    const token = tokenOf(await store.begin({ key, tokenTtlMs: forever }));
    await store.set({ key, token, value: 'forever', ttlMs: forever, tokenTtlMs: forever });
    await sleep(20);
    assert.equal(await store.get(key), 'forever');
  });

  it('deleteMatching removes every entry under the prefix (values and tokens) and nothing else', async () => {
    const other = valueKey(functionKeyPrefix(`other-${randomUUID().slice(0, 8)}`, 'fn'), 'x');
    const keys = Array.from({ length: 25 }, (_, i) => entry(`d${i}`));
    for (const k of [...keys, other]) await write(k, 'v');
    assert.equal(await store.deleteMatching({ prefix: entriesPrefix(prefix()) }), 50);
    for (const k of keys) assert.equal((await store.get(k)) ?? null, null);
    assert.equal(await store.get(other), 'v');
  });

  it('deleteMatching treats glob characters in the prefix literally', async () => {
    const literal = functionKeyPrefix(`glob-${randomUUID().slice(0, 8)}*?[a]`, 'fn');
    const lookalike = literal.replace('*?[a]', 'xx');
    for (const p of [literal, lookalike]) await write(valueKey(p, '1'), 'v');
    await store.deleteMatching({ prefix: literal });
    assert.equal((await store.get(valueKey(literal, '1'))) ?? null, null);
    assert.equal(await store.get(valueKey(lookalike, '1')), 'v');
  });
}
