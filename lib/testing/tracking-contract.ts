import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { functionKeyPrefix, tokenKeyOf, valueKey } from '../key';
import type { Store } from '../stores/store';
import { type ContractFramework, MINUTE, tokenOf } from './framework';

/** Change tracking for the local tier: for stores that offer `tracking()`. */
export function trackingContract(
  test: ContractFramework['test'],
  store: () => Store,
  prefix: () => string,
  entry: (digest: string) => string,
): void {
  // A tracking with `read` delivers the changes of the keys read through it; one without, every change
  // under the watched prefix.
  test('tracking: every change of an entry under a watched prefix is delivered, and nothing else', async () => {
    const s = store();
    const tracking = s.tracking?.();
    assert.ok(tracking !== undefined, 'the store offers tracking (or pass { tracking: false })');
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
      const foreign = valueKey(functionKeyPrefix(`untracked-${randomUUID().slice(0, 8)}`, 'fn'), 'x');
      if (tracking.read !== undefined) {
        // The write came before any read, so only the delete is the key's change to hear. The entry's
        // token and a key under another prefix are read too: their changes must not reach the watcher.
        assert.equal(await tracking.read(k), 'v', 'read returns the stored value');
        await tracking.read(tokenKeyOf(k));
        assert.equal(await tracking.read(foreign), null, 'read returns null for a missing key');
      }
      const unread = entry('never-read');
      const third = tokenOf(await s.begin({ key: unread, tokenTtlMs: MINUTE }));
      await s.set({ key: unread, token: third, value: 'v', ttlMs: MINUTE, tokenTtlMs: MINUTE });
      const other = tokenOf(await s.begin({ key: foreign, tokenTtlMs: MINUTE }));
      await s.set({ key: foreign, token: other, value: 'v', ttlMs: MINUTE, tokenTtlMs: MINUTE });
      await s.delete(k);
      const expected = tracking.read === undefined ? 2 : 1;
      const until = performance.now() + 2000;
      while (heard.filter((h) => h === k).length < expected && performance.now() < until) await sleep(10);
      assert.ok(
        heard.filter((h) => h === k).length >= expected,
        tracking.read === undefined ? 'the write and the delete were both delivered' : 'the delete was delivered',
      );
      if (tracking.read !== undefined) {
        // The delete was the last change made: anything pushed for the earlier ones is here by now.
        assert.ok(!heard.includes(unread), 'a change of a key never read through `read` is not delivered');
      }
      assert.ok(!heard.includes(foreign), 'a change under another prefix is not delivered');
      assert.ok(
        heard.every((h) => h === null || h === k || h === unread),
        'only value keys are delivered (not tokens, locks or waiters marks)',
      );
    } finally {
      stop();
    }
  });
}
