import { MemoizeError } from '../errors';
import type { Store, TagStamp } from '../stores/store';
import { parseTagList, TAG_RULE } from '../tag-list';
import type { Call, Runtime } from './runtime';

// The caller side of tags: whether a store has them, and the stamp a tagged result is written with.
// The rule that makes tags race-safe (an entry is valid while none of its tags was invalidated after
// its computation began) is the store's; see docs/tags.md.

/** Whether `store` implements what the `tags` option needs. */
export function supportsTags(store: Store): boolean {
  return (
    typeof store.getTagged === 'function' &&
    typeof store.tagEpoch === 'function' &&
    typeof store.invalidateTags === 'function'
  );
}

/** The error of a tagged function over a store without tags; its results are returned, not stored. */
export function noTagsError(name: string): MemoizeError {
  return new MemoizeError(
    'E_NO_TAGS',
    `cache-memoize: ${name} has tags, but its store does not implement getTagged, tagEpoch and invalidateTags; ` +
      'its results are returned and not stored (use RedisStore or MemoryStore, or add them to your store)',
  );
}

/**
 * The stamp to write `result` with: the epoch its computation began at and its tags; `undefined` to
 * write it untagged (the function has no tags). `null` when it must not be written: the tags option
 * threw or gave something that is not a tag list (reported as `E_BAD_TAGS`), or no epoch was read
 * before the computation began.
 */
export function stampFor<A extends unknown[], R>(
  rt: Runtime<A, R>,
  call: Call<R>,
  result: R,
): TagStamp | undefined | null {
  const { tags, name } = rt.settings;
  if (tags === undefined) return undefined;
  const epoch = call.tagEpoch;
  if (epoch === undefined) return null;
  if (typeof tags !== 'function') return { epoch, tags: tags as readonly string[] };
  let problem: string;
  let cause: unknown;
  try {
    const parsed = parseTagList((tags as (result: R, ...args: readonly unknown[]) => unknown)(result, ...call.args));
    if ('tags' in parsed) return { epoch, tags: parsed.tags };
    problem = `it must return ${TAG_RULE}; ${parsed.problem}`;
  } catch (error) {
    problem = 'it threw';
    cause = error;
  }
  rt.report(
    new MemoizeError(
      'E_BAD_TAGS',
      `cache-memoize: the tags of ${name} were not used (${problem}); the result was returned, not stored`,
      {
        cause,
      },
    ),
    call,
  );
  return null;
}

/**
 * The stamp a tagged function's cached error is written with: the epoch its computation began at,
 * and the fixed `tags` list; a tags function (which reads a result) gives an error no tags, so only
 * `invalidate`, `invalidateAll` and its `errorTtl` end it. `undefined` for an untagged function;
 * `null` when no epoch was read before the computation began (it is then not written).
 */
export function errorStampFor<A extends unknown[], R>(rt: Runtime<A, R>, call: Call<R>): TagStamp | undefined | null {
  const { tags } = rt.settings;
  if (tags === undefined) return undefined;
  const epoch = call.tagEpoch;
  if (epoch === undefined) return null;
  return { epoch, tags: typeof tags === 'function' ? [] : (tags as readonly string[]) };
}
