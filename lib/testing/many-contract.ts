import assert from 'node:assert/strict';
import type { Store } from '../stores/store';
import { type ContractFramework, MINUTE, tokenOf } from './framework';

/** Batched reads (`getMany`, which `f.many` uses): for stores that offer it. */
export function manyContract(
  test: ContractFramework['test'],
  store: () => Store,
  entry: (digest: string) => string,
): void {
  const write = async (s: Store, key: string, value: string, ttlMs = MINUTE) =>
    s.set({ key, token: tokenOf(await s.begin({ key, tokenTtlMs: MINUTE })), value, ttlMs, tokenTtlMs: MINUTE });
  const none = (value: string | null | undefined) => value ?? null;

  test('getMany: the values of many entries in the order asked, nothing where there is none', async () => {
    const s = store();
    assert.ok(s.getMany !== undefined, 'the store reads entries together (or pass { getMany: false })');
    // Many digests: on a cluster they fall in many slots, on every master.
    const keys = Array.from({ length: 40 }, (_, i) => entry(`many-${i}`));
    for (const [i, key] of keys.entries()) if (i % 3 !== 1) await write(s, key, `v${i}`);
    const asked = [...keys].reverse();
    const values = await s.getMany({ keys: asked });
    assert.equal(values.length, asked.length);
    assert.deepEqual(
      values.map(none),
      asked.map((key) => {
        const i = keys.indexOf(key);
        return i % 3 === 1 ? null : `v${i}`;
      }),
    );
    assert.deepEqual((await s.getMany({ keys: [keys[0] as string] })).map(none), ['v0']);
  });

  test('getMany: an expired or deleted entry is absent; a token or lock is never read as a value', async () => {
    const s = store();
    assert.ok(s.getMany !== undefined, 'the store reads entries together (or pass { getMany: false })');
    const [short, deleted, begun, kept] = ['short', 'deleted', 'begun', 'kept'].map(entry) as [
      string,
      string,
      string,
      string,
    ];
    await write(s, short, 'short', 50);
    await write(s, deleted, 'deleted');
    await s.delete(deleted);
    await s.begin({ key: begun, tokenTtlMs: MINUTE, lock: { token: 'holder', ttlMs: MINUTE } });
    await write(s, kept, 'kept');
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.deepEqual((await s.getMany({ keys: [short, deleted, begun, kept] })).map(none), [null, null, null, 'kept']);
  });
}
