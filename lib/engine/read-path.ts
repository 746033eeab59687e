import { AsyncResource } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import type { MemoizeError } from '../errors';
import type { GuardedOperation, StoreGuard } from '../guard';
import type { EarlyRefreshSettings } from '../settings';
import type { TaggedValue } from '../stores/store';
import { type CallContext, tracing } from '../tracing';
import { refreshInBackground } from './background-refresh';
import { compute, recover } from './fill';
import type { Flight } from './flight';
import { type LocalTier, MISSING } from './local-tier';
import { miss, readOrBegin } from './miss';
import { Call, type Runtime } from './runtime';
import { found } from './stored-value';
import { noTagsError, supportsTags } from './tagging';

// The read path of one call: the local tier, then a flight to join, then one store read under the
// deadline, then the decoded value. A hit settles without an async frame of its own, so that it
// costs little more than the raw `GET`; anything else goes on to the miss path.

// Lets `new Promise` hand out its resolvers without a closure per call.
let capturedResolve: (value: never) => void = () => {};
let capturedReject: (error: unknown) => void = () => {};
function capture(resolve: (value: never) => void, reject: (error: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

function noop(): void {}

// The imported bindings a local hit uses, read once: a loader that compiles modules to CommonJS with
// esbuild (tsx, which runs the benchmarks) reads an imported binding through two getters at every
// use, which cost a local hit about a fifth of its time. Compiled by tsc, they cost nothing either way.
const tracingNow = tracing;
const NONE: typeof MISSING = MISSING;

/**
 * A call whose store read is in flight: the guard settles it with the answer or the failure. Its
 * methods are shared on the prototype: a closure per call measurably made calls survive
 * young-generation GC (old-space collections went from 1 to 11 in 2.5 s of hits).
 */
class Read<A extends unknown[], R>
  extends Call<R>
  implements GuardedOperation<string | TaggedValue | null | undefined>, PendingRead<R>
{
  expiresAt = 0;
  settled = false;
  resolve: (value: R | PromiseLike<R>) => void = noop;
  reject: (error: unknown) => void = noop;

  constructor(
    readonly rt: Runtime<A, R>,
    guard: StoreGuard,
    key: string,
    args: readonly unknown[],
  ) {
    super(guard, key, args, false);
  }

  get operation(): string {
    return 'read';
  }

  answered(stored: string | TaggedValue | null | undefined): void {
    try {
      this.resolve(afterRead(this.rt, this, stored));
    } catch (error) {
      this.reject(error);
    }
  }

  failed(error: MemoizeError): void {
    const { rt } = this;
    // Another program left something that is not a value at the key: garbage like any other.
    if (error.code === 'E_DECODE') this.resolve(rt.holding(this, recover(rt, this, error)));
    else this.resolve(withoutStore(rt, this, error));
  }

  expire(): void {
    this.failed(this.guard.timedOut(this.operation, this.key));
  }
}

/** One call of the memoized function. */
export function read<A extends unknown[], R>(rt: Runtime<A, R>, args: A): Promise<R> {
  // The clock is read only for a hook (it costs a tenth of a local hit); -1: no hook hears local hits.
  const started = rt.tier !== undefined && rt.events.hearsHits() ? performance.now() : -1;
  if (tracingNow()) return traced(rt, args, started);
  let key: string;
  try {
    key = rt.keyFor(args);
  } catch (error) {
    return Promise.reject(error);
  }
  return withoutRead(rt, key, args, started, undefined) ?? start(rt, key, args, undefined);
}

/** {@link read} while someone subscribes to the call channel: the same steps, on a trace. */
function traced<A extends unknown[], R>(rt: Runtime<A, R>, args: A, started: number): Promise<R> {
  let key: string;
  try {
    key = rt.keyFor(args);
  } catch (error) {
    return rt.events.unkeyable(args, error, true);
  }
  return rt.events.traced(
    key,
    args,
    (trace) => withoutRead(rt, key, args, started, trace) ?? start(rt, key, args, trace),
  );
}

/**
 * A call answered without a store read of its own: a local hit, or the flight in progress for its
 * key to join; `undefined` when the store must be read.
 */
export function withoutRead<A extends unknown[], R>(
  rt: Runtime<A, R>,
  key: string,
  args: A,
  started: number,
  trace: CallContext | undefined,
): Promise<R> | undefined {
  const { tier } = rt;
  if (tier !== undefined && tier.size > 0) {
    // A cached error's answer is already its rejection, which Promise.resolve hands back as it is.
    const answer = localAnswer(rt, tier, key, args, started, trace);
    if (answer !== NONE) return Promise.resolve(answer as R);
  }
  const flight = rt.flights.get(key);
  return flight === undefined ? undefined : join(rt, key, args, flight, trace);
}

// The functions of a local hit stay small, their rare branches in functions of their own: the
// optimizer then inlines the whole hit into its caller (measured: a tenth of a local hit's cost).

/**
 * The local tier's answer for `key` (a value, or a rejection: a cached error, or no store configured),
 * reported as a hit; or `MISSING`.
 */
function localAnswer<A extends unknown[], R>(
  rt: Runtime<A, R>,
  tier: LocalTier,
  key: string,
  args: readonly unknown[],
  started: number,
  trace: CallContext | undefined,
): unknown {
  let guard: StoreGuard;
  try {
    // guard() notices a newly configured store, which empties the tier.
    guard = rt.guard();
  } catch (error) {
    return Promise.reject(error);
  }
  const answer = tier.get(key);
  if (answer === NONE) return NONE;
  // Local hits roll the early-refresh dice too, or a value read once would expire everywhere at once.
  const { earlyRefresh } = rt.settings;
  if (earlyRefresh !== undefined) refreshIfDue(rt, tier, key, args, guard, earlyRefresh);
  rt.events.localHit(key, args, started, trace);
  return answer;
}

function refreshIfDue<A extends unknown[], R>(
  rt: Runtime<A, R>,
  tier: LocalTier,
  key: string,
  args: readonly unknown[],
  guard: StoreGuard,
  earlyRefresh: EarlyRefreshSettings,
): void {
  if (tier.refreshDue(key, earlyRefresh.beta, earlyRefresh.random)) refreshInBackground(rt, key, args, guard);
}

/** A new flight for `key`: one store read, settled by the guard. */
function start<A extends unknown[], R>(
  rt: Runtime<A, R>,
  key: string,
  args: A,
  trace: CallContext | undefined,
): Promise<R> {
  let guard: StoreGuard;
  try {
    guard = rt.guard();
  } catch (error) {
    return Promise.reject(error);
  }
  const call = newRead(rt, guard, key, args, trace);
  const tagged = rt.settings.tags !== undefined;
  const { tier } = rt;
  if (tagged && !supportsTags(guard.store)) call.resolve(withoutStore(rt, call, noTagsError(rt.settings.name)));
  else if (!tagged && rt.misses.beginsOnRead) {
    // A tracking that hears only the keys read through it: the tier keeps only what is read there.
    if (tier?.reader !== undefined) call.ticket = -1;
    readOrBegin(rt, call);
  } else guard.read(call, key, tagged, tier?.reading(guard.store, call));
  return call.promise;
}

/** A flight whose store answer comes from elsewhere (`f.many` reads many keys at once). */
export interface PendingRead<R> {
  readonly promise: Promise<R>;
  /** The store's answer for this key: a hit settles at once; anything else goes on to the miss path. */
  answered(stored: string | null | undefined): void;
  /** The read failed, timed out or was skipped: the function runs without the store. */
  failed(error: MemoizeError): void;
}

/** A new flight for `key` that later callers join at once; the caller makes its store read. */
export function pendingRead<A extends unknown[], R>(
  rt: Runtime<A, R>,
  guard: StoreGuard,
  key: string,
  args: A,
  trace: CallContext | undefined,
): PendingRead<R> {
  return newRead(rt, guard, key, args, trace);
}

function newRead<A extends unknown[], R>(
  rt: Runtime<A, R>,
  guard: StoreGuard,
  key: string,
  args: A,
  trace: CallContext | undefined,
): Read<A, R> {
  const call = new Read(rt, guard, key, args);
  if (trace !== undefined) {
    call.trace = trace;
    // A read past its deadline is expired by the deadline's shared timer: the miss that follows must
    // still run in the call's own context (the stores its trace bound).
    call.expire = AsyncResource.bind(() => Read.prototype.expire.call(call));
  }
  if (rt.tier !== undefined) call.ticket = rt.tier.ticket();
  call.promise = new Promise<R>(capture);
  call.resolve = capturedResolve as (value: R | PromiseLike<R>) => void;
  call.reject = capturedReject;
  rt.flights.add(key, call);
  return call;
}

/**
 * A joiner may have started after an invalidation elsewhere that the flight's computation predates;
 * the refused write says so, and the joiner then runs once more instead of taking that result.
 */
async function join<A extends unknown[], R>(
  rt: Runtime<A, R>,
  key: string,
  args: A,
  flight: Flight<R>,
  trace: CallContext | undefined,
): Promise<R> {
  const result = await flight.promise;
  if (flight.written !== undefined) await flight.written;
  if (!flight.superseded) {
    rt.events.joined(trace, flight);
    return result;
  }
  const next = rt.flights.get(key);
  if (next === undefined) return start(rt, key, args, trace);
  const again = await next.promise;
  rt.events.joined(trace, next);
  return again;
}

/** What the read found: a hit settles here, synchronously; anything else goes on. */
function afterRead<A extends unknown[], R>(
  rt: Runtime<A, R>,
  call: Call<R>,
  stored: string | TaggedValue | null | undefined,
): R | Promise<R> {
  const missed = stored === undefined || stored === null;
  rt.misses.observe(missed);
  if (missed) {
    // A tier that keeps only what it read on its tracking connection keeps nothing the miss path
    // finds (a value that landed meanwhile, a lock holder's): that was read on the client's
    // connection, and on a cluster whose slot moved since the tracked read, no master may push its
    // next change to this process. The next call reads it on the tracking connection.
    if (rt.tier?.reader !== undefined) call.ticket = -1;
    return rt.holding(call, miss(rt, call));
  }
  const result = typeof stored === 'string' ? found(rt, call, stored) : found(rt, call, stored.value, stored.tags);
  if (result instanceof Promise) return rt.holding(call, result);
  rt.flights.detach(call.key, call);
  return result;
}

/** The read failed, timed out or was skipped: run the function without the store. */
function withoutStore<A extends unknown[], R>(rt: Runtime<A, R>, call: Call<R>, failure: MemoizeError): Promise<R> {
  rt.report(failure, call);
  return rt.holding(call, compute(rt, call, undefined));
}
