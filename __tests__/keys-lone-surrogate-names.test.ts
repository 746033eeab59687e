import fc from 'fast-check';
import { createMemoizer } from '../lib/memoizer';
import { MemoryStore } from '../lib/stores/memory';

// Keys reach Redis as UTF-8, where every lone surrogate becomes the same U+FFFD bytes: names or key
// prefixes that differ only in lone surrogates would share entries ('a\uD800' and 'a\uDC00'). So a
// name or keyPrefix that is not a well-formed string is refused with a TypeError naming the option.

async function noop(): Promise<number> {
  return 1;
}

/** Strings with at least one lone surrogate. */
const illFormed = fc
  .tuple(
    fc.string({ maxLength: 4 }),
    fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff'),
    fc.string({ maxLength: 4 }),
  )
  .map(([a, lone, b]) => `${a}${lone}${b}`)
  .filter((s) => !s.isWellFormed() && !/[{}:]/.test(s) && s.length > 0);

describe('names and key prefixes must be well-formed strings', () => {
  test('the issue case: name a\\uD800 is refused (it would share entries with a\\uDC00)', () => {
    const memoize = createMemoizer({ store: new MemoryStore() });
    expect(() => memoize(noop, { name: 'a\ud800' })).toThrow(TypeError);
    expect(() => memoize(noop, { name: 'a\ud800' })).toThrow(/\bname\b/);
  });

  test("keyPrefix in a function's options and in createMemoizer is refused the same way", () => {
    const memoize = createMemoizer({ store: new MemoryStore() });
    expect(() => memoize(noop, { name: 'ok', keyPrefix: 'p\udc00' })).toThrow(/\bkeyPrefix\b/);
    expect(() => createMemoizer({ store: new MemoryStore(), keyPrefix: 'p\udc00' })).toThrow(TypeError);
    expect(() => createMemoizer({ store: new MemoryStore(), keyPrefix: 'p\udc00' })).toThrow(/\bkeyPrefix\b/);
  });

  test('well-formed names with surrogate pairs are fine', () => {
    const memoize = createMemoizer({ store: new MemoryStore() });
    expect(() => memoize(noop, { name: 'emoji\u{1F600}', keyPrefix: 'p\u{1F600}' })).not.toThrow();
  });

  test('property: any name or keyPrefix with a lone surrogate is a TypeError naming the option', () => {
    const memoize = createMemoizer({ store: new MemoryStore() });
    fc.assert(
      fc.property(illFormed, (text) => {
        expect(() => memoize(noop, { name: text })).toThrow(/\bname\b/);
        expect(() => memoize(noop, { name: 'ok', keyPrefix: text })).toThrow(/\bkeyPrefix\b/);
        expect(() => createMemoizer({ keyPrefix: text })).toThrow(/\bkeyPrefix\b/);
      }),
      { numRuns: 200 },
    );
  });
});
