import vm from 'node:vm';
import fc from 'fast-check';
import { digestArgs } from '../lib/canonical-args';

// An argument that holds bytes is keyed by its bytes and by what it is: an ArrayBuffer, a
// SharedArrayBuffer, a DataView, a Buffer and each kind of typed array over the same bytes are
// different arguments (a function can tell them apart), so they get different keys.

/** Every byte container over a copy of `bytes` (typed arrays wider than a byte only when they fit). */
function containers(bytes: Uint8Array): Array<[string, unknown]> {
  const buffer = () => new Uint8Array(bytes).buffer;
  const shared = new SharedArrayBuffer(bytes.length);
  new Uint8Array(shared).set(bytes);
  const list: Array<[string, unknown]> = [
    ['ArrayBuffer', buffer()],
    ['SharedArrayBuffer', shared],
    ['DataView', new DataView(buffer())],
    ['Buffer', Buffer.from(bytes)],
    ['Uint8Array', new Uint8Array(bytes)],
    ['Int8Array', new Int8Array(buffer())],
    ['Uint8ClampedArray', new Uint8ClampedArray(buffer())],
  ];
  if (bytes.length % 2 === 0)
    list.push(['Uint16Array', new Uint16Array(buffer())], ['Int16Array', new Int16Array(buffer())]);
  if (bytes.length % 4 === 0)
    list.push(['Float32Array', new Float32Array(buffer())], ['Uint32Array', new Uint32Array(buffer())]);
  if (bytes.length % 8 === 0)
    list.push(['Float64Array', new Float64Array(buffer())], ['BigInt64Array', new BigInt64Array(buffer())]);
  return list;
}

describe('keys: byte containers', () => {
  test('the issue case: an ArrayBuffer and a Uint8Array of the same bytes', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    expect(digestArgs([bytes.buffer])).not.toBe(digestArgs([new Uint8Array([1, 2, 3])]));
  });

  test('property: over the same bytes, every kind of container gets its own key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (bytes) => {
        const keys = containers(bytes).map(([, container]) => digestArgs([container]));
        expect(new Set(keys).size).toBe(keys.length);
      }),
      { numRuns: 500 },
    );
  });

  test('property: the same kind over equal bytes shares a key, over different bytes does not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), fc.uint8Array({ maxLength: 16 }), (a, b) => {
        const equal = Buffer.from(a).equals(Buffer.from(b));
        const left = new Map(containers(a));
        for (const [kind, container] of containers(b)) {
          if (!left.has(kind)) continue;
          expect(digestArgs([left.get(kind)]) === digestArgs([container])).toBe(equal);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('a view is keyed by the bytes it shows, not by the whole buffer behind it', () => {
    const whole = new Uint8Array([9, 1, 2, 9]);
    expect(digestArgs([new Uint8Array(whole.buffer, 1, 2)])).toBe(digestArgs([new Uint8Array([1, 2])]));
    expect(digestArgs([new DataView(whole.buffer, 1, 2)])).toBe(
      digestArgs([new DataView(new Uint8Array([1, 2]).buffer)]),
    );
  });

  test("containers made in another realm get the keys of this realm's", () => {
    const foreign = vm.runInNewContext(
      '[new Uint8Array([1, 2]).buffer, new Uint8Array([1, 2]), new Float64Array([1.5]), new DataView(new ArrayBuffer(2))]',
    );
    const here = [
      new Uint8Array([1, 2]).buffer,
      new Uint8Array([1, 2]),
      new Float64Array([1.5]),
      new DataView(new ArrayBuffer(2)),
    ];
    expect(digestArgs(foreign)).toBe(digestArgs(here));
    expect(digestArgs(structuredClone(here))).toBe(digestArgs(here));
  });
});
