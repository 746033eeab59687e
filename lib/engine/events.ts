import { performance } from 'node:perf_hooks';
import { type MemoizeError, safeString } from '../errors';
import type { CallEvent, ErrorEvent, Hooks } from '../options';
import { type CallContext, type CallOutcome, callChannel, errorChannel } from '../tracing';

/** What hooks, reports and traces need to know about one operation. */
export interface CallInfo {
  readonly key: string;
  readonly args: readonly unknown[];
  /** `performance.now()` when the call began. */
  readonly started: number;
  /** How it got its result, once known: set here, read by calls that joined it. */
  outcome?: CallOutcome | undefined;
  /** The trace of the call it answers, when one is traced. */
  readonly trace?: CallContext | undefined;
}

/** A call that can be joined: its outcome is known once its promise settles. */
interface Joinable {
  readonly outcome?: CallOutcome | undefined;
}

const WARN_EVERY_MS = 60_000;
const lastWarned = new Map<string, number>();

/** Runs one hook; whatever it throws, or its promise rejects with, becomes a process warning. */
function runHook<E>(hook: ((event: E) => void) | undefined, event: E): void {
  if (hook === undefined) return;
  try {
    const returned: unknown = hook(event);
    if (typeof (returned as PromiseLike<unknown> | null)?.then === 'function') {
      (returned as PromiseLike<unknown>).then(undefined, warnHookFailed);
    }
  } catch (error) {
    warnHookFailed(error);
  }
}

function warnHookFailed(error: unknown): void {
  process.emitWarning(`cache-memoize: a hook threw: ${describeThrown(error)}`);
}

/** What a hook threw, as text: it may be anything, even a value whose every property access throws. */
function describeThrown(error: unknown): string {
  try {
    return error instanceof Error ? safeString(error.message) : safeString(error);
  } catch {
    return 'a value that cannot be described';
  }
}

/**
 * A failure nobody listens for (no `onError` hook anywhere) still leaves a trace: a process warning,
 * at most one a minute per error code, so a dead Redis is visible without flooding the log.
 */
function warnUnheard(error: MemoizeError): void {
  const now = Date.now();
  const last = lastWarned.get(error.code);
  if (last !== undefined && now - last < WARN_EVERY_MS) return;
  lastWarned.set(error.code, now);
  process.emitWarning(
    `${error.message} (set onError to see every failure; this warning repeats at most once a minute)`,
    { code: `CACHE_MEMOIZE_${error.code}` },
  );
}

/** Sets the outcome of a call and of its trace, if it has one. */
function settle(info: CallInfo, outcome: CallOutcome): void {
  info.outcome = outcome;
  if (info.trace !== undefined) info.trace.outcome = outcome;
}

/** A traced call's work: a rejection is its outcome too, set before the channel hears of it. */
function traceable<T>(run: (trace: CallContext) => Promise<T>, trace: CallContext): Promise<T> {
  return run(trace).then(undefined, (error: unknown) => {
    trace.outcome = 'error';
    throw error;
  });
}

function rejecting(error: unknown): Promise<never> {
  return Promise.reject(error);
}

/**
 * The hooks of one memoized function: its own and its memoizer's (read at each event, since the
 * memoizer's may be configured later), and the diagnostics channels (`cache-memoize:call`,
 * `cache-memoize:error`). Every way a hook is run, and every message published, goes through here;
 * no hook can break a call. (A channel subscriber that throws is Node's to report: it becomes an
 * uncaught exception, as with any diagnostics channel.)
 */
export class Events {
  constructor(
    /** The function's name as used in keys. */
    readonly name: string,
    /** The function's own hooks. */
    readonly own: Hooks,
    /** The memoizer's hooks, now. */
    readonly memoizer: () => Hooks,
  ) {}

  /** A hit from the store (`stale`: past its ttl, served while refreshing) or the local tier. */
  hit(info: CallInfo, kind?: 'stale' | 'local'): void {
    settle(info, kind ?? 'hit');
    const outer = this.memoizer().onHit;
    const inner = this.own.onHit;
    if (outer === undefined && inner === undefined) return;
    const event = this.#event(info);
    if (kind !== undefined) event[kind] = true;
    runHook(outer, event);
    runHook(inner, event);
  }

  /** Whether an `onHit` hook is set, the function's or its memoizer's: a local hit asks once, before its event. */
  hearsHits(): boolean {
    return this.own.onHit !== undefined || this.memoizer().onHit !== undefined;
  }

  /**
   * A hit from the local tier (a hot path): the trace learns its outcome; the event is made only when
   * a hook hears it, which the caller found out before reading the clock (`started` is -1 otherwise).
   */
  localHit(key: string, args: readonly unknown[], started: number, trace: CallContext | undefined): void {
    if (trace !== undefined) trace.outcome = 'local';
    if (started >= 0) this.hit({ key, args, started }, 'local');
  }

  /** The function ran because the store had no usable value. */
  miss(info: CallInfo): void {
    settle(info, 'miss');
    const outer = this.memoizer().onMiss;
    const inner = this.own.onMiss;
    if (outer === undefined && inner === undefined) return;
    const event = this.#event(info);
    runHook(outer, event);
    runHook(inner, event);
  }

  /** Something went wrong and the call went on: `onError`, or an occasional process warning. */
  error(error: MemoizeError, info: CallInfo): void {
    if (errorChannel.hasSubscribers) errorChannel.publish({ name: this.name, key: info.key, error });
    const outer = this.memoizer().onError;
    const inner = this.own.onError;
    if (outer === undefined && inner === undefined) {
      warnUnheard(error);
      return;
    }
    const event: ErrorEvent = { ...this.#event(info), error };
    runHook(outer, event);
    runHook(inner, event);
  }

  /**
   * Runs one call on the call channel: `run` gets the trace, which the call passes on to what it
   * starts, so that the events above set its outcome. Only called while someone subscribes.
   */
  traced<T>(key: string, args: readonly unknown[], run: (trace: CallContext) => Promise<T>): Promise<T> {
    const trace: CallContext = { name: this.name, key, args, outcome: undefined };
    return callChannel.tracePromise(
      traceable,
      trace,
      undefined,
      run as (trace: CallContext) => Promise<unknown>,
      trace,
    ) as Promise<T>;
  }

  /** A call whose arguments cannot be keyed rejects with `error`, traced when someone subscribes. */
  unkeyable(args: readonly unknown[], error: unknown, traced: boolean): Promise<never> {
    if (!traced) return Promise.reject(error);
    const trace: CallContext = { name: this.name, key: undefined, args, outcome: 'error' };
    return callChannel.tracePromise(rejecting, trace, undefined, error) as Promise<never>;
  }

  /** A traced call that joined `flight` takes its outcome (known once the flight has settled). */
  joined(trace: CallContext | undefined, flight: Joinable): void {
    if (trace !== undefined) trace.outcome = flight.outcome;
  }

  #event(info: CallInfo): CallEvent {
    return { key: info.key, name: this.name, args: info.args, durationMs: performance.now() - info.started };
  }
}
