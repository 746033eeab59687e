import { asStoreError, MemoizeError } from '../errors';
import { StoreGuard } from '../guard';
import type { StoreSettings } from '../settings';
import type { Store } from '../stores/store';
import { parseTagList, TAG_RULE } from '../tag-list';
import type { LocalTier } from './local-tier';
import { supportsTags } from './tagging';

/**
 * `invalidateTags`: every entry carrying one of `tags`, of every function over `store`, in every
 * process, stops being readable once it resolves. The store increments the tag epoch and records
 * it on each tag (see docs/tags.md); the local tiers of this process forget the tags' values before
 * and after the store answered, so a read in flight meanwhile is not kept either (other processes'
 * tiers hear the tag keys change). Each round trip is under the deadline; an open circuit does not
 * hold it back.
 *
 * @throws TypeError when `tags` is not a list of valid tags.
 * @throws MemoizeError `E_NO_TAGS` for a store without tags; a `StoreError` when the store did not
 * confirm (then the tags may or may not be invalidated).
 */
export async function invalidateTags(
  store: Store,
  settings: StoreSettings,
  tiers: () => Iterable<LocalTier>,
  tags: unknown,
): Promise<void> {
  const parsed = parseTagList(tags);
  if ('problem' in parsed) {
    throw new TypeError(`cache-memoize: invalidateTags(tags): tags must be ${TAG_RULE}; ${parsed.problem}`);
  }
  if (!supportsTags(store)) {
    throw new MemoizeError(
      'E_NO_TAGS',
      'cache-memoize: invalidateTags needs a store with tags (getTagged, tagEpoch, invalidateTags); use RedisStore ' +
        'or MemoryStore, or add them to your store',
    );
  }
  const forget = () => {
    for (const tier of tiers()) tier.forgetTags(parsed.tags);
  };
  forget();
  const guard = new StoreGuard(store, settings);
  try {
    const refusal = guard.explicitRefusal('invalidateTags');
    if (refusal !== undefined) throw refusal;
    const request = { tags: parsed.tags, bound: guard.bound('invalidateTags') };
    await (store.invalidateTags as NonNullable<Store['invalidateTags']>).call(store, request);
  } catch (error) {
    throw error instanceof MemoizeError ? error : asStoreError('invalidateTags', error);
  } finally {
    forget();
  }
}
