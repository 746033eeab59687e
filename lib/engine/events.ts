import { performance } from 'node:perf_hooks';
import { type MemoizeError, safeString } from '../errors';
import type { CallEvent, ErrorEvent, Hooks } from '../options';

/** What hooks and reports need to know about one operation. */
export interface CallInfo {
  readonly key: string;
  readonly args: readonly unknown[];
  /** `performance.now()` when the call began. */
  readonly started: number;
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

/**
 * The hooks of one memoized function: its own and its memoizer's (read at each event, since the
 * memoizer's may be configured later). Every way a hook is run goes through here; no hook can break
 * a call.
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

  /** The function ran because the store had no usable value. */
  miss(info: CallInfo): void {
    const outer = this.memoizer().onMiss;
    const inner = this.own.onMiss;
    if (outer === undefined && inner === undefined) return;
    const event = this.#event(info);
    runHook(outer, event);
    runHook(inner, event);
  }

  /** Something went wrong and the call went on: `onError`, or an occasional process warning. */
  error(error: MemoizeError, info: CallInfo): void {
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

  #event(info: CallInfo): CallEvent {
    return { key: info.key, name: this.name, args: info.args, durationMs: performance.now() - info.started };
  }
}
