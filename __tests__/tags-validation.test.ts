import { MemoizeError } from '../lib/errors';
import { createMemoizer } from '../lib/memoizer';
import type { ErrorEvent } from '../lib/options';
import { MemoryStore } from '../lib/stores/memory';
import type { Store } from '../lib/stores/store';

// What a tag is: a fixed list is checked at memoize(), a function's output after each computation
// (reported, the result returned and not stored), invalidateTags' argument when it is called; and a
// store without tags is refused.

const LONG = 'x'.repeat(201);
const LONE_SURROGATE = 'a\uD800b';

describe('the tags option', () => {
  const memoize = createMemoizer({ store: new MemoryStore() });

  test.each<[string, unknown]>([
    ['a string', 'kw:redis'],
    ['an empty tag', ['ok', '']],
    ['a tag over 200 characters', [LONG]],
    ['a lone surrogate', [LONE_SURROGATE]],
    ['a number', [1]],
    ['an object', { tags: [] }],
  ])('a fixed list with %s is a TypeError naming the option', (_label, tags) => {
    expect(() => memoize(async function f() {}, { tags: tags as string[] })).toThrow(
      expect.objectContaining({ name: 'TypeError', message: expect.stringContaining('tags of f') }),
    );
  });

  test('200 characters, any well-formed text, and an empty list are accepted', () => {
    expect(() => memoize(async function g() {}, { tags: ['x'.repeat(200), 'kw:é 🙂 {a}', 'a'] })).not.toThrow();
    expect(() => memoize(async function h() {}, { tags: [] })).not.toThrow();
  });

  test.each<[string, (result: number) => unknown]>([
    ['returns a non-list', () => 'kw'],
    ['returns a bad tag', () => ['ok', LONG]],
    ['returns a lone surrogate', () => [LONE_SURROGATE]],
    [
      'throws',
      () => {
        throw new Error('no tags');
      },
    ],
  ])('a tags function that %s is reported as E_BAD_TAGS; the result is returned, not stored', async (_l, tags) => {
    const errors: ErrorEvent[] = [];
    let runs = 0;
    const f = createMemoizer({ store: new MemoryStore(), onError: (e) => errors.push(e) })(
      async function computed() {
        runs++;
        return runs;
      },
      { tags: tags as (result: number) => string[] },
    );
    expect(await f()).toBe(1);
    expect(await f()).toBe(2);
    expect(errors.map((e) => e.error.code)).toEqual(['E_BAD_TAGS', 'E_BAD_TAGS']);
    expect(errors[0]?.error).toBeInstanceOf(MemoizeError);
  });
});

describe('invalidateTags', () => {
  const memoize = createMemoizer({ store: new MemoryStore() });

  test.each<[string, unknown]>([
    ['a string', 'kw:redis'],
    ['undefined', undefined],
    ['an empty tag', ['']],
    ['a tag over 200 characters', [LONG]],
    ['a lone surrogate', [LONE_SURROGATE]],
  ])('with %s is a TypeError naming the argument', async (_label, tags) => {
    await expect(memoize.invalidateTags(tags as string[])).rejects.toThrow(
      expect.objectContaining({ name: 'TypeError', message: expect.stringContaining('invalidateTags(tags)') }),
    );
  });
});

describe('a store without tags', () => {
  /** A store with everything but tags. */
  function untagged(): Store {
    const inner = new MemoryStore();
    return {
      get: (k) => inner.get(k),
      begin: (r) => inner.begin(r),
      set: (r) => inner.set(r),
      delete: (k) => inner.delete(k),
      rotate: (r) => inner.rotate(r),
      deleteMatching: (r) => inner.deleteMatching(r),
    };
  }

  test('is refused at memoize() when the function has tags', () => {
    const memoize = createMemoizer({ store: untagged() });
    expect(() => memoize(async function f() {}, { tags: ['a'] })).toThrow(/has tags, but its store/);
    expect(() => memoize(async function g() {})).not.toThrow();
  });

  test('configured later: calls report E_NO_TAGS and compute without it; invalidateTags rejects', async () => {
    const errors: ErrorEvent[] = [];
    const memoize = createMemoizer({ onError: (e) => errors.push(e) });
    let runs = 0;
    const f = memoize(
      async function late() {
        return ++runs;
      },
      { tags: ['a'] },
    );
    memoize.configure({ store: untagged() });
    expect(await f()).toBe(1);
    expect(await f()).toBe(2);
    expect(errors.map((e) => e.error.code)).toEqual(['E_NO_TAGS', 'E_NO_TAGS']);
    await expect(memoize.invalidateTags(['a'])).rejects.toMatchObject({ code: 'E_NO_TAGS' });
  });
});
