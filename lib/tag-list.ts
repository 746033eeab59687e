import { describe } from './option-values';

// What a tag is, checked in one place: the `tags` option (a fixed list at `memoize()`, a function's
// output after each computation) and the argument of `invalidateTags`.

/** The longest tag, in UTF-16 code units. */
export const MAX_TAG_LENGTH = 200;

/** The rule, as messages state it. */
export const TAG_RULE = `an array of non-empty, well-formed strings (no lone surrogates) of at most ${MAX_TAG_LENGTH} characters`;

/**
 * `value` as a frozen list of distinct tags, or the reason it is not one (a message fragment naming
 * the offending element).
 */
export function parseTagList(value: unknown): { tags: readonly string[] } | { problem: string } {
  if (!Array.isArray(value)) return { problem: `got ${describe(value)}` };
  for (let i = 0; i < value.length; i++) {
    const tag: unknown = value[i];
    if (typeof tag !== 'string' || tag.length === 0 || tag.length > MAX_TAG_LENGTH || !tag.isWellFormed()) {
      return { problem: `element ${i} is ${describe(tag)}` };
    }
  }
  return { tags: Object.freeze([...new Set(value as string[])]) };
}
