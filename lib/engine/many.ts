import { AsyncResource } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import type { MemoizeError } from '../errors';
import type { StoreGuard } from '../guard';
import type { ReadManyRequest, Store } from '../stores/store';
import { type CallContext, tracing } from '../tracing';
import { type PendingRead, pendingRead, read, withoutRead } from './read-path';
import type { Runtime } from './runtime';

// `f.many(argsList)`: the entries of many calls read together. Each entry is a call of its own to
// everything but the store read: local tier first, then a flight to join, and a miss goes through
// the miss path (single-flight, locks, fill). Only the reads of the remaining entries are batched:
// one `getMany` per circuit (per cluster master), each under the deadline and the breaker.

/** The entries of one batched read: the keys of one circuit, and the flight each answer settles. */
type Group<R> = Array<{ readonly key: string; readonly flight: PendingRead<R> }>;

/**
 * A traced entry's flight, settled in the entry's own async context, not the batch's: the miss path
 * then runs inside the stores its trace bound (a tracer's active span), as a single call's does.
 */
function inTraceContext<R>(flight: PendingRead<R>): PendingRead<R> {
  return {
    promise: flight.promise,
    answered: AsyncResource.bind((stored: string | null | undefined) => flight.answered(stored)),
    failed: AsyncResource.bind((error: MemoizeError) => flight.failed(error)),
  };
}

/**
 * Every result of `argsList`, in order; rejects like `Promise.all` of the single calls. The one
 * place that decides how a function's entries are read together: a store without `getMany`, or a
 * tagged function, reads each entry as a single call would.
 */
export function many<A extends unknown[], R>(rt: Runtime<A, R>, argsList: readonly A[]): Promise<R[]> {
  if (!isListOfLists(argsList)) {
    return Promise.reject(
      new TypeError(`cache-memoize: ${rt.settings.name}.many takes an array of argument lists, e.g. many([[1], [2]])`),
    );
  }
  let guard: StoreGuard;
  try {
    guard = rt.guard();
  } catch (error) {
    return Promise.reject(error);
  }
  // A tagged entry's stamp must be checked with its value (a script, or a second round trip on a
  // cluster), which a batched MGET does not do: tagged functions read each entry as a single call.
  // So does a local tier whose tracking hears only the keys read through it: it reads there.
  if (guard.store.getMany === undefined || rt.settings.tags !== undefined || rt.tier?.reader !== undefined) {
    return Promise.all(argsList.map((args) => read(rt, args)));
  }
  return readTogether(rt, guard, argsList);
}

function isListOfLists(value: unknown): boolean {
  return Array.isArray(value) && value.every((args) => Array.isArray(args));
}

/** Sets each entry on its way, then sends one batched read per circuit. */
function readTogether<A extends unknown[], R>(
  rt: Runtime<A, R>,
  guard: StoreGuard,
  argsList: readonly A[],
): Promise<R[]> {
  const started = rt.tier !== undefined && rt.events.hearsHits() ? performance.now() : -1;
  const traced = tracing();
  const groups = new Map<object, Group<R>>();
  const results = argsList.map((args): Promise<R> => {
    let key: string;
    try {
      key = rt.keyFor(args);
    } catch (error) {
      return rt.events.unkeyable(args, error, traced);
    }
    if (!traced) return entry(rt, guard, groups, key, args, started, undefined);
    return rt.events.traced(key, args, (trace) => entry(rt, guard, groups, key, args, started, trace));
  });
  for (const group of groups.values()) send(guard, group);
  return Promise.all(results);
}

/**
 * One entry: a local hit, or a flight to join (an earlier entry of the same list, or a call in
 * flight), or a new flight whose read joins its circuit's group.
 */
function entry<A extends unknown[], R>(
  rt: Runtime<A, R>,
  guard: StoreGuard,
  groups: Map<object, Group<R>>,
  key: string,
  args: A,
  started: number,
  trace: CallContext | undefined,
): Promise<R> {
  const answered = withoutRead(rt, key, args, started, trace);
  if (answered !== undefined) return answered;
  const pending = pendingRead(rt, guard, key, args, trace);
  const flight = trace === undefined ? pending : inTraceContext(pending);
  const circuit = guard.store.circuitKeyFor?.(key) ?? guard.store;
  const group = groups.get(circuit);
  if (group === undefined) groups.set(circuit, [{ key, flight }]);
  else group.push({ key, flight });
  return flight.promise;
}

/** One guarded `getMany` for a group: each answer settles its flight, a failure fails them all. */
function send<R>(guard: StoreGuard, group: Group<R>): void {
  const request: ReadManyRequest = { keys: group.map((e) => e.key) };
  const getMany = (store: Store) => store.getMany?.(request) ?? Promise.resolve([]);
  guard.run('read', getMany, { key: request.keys[0] }).then(
    (values) => {
      group.forEach((e, i) => {
        e.flight.answered(values[i]);
      });
    },
    (error: MemoizeError) => {
      for (const e of group) e.flight.failed(error);
    },
  );
}
