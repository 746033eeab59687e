import { performance } from 'node:perf_hooks';
import type { RunOptions } from '../guard';
import type { Store } from '../stores/store';
import type { Call, Runtime } from './runtime';

/**
 * Runs `work`, the round trip that creates or finds an entry's token (`begin`, `rotate`), under the
 * entry's circuit and, for a store whose function index lives apart from the entry (a cluster's, on
 * the index's own master), the entry's enrollment in that index alongside it, under the index's
 * circuit. Resolves once both answered, before the function runs. A failed enrollment rejects, so the
 * entry is not written and `invalidateAll` cannot miss it; a dead index master then costs the
 * function's misses their caching, and not the hits of the masters its entries live on.
 */
export function withEnrollment<T, A extends unknown[], R>(
  rt: Runtime<A, R>,
  call: Call<R>,
  operation: string,
  work: (store: Store) => Promise<T>,
  options: RunOptions,
): Promise<T> {
  const begun = call.guard.run(operation, work, options);
  const enrolled = enrollment(rt, call, options.explicit);
  return enrolled === undefined ? begun : Promise.all([begun, enrolled]).then(([value]) => value);
}

/**
 * The entry's enrollment alone, sent now under the index's circuit; `undefined` for a store without
 * an index apart from its entries. A read that begins the entry (`miss.ts readOrBegin`) sends it with
 * its begin and waits for it only when the begin found no value: a hit needs no enrollment.
 */
export function enrollment<A extends unknown[], R>(
  rt: Runtime<A, R>,
  call: Call<R>,
  explicit?: boolean,
): Promise<void> | undefined {
  const { store } = call.guard;
  const enroll = store.enroll;
  if (enroll === undefined) return undefined;
  const request = { key: call.key, tokenTtlMs: rt.settings.tokenTtlMs };
  call.enrolledAt = performance.now();
  return call.guard.run('enroll', (s) => enroll.call(s, request), {
    explicit,
    key: store.indexKeyOf?.(call.key) ?? call.key,
  });
}
