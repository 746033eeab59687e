import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Store } from '../stores/store';
import { type ContractFramework, MINUTE, tokenOf } from './framework';

/**
 * Tags: stamps, the validity rule and `invalidateTags`, for stores that implement `getTagged`,
 * `tagEpoch` and `invalidateTags` (the `tags` option needs them).
 */
export function tagContract(
  test: ContractFramework['test'],
  store: () => Store,
  entry: (digest: string) => string,
): void {
  // Tags are shared by the whole store: each test names its own.
  const run = randomUUID().slice(0, 8);
  const tag = (name: string) => `contract-${run}:${name}`;
  const tagged = (s: Store) => s as Required<Pick<Store, 'getTagged' | 'tagEpoch' | 'invalidateTags'>> & Store;
  /** Begins (reading the epoch first, as the library does), then writes `value` with `tags`. */
  const writeTagged = async (key: string, value: string, tags: string[], epoch?: string) => {
    const s = tagged(store());
    const read = epoch ?? (await s.tagEpoch());
    const token = tokenOf(await s.begin({ key, tokenTtlMs: MINUTE, tagged: true }));
    return s.set({ key, token, value, ttlMs: MINUTE, tokenTtlMs: MINUTE, stamp: { epoch: read, tags } });
  };

  test('tags: a tagged write is read back with its tags, and get still reads its value', async () => {
    const s = tagged(store());
    const key = entry('tagged');
    assert.equal(await writeTagged(key, 'v', [tag('a'), tag('b')]), true);
    const found = await s.getTagged(key);
    assert.equal(found?.value, 'v');
    assert.deepEqual([...(found?.tags ?? [])].sort(), [tag('a'), tag('b')].sort());
    assert.equal(await s.get(key), 'v');
  });

  test('tags: invalidateTags invalidates the entries carrying a tag, and only those', async () => {
    const s = tagged(store());
    await writeTagged(entry('one'), '1', [tag('a'), tag('b')]);
    await writeTagged(entry('two'), '2', [tag('c')]);
    await s.invalidateTags({ tags: [tag('b')] });
    assert.equal((await s.getTagged(entry('one'))) ?? null, null);
    assert.equal((await s.getTagged(entry('two')))?.value, '2');
    const begun = await s.begin({ key: entry('one'), tokenTtlMs: MINUTE, tagged: true });
    assert.equal(begun.value, undefined, 'begin treats an invalidated tagged value as missing');
    const landed = await s.begin({ key: entry('two'), tokenTtlMs: MINUTE, tagged: true });
    assert.equal(landed.value, '2');
    assert.deepEqual(landed.tags, [tag('c')]);
  });

  test('tags: a value stamped with an epoch read before invalidateTags and written after it is invalid', async () => {
    const s = tagged(store());
    const before = await s.tagEpoch();
    await s.invalidateTags({ tags: [tag('late')] });
    assert.equal(await writeTagged(entry('late'), 'old', [tag('late')], before), true);
    assert.equal((await s.getTagged(entry('late'))) ?? null, null);
    // Its tag was never written before: a stamp older than any invalidation of it is invalid too.
    await s.invalidateTags({ tags: [tag('other')] });
    const fresh = await s.tagEpoch();
    await writeTagged(entry('new'), 'new', [tag('late')], fresh);
    assert.equal((await s.getTagged(entry('new')))?.value, 'new');
  });

  test('tags: an untagged write of the entry leaves no stamp, so a tagged read finds nothing', async () => {
    const s = tagged(store());
    const key = entry('untagged');
    await writeTagged(key, 'tagged', [tag('a')]);
    const token = tokenOf(await s.begin({ key, tokenTtlMs: MINUTE, ignoreValue: true }));
    await s.set({ key, token, value: 'plain', ttlMs: MINUTE, tokenTtlMs: MINUTE });
    assert.equal((await s.getTagged(key)) ?? null, null);
    assert.equal(await s.get(key), 'plain');
  });

  test('tags: delete and rotate remove the stamp with the value', async () => {
    const s = tagged(store());
    await writeTagged(entry('deleted'), 'v', [tag('a')]);
    await s.delete(entry('deleted'));
    assert.equal((await s.getTagged(entry('deleted'))) ?? null, null);
    await writeTagged(entry('rotated'), 'v', [tag('a')]);
    await s.rotate({ key: entry('rotated'), tokenTtlMs: MINUTE });
    assert.equal((await s.getTagged(entry('rotated'))) ?? null, null);
  });
}
