import { createHash } from 'node:crypto';
import { encode } from '../lib/canonical/text';
import { KeyWriter, LONG_BYTES, LONG_STRING } from '../lib/canonical/writer';
import { canonicalArgs, digestArgs, entryKey, entryKeys } from '../lib/canonical-args';

// Keys stream their canonical text into SHA-256 (long strings directly) instead of building it; the
// digest must be the one of the whole text, so keys do not depend on where the text was cut.

function wholeTextDigest(args: readonly unknown[]): string {
  return createHash('sha256').update(canonicalArgs(args)).digest('base64url');
}

const AROUND = [LONG_STRING - 1, LONG_STRING, LONG_STRING + 1];

describe('keys of long arguments: streamed, the same digest as the whole text', () => {
  test.each(AROUND)('a string of %i characters, alone, in an object, an array, a Map, a Set, as a key', (n) => {
    const s = 'x'.repeat(n);
    for (const args of [[s], [{ s }], [[s, 1]], [new Map([[s, s]])], [new Set([s])], [{ [s]: 1 }], [s, s]]) {
      expect(digestArgs(args)).toBe(wholeTextDigest(args));
    }
  });

  test.each(AROUND)('a string of %i characters with lone surrogates and pairs at both ends', (n) => {
    const lone = `\ud800${'é'.repeat(n - 2)}\udfff`;
    const pairs = `😀${'x'.repeat(n - 4)}😀`;
    for (const args of [[lone], [pairs], [{ lone, pairs }], [[pairs, lone]]]) {
      expect(digestArgs(args)).toBe(wholeTextDigest(args));
    }
  });

  test('bytes of every length around the limit', () => {
    for (const n of [3069, 3072, 3075, 1 << 20]) {
      const args = [Buffer.alloc(n, 7), new Uint8Array(n)];
      expect(digestArgs(args)).toBe(wholeTextDigest(args));
    }
  });

  test('a 100,000-element list of objects, with astral characters wherever a chunk may end', () => {
    const rows = Array.from({ length: 100_000 }, (_, i) => ({ id: i, name: `😀${i}😀`, tags: ['a', 'ü'] }));
    expect(digestArgs([rows])).toBe(wholeTextDigest([rows]));
  });
});

describe('keys of long arguments: distinct lists never share a key, equal ones do', () => {
  const big = 'y'.repeat(1 << 20);

  test('a long string alone, in an object, in a list, in a Set, and its neighbours', () => {
    const lists = [
      [big],
      [{ big }],
      [[big]],
      [new Set([big])],
      [`${big}y`],
      [big.slice(1)],
      [`${big.slice(1)}z`],
      [Buffer.from(big)],
      [big, ''],
      ['', big],
    ];
    expect(new Set(lists.map((args) => digestArgs(args))).size).toBe(lists.length);
  });

  test('long byte runs: keyed by their digest, apart when one byte or the kind differs', () => {
    const bytes = Buffer.alloc(LONG_BYTES, 1);
    const changed = Buffer.from(bytes);
    changed[LONG_BYTES - 1] = 2;
    expect(canonicalArgs([Buffer.alloc(1 << 20)]).length).toBeLessThan(100);
    const lists = [[bytes], [changed], [new Uint8Array(bytes)], [bytes.subarray(1)], [bytes.toString('base64')]];
    expect(new Set(lists.map((args) => digestArgs(args))).size).toBe(lists.length);
    expect(digestArgs([Buffer.from(bytes)])).toBe(digestArgs([bytes]));
  });

  test('lone surrogates in long strings stay apart from each other and from U+FFFD', () => {
    const lists = [[`${big}\ud800`], [`${big}\udc00`], [`${big}\ufffd`], [`\ud800${big}`]];
    expect(new Set(lists.map((args) => digestArgs(args))).size).toBe(lists.length);
  });

  test('equal long arguments share one key, object keys in any order', () => {
    expect(digestArgs([{ a: big, b: [big] }])).toBe(digestArgs([{ b: [`${big}`], a: big.slice(0) }]));
  });

  test('objects of one depth whose keys differ, or come in another order, in a row', () => {
    const rows = (keys: string[][]) => keys.map((ks) => Object.fromEntries(ks.map((k, i) => [k, i])));
    const ab = rows([
      ['a', 'b'],
      ['a', 'b'],
    ]);
    const ac = rows([
      ['a', 'b'],
      ['a', 'c'],
    ]);
    expect(digestArgs([ab])).not.toBe(digestArgs([ac]));
    expect(
      digestArgs([
        [
          { a: 1, b: 2 },
          { b: 2, a: 1 },
        ],
      ]),
    ).toBe(
      digestArgs([
        [
          { b: 2, a: 1 },
          { a: 1, b: 2 },
        ],
      ]),
    );
    expect(
      digestArgs([
        [
          { a: 1, b: 2 },
          { b: 1, a: 2 },
        ],
      ]),
    ).not.toBe(
      digestArgs([
        [
          { a: 1, b: 2 },
          { a: 1, b: 2 },
        ],
      ]),
    );
  });
});

describe('keys of long non-Latin strings: their UTF-16 digest', () => {
  // A long string with a character above U+00FF in its first LONG_STRING code units is keyed by the
  // digest of its code units; any other string by its text.
  const wideAt = (n: number, at: number, wide = '€') => `${'a'.repeat(at)}${wide}${'a'.repeat(n - at - 1)}`;

  test('is a mark, the length and a digest, in the text too', () => {
    expect(canonicalArgs(['€'.repeat(LONG_STRING)])).toMatch(new RegExp(`^a1:U${LONG_STRING}#[\\w-]{43}$`));
    expect(canonicalArgs(['€'.repeat(LONG_STRING - 1)])).toBe(`a1:s${LONG_STRING - 1}:${'€'.repeat(LONG_STRING - 1)}`);
    expect(canonicalArgs([wideAt(LONG_STRING + 1, LONG_STRING)])).toMatch(/^a1:s/);
  });

  test.each(AROUND)('strings of %i characters, wide early, late or not at all, stay apart', (n) => {
    const lists = [
      [wideAt(n, 0)],
      [wideAt(n, 1)],
      [wideAt(n, n - 1)],
      [wideAt(n, 0, '\u0100')],
      [wideAt(n, 0, '\ud800')],
      [wideAt(n, 0, '\udc00')],
      [wideAt(n, 0, '\ufffd')],
      [wideAt(n, 0, 'é')],
      ['a'.repeat(n)],
      [`${wideAt(n - 1, 0)}b`],
      [`${wideAt(n - 1, 0)}\ud800`],
      [wideAt(n, 0), ''],
      [{ k: wideAt(n, 0) }],
    ];
    expect(new Set(lists.map((args) => digestArgs(args))).size).toBe(lists.length);
    for (const args of lists) expect(digestArgs(args)).toBe(wholeTextDigest(args));
  });

  test('astral characters and lone surrogates across the window edge key apart, and equal to themselves', () => {
    const edge = LONG_STRING - 1;
    const lists = [
      [`${'a'.repeat(edge)}😀${'a'.repeat(100)}`],
      [`${'a'.repeat(edge)}\ud83d${'a'.repeat(101)}`],
      [`${'a'.repeat(edge)}\ude00${'a'.repeat(101)}`],
      [`${'a'.repeat(edge + 1)}😀${'a'.repeat(99)}`],
      [`${'a'.repeat(edge + 1)}\ud83d${'a'.repeat(100)}`],
      [`${'a'.repeat(edge + 1)}\ufffd${'a'.repeat(100)}`],
    ];
    expect(new Set(lists.map((args) => digestArgs(args))).size).toBe(lists.length);
    for (const [s] of lists) expect(digestArgs([[...(s as string)].join('')])).toBe(digestArgs([s]));
  });

  test('a long string and another of the same length, one code unit apart, key apart', () => {
    const big = '日本語のテキスト'.repeat(1 << 17);
    const other = `${big.slice(0, -1)}ド`;
    const swapped = `${big.slice(0, -2)}${big.at(-1)}${big.at(-2)}`;
    const keys = [big, other, swapped].map((s) => digestArgs([s]));
    expect(new Set(keys).size).toBe(3);
    expect(digestArgs([big.split('').join('')])).toBe(keys[0]);
  });

  test('how V8 stores a string does not matter: Latin-1 text stored two bytes a character keys as itself', () => {
    const latin = 'é'.repeat(LONG_STRING + 10);
    const storedWide = `€${latin}`.slice(1);
    expect(digestArgs([storedWide])).toBe(digestArgs([latin]));
    expect(canonicalArgs([storedWide])).toBe(canonicalArgs([latin]));
  });
});

describe('the key writer', () => {
  test('a streaming writer holds neither a long string nor more than a chunk of text', () => {
    const w = new KeyWriter([], true);
    encode(['z'.repeat(1 << 20), Array.from({ length: 50_000 }, (_, i) => i)], w);
    expect(w.whole).toBe(false);
    expect(w.text.length).toBeLessThan(64 * 1024);
  });

  test('a keeping writer holds all of it', () => {
    const w = new KeyWriter([], false);
    encode('z'.repeat(LONG_STRING), w);
    expect(w.whole).toBe(true);
    expect(w.text).toBe(`s${LONG_STRING}:${'z'.repeat(LONG_STRING)}`);
  });
});

describe('remembered keys of a lone argument', () => {
  test('a lone number or short string is keyed as entryKey keys it, -0 apart from 0', () => {
    const keyOf = entryKeys('p:f:');
    const lone = [0, -0, Number.NaN, 1, '1', 1.5, '', 'x'.repeat(100), 'x'.repeat(101), '\ud800', true, null];
    for (const arg of [...lone, ...lone]) expect(keyOf([arg])).toBe(entryKey('p:f:', [arg]));
    expect(keyOf([-0])).not.toBe(keyOf([0]));
    expect(keyOf([1])).not.toBe(keyOf(['1']));
  });
});
