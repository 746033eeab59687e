import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../stores/store';
import { type ContractFramework, MINUTE, tokenOf } from './framework';

/** Locks, release announcements and `waitFor`: for stores that hand out locks. */
export function lockContract(test: ContractFramework['test'], store: () => Store, key: () => string): void {
  const lock = () => ({ token: randomUUID(), ttlMs: MINUTE });

  test('locks: one caller gets the lock; the others learn its holder', async () => {
    const first = lock();
    const a = await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: first });
    assert.equal(a.locked, true, 'the first caller to ask for a free lock gets it (or pass { locks: false })');
    const b = await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: lock() });
    assert.equal(b.locked, false);
    assert.equal(b.holder, first.token);
    assert.equal(b.token, a.token);
  });

  // The library reads a function whose reads mostly miss with begin itself: a hit must leave the lock.
  test('locks: begin with a lock answers a stored value and leaves the lock free', async () => {
    const holder = lock();
    const begun = await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: holder });
    const request = { key: key(), token: tokenOf(begun), value: 'v', ttlMs: MINUTE, tokenTtlMs: MINUTE };
    assert.equal(await store().set({ ...request, lockToken: holder.token }), true);
    assert.equal((await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: lock() })).value, 'v');
    // The value gone, the next lock request finds the lock free: the read above did not take it.
    await store().rotate({ key: key(), tokenTtlMs: MINUTE });
    assert.equal((await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: lock() })).locked, true);
  });

  test('locks: the write releases the writer’s lock; a wrong token releases nothing', async () => {
    const holder = lock();
    const begun = await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: holder });
    assert.equal(begun.locked, true);
    await store().release?.({ key: key(), lockToken: 'not-the-holder' });
    assert.equal((await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: lock() })).locked, false);
    const request = { key: key(), token: tokenOf(begun), value: 'v', ttlMs: MINUTE, tokenTtlMs: MINUTE };
    await store().set({ ...request, lockToken: holder.token });
    await store().delete(key());
    assert.equal((await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: lock() })).locked, true);
  });

  test('locks: release lets the lock go; rotate with a lock takes it over; delete removes it', async () => {
    const holder = lock();
    assert.equal((await store().begin({ key: key(), tokenTtlMs: MINUTE, lock: holder })).locked, true);
    assert.equal(typeof store().release, 'function', 'a store with locks can release them');
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
    assert.ok(s.waitFor !== undefined, 'a store with locks lets callers wait for releases');
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
    assert.ok(s.waitFor !== undefined, 'a store with locks lets callers wait for releases');
    const started = performance.now();
    await s.waitFor({ key: key(), ms: 60 }).promise;
    assert.ok(performance.now() - started >= 50, 'waited for its timeout');
    const cancelled = s.waitFor({ key: key(), ms: 60_000 });
    cancelled.cancel();
    await cancelled.promise;
  });
}
