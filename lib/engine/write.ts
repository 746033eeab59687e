// One write of an entry under its token, for results and cached errors alike.

import { performance } from 'node:perf_hooks';
import type { WriteRequest } from '../stores/store';
import type { Call, Runtime } from './runtime';

/** How long ago the call sent its entry's enrollment, if it did (see `WriteRequest.enrolledMsAgo`). */
export function enrolledMsAgo<R>(call: Call<R>): number | undefined {
  return call.enrolledAt === undefined ? undefined : performance.now() - call.enrolledAt;
}

/**
 * Writes an entry under its token (the write releases the lock it names); a write refused because
 * the entry was invalidated meanwhile marks the call superseded. A failure is reported, never thrown.
 * @returns whether the store answered
 */
export async function writeEntry<A extends unknown[], R>(
  rt: Runtime<A, R>,
  call: Call<R>,
  request: WriteRequest,
): Promise<boolean> {
  try {
    const written = await call.guard.run('write', (store) => store.set(request), {
      explicit: call.explicit,
      key: call.key,
    });
    if (!written) call.superseded = true;
    return true;
  } catch (error) {
    rt.report(error, call, 'write');
    return false;
  }
}
