import { channel, tracingChannel } from 'node:diagnostics_channel';
import type { MemoizeError } from './errors';

/**
 * The name of the `node:diagnostics_channel` TracingChannel on which every call of a memoized
 * function is traced (`f(...)`, and each entry of `f.many`): `start` and `end` around its
 * synchronous part, then `asyncStart` and `asyncEnd` when it settles, and `error` when it rejects.
 * Each event receives the same {@link CallContext}. Nothing is traced, and nothing costs, while no
 * one subscribes.
 *
 * @example
 * ```ts
 * import { tracingChannel } from 'node:diagnostics_channel';
 * import { CALL_CHANNEL, type CallContext } from 'cache-memoize';
 *
 * tracingChannel<unknown, CallContext>(CALL_CHANNEL).subscribe({
 *   start() {},
 *   end() {},
 *   asyncStart() {},
 *   asyncEnd: (call) => console.log(call.name, call.key, call.outcome),
 *   error: (call) => console.log(call.name, 'rejected', call.error),
 * });
 * ```
 */
export const CALL_CHANNEL = 'cache-memoize:call';

/**
 * The name of the plain diagnostics channel on which every failure the library reports (the ones
 * `onError` hears) is published as an {@link ErrorMessage}, whether or not any hook is set.
 */
export const ERROR_CHANNEL = 'cache-memoize:error';

/**
 * How a traced call got its result:
 * - `hit`: a fresh value from the store;
 * - `local`: a value from the in-process `local` tier, without a round trip;
 * - `stale`: a value past its `ttl`, served while it is refreshed (stale-while-revalidate);
 * - `miss`: the function ran (the store had no usable value, or failed; see {@link ERROR_CHANNEL});
 * - `error`: the call rejected (the function threw, or the arguments cannot be keyed).
 *
 * A call that joined another one in flight for the same key (single-flight) takes that call's outcome.
 */
export type CallOutcome = 'hit' | 'local' | 'stale' | 'miss' | 'error';

/** The context of one traced call: every event of its trace receives this same object. */
export interface CallContext {
  /** The memoized function's name as used in keys. */
  readonly name: string;
  /** The entry's key; `undefined` only when the arguments cannot be keyed (the call then rejects). */
  readonly key: string | undefined;
  /** The arguments of the call, as passed (before `keyArgs`). */
  readonly args: readonly unknown[];
  /** How the call got its result; set before `asyncStart`, `undefined` until then. */
  outcome: CallOutcome | undefined;
  /** The result, set by `node:diagnostics_channel` before `asyncStart` when the call resolves. */
  result?: unknown;
  /** What the call rejected with, set by `node:diagnostics_channel` before `error`. */
  error?: unknown;
}

/** What {@link ERROR_CHANNEL} publishes: one reported failure. */
export interface ErrorMessage {
  /** The memoized function's name as used in keys. */
  readonly name: string;
  /** The entry's key, or the function's key prefix for a failure about all of its entries. */
  readonly key: string;
  /** What went wrong; `error.code` says which kind, `error.cause` keeps the original. */
  readonly error: MemoizeError;
}

/** The call TracingChannel; only the engine's events module publishes on it. */
export const callChannel = tracingChannel<unknown, CallContext>(CALL_CHANNEL);

/** The failures channel; only the engine's events module publishes on it. */
export const errorChannel = channel(ERROR_CHANNEL);

const { start, end, asyncStart, asyncEnd, error } = callChannel;

/**
 * Whether anyone subscribes to any event of the call channel. Asked of each channel (cheap getters)
 * rather than of the TracingChannel, whose `hasSubscribers` only Node 20.13 and later have.
 */
export function tracing(): boolean {
  return (
    start.hasSubscribers ||
    end.hasSubscribers ||
    asyncStart.hasSubscribers ||
    asyncEnd.hasSubscribers ||
    error.hasSubscribers
  );
}
