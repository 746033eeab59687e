import { performance } from 'node:perf_hooks';
import keySlot from 'cluster-key-slot';
import { createMemoizer, type Memoized, type MemoizeError, type MemoizeErrorCode, type RedisLike } from '../../lib';
import { sleep, uniquePrefix } from '../helpers/redis';

/**
 * Load for the failover scenarios: a memoized function over a cluster or sentinel client, called in
 * batches on a timer while the test breaks the deployment, with every hook event recorded with its
 * time, so the figures (calls failed, skips per master, time until caching resumed) come from what
 * the library itself reported.
 */

/** The function's own run time. */
export const FN_MS = 5;

/** The value `f(n)` must return. */
export function expected(n: number): string {
  return `value-${n}`;
}

/** One hook event: `at` and `startedAt` in ms since the rig was made. */
export interface CallRecord {
  kind: 'hit' | 'miss' | 'error';
  code?: MemoizeErrorCode;
  /** `error` only: the error's message. */
  message?: string;
  key: string;
  slot: number;
  /** When the hook ran. */
  at: number;
  /** When the call that reported it began. */
  startedAt: number;
}

/** A memoized function over `client`, with its events recorded. */
export interface Rig {
  f: Memoized<[number], string>;
  events: CallRecord[];
  /** Times the function itself ran. */
  runs(): number;
  /** ms since the rig was made. */
  now(): number;
}

export function rig(client: RedisLike): Rig {
  const origin = performance.now();
  const now = () => performance.now() - origin;
  const events: CallRecord[] = [];
  const record = (kind: CallRecord['kind'], key: string, durationMs: number, error?: MemoizeError) => {
    const at = now();
    const event: CallRecord = { kind, key, slot: keySlot(key), at, startedAt: at - durationMs };
    if (error !== undefined) {
      event.code = error.code;
      event.message = error.message;
    }
    events.push(event);
  };
  let runs = 0;
  const memoize = createMemoizer({
    client,
    keyPrefix: uniquePrefix('failover'),
    ttl: '1h',
    onHit: ({ key, durationMs }) => record('hit', key, durationMs),
    onMiss: ({ key, durationMs }) => record('miss', key, durationMs),
    onError: ({ key, durationMs, error }) => record('error', key, durationMs, error),
  });
  const f = memoize(async function failoverTarget(n: number) {
    runs++;
    await sleep(FN_MS);
    return expected(n);
  });
  return { f, events, runs: () => runs, now };
}

/** Calls made under load, and the ones that rejected or returned a wrong value. */
export interface LoadResult {
  calls: number;
  failed: number;
  /** The first few failures, described. */
  failures: string[];
}

/** The first argument of the calls that are misses by design (never called before). */
export const FRESH_ARGS_FROM = 1_000_000;

/** Options of {@link startLoad}. */
export interface LoadOptions {
  /** Calls per tick. */
  batch: number;
  /** Tick length in ms. */
  everyMs: number;
  /** Of each batch, how many call a new argument (a miss: begin, lock, compute, write). @default 0 */
  fresh?: number;
  /** @default Infinity */
  maxCalls?: number;
}

/**
 * Every `everyMs`, `batch` calls of `f` without waiting for earlier batches (arguments round-robin
 * over `args`, plus `fresh` new ones), until `stop()`; at most `maxCalls` in all. `stop()` resolves
 * once every call settled.
 */
export function startLoad(
  f: Memoized<[number], string>,
  args: readonly number[],
  options: LoadOptions,
): { stop(): Promise<LoadResult>; calls(): number } {
  const { batch, everyMs, fresh = 0, maxCalls = Number.POSITIVE_INFINITY } = options;
  let nextFresh = FRESH_ARGS_FROM;
  const result: LoadResult = { calls: 0, failed: 0, failures: [] };
  const pending = new Set<Promise<void>>();
  let next = 0;
  const fail = (what: string) => {
    result.failed++;
    if (result.failures.length < 5) result.failures.push(what);
  };
  const fire = () => {
    for (let i = 0; i < batch && result.calls < maxCalls; i++) {
      const n = i < fresh ? nextFresh++ : (args[next++ % args.length] as number);
      result.calls++;
      const call = f(n).then(
        (value) => {
          if (value !== expected(n)) fail(`f(${n}) returned ${String(value)}`);
        },
        (error: unknown) => fail(`f(${n}) rejected: ${error instanceof Error ? error.message : String(error)}`),
      );
      pending.add(call);
      call.finally(() => pending.delete(call));
    }
  };
  fire();
  const timer = setInterval(fire, everyMs);
  return {
    calls: () => result.calls,
    async stop() {
      clearInterval(timer);
      while (pending.size > 0) await Promise.all([...pending]);
      return result;
    },
  };
}

/** Fills every entry and checks that each one now hits. */
export async function warm(r: Rig, args: readonly number[]): Promise<void> {
  for (let i = 0; i < args.length; i += 50) await Promise.all(args.slice(i, i + 50).map((n) => r.f(n)));
  const before = r.events.filter((e) => e.kind === 'hit').length;
  for (let i = 0; i < args.length; i += 50) await Promise.all(args.slice(i, i + 50).map((n) => r.f(n)));
  const hits = r.events.filter((e) => e.kind === 'hit').length - before;
  if (hits !== args.length) throw new Error(`warm-up: ${hits} of ${args.length} entries hit on the second pass`);
}

/** Waits until `check` holds, polling every 20 ms; false if `ms` passed first. */
export async function within(ms: number, check: () => boolean): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/**
 * The client on its own, without the library: every 50 ms one `get` (its own 250 ms limit), the
 * ones that answered recorded, so the time the client took to reach the new master can be told from
 * the time the library took on top.
 */
export function startProbe(
  get: () => Promise<unknown>,
  now: () => number,
): { stop(): void; answers: Array<{ startedAt: number; at: number }> } {
  const answers: Array<{ startedAt: number; at: number }> = [];
  const probe = () => {
    const startedAt = now();
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), 250);
    });
    Promise.race([get(), limit])
      .then((outcome) => {
        if (outcome !== 'late') answers.push({ startedAt, at: now() });
      })
      .catch(() => {})
      .finally(() => clearTimeout(timer));
  };
  const timer = setInterval(probe, 50);
  return { stop: () => clearInterval(timer), answers };
}
