import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import type { RedisClientType } from 'redis';
import { shouldRefreshEarly } from '../lib/engine/early-refresh';
import { MemoizeError } from '../lib/errors';
import { createMemoizer, type Memoize } from '../lib/memoizer';
import type { CallEvent, ErrorEvent } from '../lib/options';
import { decode } from '../lib/serializer';
import { MemoryStore } from '../lib/stores/memory';
import type { Store } from '../lib/stores/store';
import { connect, deferred, sleep, uniquePrefix, until } from './helpers/redis';
import { bothStores, storedValue } from './helpers/stores';

let client: RedisClientType;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.quit();
});

// A background refresh must never leave a rejection nobody handles. (Jest 30 also fails the running
// test by itself when one happens, so either way it cannot go unnoticed.)
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => process.off('unhandledRejection', onUnhandled));
afterEach(() => expect(unhandled).toEqual([]));

const HOUR = 3_600_000;
const always = (r: number) => () => r;

/** Where a run of booleans changes value, or `undefined` if it never does; throws if it changes twice. */
function singleFlip(answers: boolean[]): number | undefined {
  let flip: number | undefined;
  for (let i = 1; i < answers.length; i++) {
    if (answers[i] === answers[i - 1]) continue;
    if (flip !== undefined) throw new Error(`answers change more than once: at ${flip} and at ${i}`);
    flip = i;
  }
  return flip;
}

describe('shouldRefreshEarly (XFetch) with injected random numbers', () => {
  test('never far from expiry: random 0.5, computeMs 10, an hour left', () => {
    expect(shouldRefreshEarly(0, HOUR, 10, 1, always(0.5))).toBe(false);
  });

  test.each([0.999999, 0.5, 0.01, 1e-12, Number.MIN_VALUE])(
    'never an hour from expiry for a 10 ms computation, even with random %p',
    (r) => {
      // The largest possible lead, -10 * ln(MIN_VALUE), is about 7.4 s.
      expect(shouldRefreshEarly(1_000_000, 1_000_000 + HOUR, 10, 1, always(r))).toBe(false);
    },
  );

  test.each([
    ['at expiry', 0],
    ['1 ms after expiry', 1],
    ['an hour after expiry', HOUR],
  ])('always %s, whatever the random number (0 included) and compute time', (_label, after) => {
    const freshUntil = 1_700_000_000_000;
    for (const r of [0.999999, 0.5, 1e-12, 0]) {
      for (const computeMs of [0, 10, 10_000]) {
        expect(shouldRefreshEarly(freshUntil + after, freshUntil, computeMs, 1, always(r))).toBe(true);
      }
    }
  });

  test.each([0.9, 0.5, 0.1, 1e-6])(
    'for a fixed random (%p), approaching expiry flips the answer from false to true once, at now = freshUntil + computeMs * ln(random)',
    (r) => {
      const freshUntil = 1_700_000_000_000;
      const computeMs = 1000;
      const start = freshUntil - 20_000;
      const answers: boolean[] = [];
      for (let now = start; now <= freshUntil + 100; now++) {
        answers.push(shouldRefreshEarly(now, freshUntil, computeMs, 1, always(r)));
      }
      const flip = singleFlip(answers);
      expect(flip).toBeDefined();
      expect(answers[0]).toBe(false);
      expect(answers.at(-1)).toBe(true);
      const expected = freshUntil + computeMs * Math.log(r);
      expect(Math.abs(start + flip! - expected)).toBeLessThanOrEqual(1);
    },
  );

  test('for a fixed now, a smaller random is more eager: the answer flips once, at random = exp(-lead / computeMs)', () => {
    const freshUntil = 1_700_000_000_000;
    const now = freshUntil - 2000;
    const randoms: number[] = [];
    for (let r = 0.999; r > 1e-9; r *= 0.99) randoms.push(r); // decreasing
    const answers = randoms.map((r) => shouldRefreshEarly(now, freshUntil, 1000, 1, always(r)));
    const flip = singleFlip(answers);
    expect(flip).toBeDefined();
    expect(answers[0]).toBe(false);
    expect(answers.at(-1)).toBe(true);
    // exp(-2000 / 1000): the first random that answers true is just below it, the last false just above.
    expect(randoms[flip!]!).toBeLessThanOrEqual(Math.exp(-2));
    expect(randoms[flip! - 1]!).toBeGreaterThan(Math.exp(-2));
  });

  test('a larger beta is more eager', () => {
    const freshUntil = 1_700_000_000_000;
    const now = freshUntil - 2000;
    const betas = [0.1, 0.5, 1, 2, 4, 8];
    const answers = betas.map((beta) => shouldRefreshEarly(now, freshUntil, 1000, beta, always(0.5)));
    // lead = 1000 * beta * ln 2: beta 4 gives about 2773 ms, enough; beta 2 gives about 1386 ms, not.
    expect(answers).toEqual([false, false, false, false, true, true]);
  });

  test('property: once true at some now, true at every later now (same random)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 * HOUR }),
        fc.integer({ min: 0, max: 2 * HOUR }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        fc.double({ min: 1e-300, max: 0.999999, noNaN: true }),
        fc.integer({ min: 0, max: HOUR }),
        (a, b, computeMs, beta, r, offset) => {
          const freshUntil = 1_700_000_000_000 + HOUR;
          const earlier = 1_700_000_000_000 + Math.min(a, b) - offset;
          const later = 1_700_000_000_000 + Math.max(a, b);
          if (shouldRefreshEarly(earlier, freshUntil, computeMs, beta, always(r))) {
            expect(shouldRefreshEarly(later, freshUntil, computeMs, beta, always(r))).toBe(true);
          }
        },
      ),
    );
  });
});

/** A function whose runs are counted; the first takes `firstMs`, later ones wait for `gate` (as of their start). */
function counted(firstMs: number) {
  const state = { runs: 0, gate: Promise.resolve(), failWith: undefined as unknown };
  async function report(id: string): Promise<string> {
    const run = ++state.runs;
    const { gate, failWith } = state;
    if (run === 1) await sleep(firstMs);
    await gate;
    if (failWith !== undefined) throw failWith;
    return `${id}#${run}`;
  }
  return { state, report };
}

const QUICK_MS = 250;

describe.each(bothStores(() => client))('early refresh over %s', (_name, makeStore) => {
  let store: Store;
  let memoize: Memoize;
  beforeEach(() => {
    store = makeStore();
    memoize = createMemoizer({ store, keyPrefix: uniquePrefix('xfetch') });
  });

  test('very eager (random 1e-12): a fresh hit returns at once and triggers exactly one background refresh', async () => {
    // Lead = computeMs * 27.6: with a 150 ms computation about 4 s, beyond the whole 2 s ttl.
    const { state, report } = counted(150);
    const hits: CallEvent[] = [];
    const f = memoize(report, { ttl: '2s', earlyRefresh: { random: () => 1e-12 }, onHit: (e) => hits.push(e) });
    expect(await f('a')).toBe('a#1');

    const held = deferred<void>();
    state.gate = held.promise;
    const durations: number[] = [];
    for (let wave = 0; wave < 5; wave++) {
      const batch = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const started = performance.now();
          const value = await f('a');
          durations.push(performance.now() - started);
          return value;
        }),
      );
      expect(batch).toEqual(Array(10).fill('a#1'));
    }
    expect(Math.max(...durations)).toBeLessThan(QUICK_MS);
    expect(hits.length).toBeGreaterThanOrEqual(5);
    for (const hit of hits) expect(hit.stale).toBeUndefined(); // fresh hits, refreshed early
    await until(() => state.runs >= 2, 'the early refresh to start');
    await sleep(100);
    expect(state.runs).toBe(2);

    held.resolve();
    await until(async () => (await storedValue(store, f.keyFor('a'))) === 'a#2', 'the refreshed value to land');
    expect(state.runs).toBe(2);
  });

  test('hardly eager (random 0.999999) far from expiry: no refresh, though it is asked on every hit', async () => {
    const { state, report } = counted(50);
    let asked = 0;
    const random = () => {
      asked++;
      return 0.999999;
    };
    const f = memoize(report, { ttl: '1h', earlyRefresh: { random } });
    expect(await f('a')).toBe('a#1');
    for (let i = 0; i < 20; i++) expect(await f('a')).toBe('a#1');
    await sleep(200);
    expect(state.runs).toBe(1);
    expect(asked).toBe(20);
  });

  test('earlyRefresh without staleTtl: the entry is timed but lives only its ttl', async () => {
    const { report } = counted(20);
    const f = memoize(report, { ttl: '10s', earlyRefresh: true });
    await f('a');
    const stored = (await store.get(f.keyFor('a')))!;
    expect(stored.startsWith('cm1X')).toBe(true);
    const remaining = store instanceof MemoryStore ? store.pttl(f.keyFor('a')) : await client.pTTL(f.keyFor('a'));
    expect(remaining).toBeGreaterThan(9_000);
    expect(remaining).toBeLessThanOrEqual(10_000);
  });

  test('a memoizer default applies: createMemoizer({ earlyRefresh }) refreshes early too', async () => {
    const eager = createMemoizer({
      store,
      keyPrefix: uniquePrefix('xfetch-default'),
      earlyRefresh: { random: () => 1e-12 },
    });
    const { state, report } = counted(150);
    const f = eager(report, { ttl: '2s' });
    expect(await f('a')).toBe('a#1');
    expect(await f('a')).toBe('a#1');
    await until(async () => (await storedValue(store, f.keyFor('a'))) === 'a#2', 'the early refresh to land');
    expect(state.runs).toBe(2);
  });

  test('an early refresh that throws is reported as E_REFRESH_FAILED; the cached value is still served', async () => {
    const { state, report } = counted(150);
    const errors: ErrorEvent[] = [];
    const f = memoize(report, {
      ttl: '2s',
      earlyRefresh: { random: () => 1e-12 },
      onError: (e) => errors.push(e),
    });
    expect(await f('a')).toBe('a#1');
    const boom = new Error('upstream 503');
    state.failWith = boom;
    expect(await f('a')).toBe('a#1');
    await until(() => errors.length > 0, 'the failed refresh to be reported');
    expect(errors[0]!.error).toBeInstanceOf(MemoizeError);
    expect(errors[0]!.error.code).toBe('E_REFRESH_FAILED');
    expect(errors[0]!.error.cause).toBe(boom);
    expect(await f('a')).toBe('a#1');
    expect(await storedValue(store, f.keyFor('a'))).toBe('a#1');
    await sleep(50); // let a stray rejection surface before afterEach checks
  });
});

describe('bad input for earlyRefresh is a TypeError naming the option', () => {
  const store = new MemoryStore();
  async function fn() {
    return 1;
  }
  function memoizeWith(options: unknown) {
    return () => createMemoizer({ store })(fn, options as never);
  }
  const SHAPE = (got: string) =>
    new RegExp(String.raw`^cache-memoize: earlyRefresh must be true, false or \{ beta, random \}; got ${got}$`);
  const BETA = (got: string) =>
    new RegExp(String.raw`^cache-memoize: earlyRefresh\.beta must be a positive finite number; got ${got}$`);
  const RANDOM = (got: string) =>
    new RegExp(String.raw`^cache-memoize: earlyRefresh\.random must be a function returning \[0, 1\); got ${got}$`);

  test.each<[string, unknown, RegExp]>([
    ['"yes"', 'yes', SHAPE('"yes"')],
    ['1', 1, SHAPE('1')],
    ['null', null, SHAPE('null')],
    ['an array', [1], SHAPE('an array')],
    ['{ beta: 0 }', { beta: 0 }, BETA('0')],
    ['{ beta: -1 }', { beta: -1 }, BETA('-1')],
    ['{ beta: Infinity }', { beta: Number.POSITIVE_INFINITY }, BETA('Infinity')],
    ['{ beta: "2" }', { beta: '2' }, BETA('"2"')],
    ['{ random: 5 }', { random: 5 }, RANDOM('5')],
    ['{ random: "Math.random" }', { random: 'Math.random' }, RANDOM('"Math.random"')],
    ['{ typo: 1 }', { typo: 1 }, /^cache-memoize: unknown option 'typo' in earlyRefresh; known options: beta, random$/],
  ])('earlyRefresh %s', (_label, earlyRefresh, message) => {
    expect(memoizeWith({ earlyRefresh })).toThrow(TypeError);
    expect(memoizeWith({ earlyRefresh })).toThrow(message);
    expect(() => createMemoizer({ earlyRefresh } as never)).toThrow(message);
    expect(() => createMemoizer().configure({ earlyRefresh } as never)).toThrow(message);
  });

  test.each<[string, unknown]>([
    ['true', true],
    ['false', false],
    ['{}', {}],
    ['{ beta: 0.5 }', { beta: 0.5 }],
    ['{ random }', { random: () => 0.5 }],
    ['{ beta: 2, random }', { beta: 2, random: Math.random }],
  ])('good input: earlyRefresh %s', (_label, earlyRefresh) => {
    expect(memoizeWith({ earlyRefresh, name: `g${Math.random()}`.replace('.', '') })).not.toThrow();
    expect(() => createMemoizer({ store, earlyRefresh } as never)).not.toThrow();
    expect(() => createMemoizer({ store }).configure({ earlyRefresh } as never)).not.toThrow();
  });
});

test('earlyRefresh with ttl Infinity: entries are not timed, hits are fresh and nothing refreshes', async () => {
  let runs = 0;
  const store = new MemoryStore();
  const f = createMemoizer({ store })(
    async function forever() {
      return ++runs;
    },
    { ttl: Number.POSITIVE_INFINITY, earlyRefresh: true },
  );
  expect(await f()).toBe(1);
  for (let i = 0; i < 5; i++) expect(await f()).toBe(1);
  await new Promise((r) => setTimeout(r, 20));
  expect(runs).toBe(1);
  expect(String(await store.get(f.keyFor()))).toMatch(/^cm1J/);
});

test.each(['cm1X1!,2:cm1J1', 'cm1XNaN,0:cm1J1', 'cm1X1,2x-:cm1J1'])(
  'a timed header with bad digits (%s) is E_DECODE',
  (text) => {
    expect(decode(text).ok).toBe(false);
  },
);
