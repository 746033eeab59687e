import { MemoizeError } from './errors';
import { StoreGuard } from './guard';
import { msOption } from './option-values';
import type { StoreSettings } from './settings';
import type { Store } from './stores/store';

// Readiness: whether a memoizer's store answers yet. At startup a client connects in the background
// and calls made meanwhile run uncached; `ready()` lets a program wait for the store, within a bound,
// without ever failing because the store is down.

/** How long `ready()` waits when not told. */
export const DEFAULT_READY_TIMEOUT_MS = 5000;
/** How often the store is asked again while it does not answer. */
const RETRY_MS = 50;
/** Failures that say the store did not answer; any other answer, even a refusal, is an answer. */
const SILENT = new Set(['E_UNAVAILABLE', 'E_TIMEOUT', 'E_CIRCUIT_OPEN', 'E_NOT_CONFIGURED']);

/** What readiness asks of a memoizer, read at each attempt (it may be configured meanwhile). */
export interface ReadinessSource {
  /** The memoizer's store. @throws MemoizeError `E_NOT_CONFIGURED` when there is none yet. */
  store(): Store;
  storeSettings(): StoreSettings;
  /** A key the store may read (under the memoizer's keyPrefix, for users limited by ACL patterns). */
  probeKey(): string;
}

/**
 * Resolves `true` as soon as the store answers one read (under its deadline), `false` once
 * `timeout` passes; never rejects for a store that is down, slow or not configured yet.
 * @throws TypeError when `timeout` is not a positive number of milliseconds, `Infinity` or a duration string
 */
export function whenReady(source: ReadinessSource, timeout: unknown = DEFAULT_READY_TIMEOUT_MS): Promise<boolean> {
  const timeoutMs = msOption(timeout, 'the timeout of ready()', true);
  return new Promise((resolve) => {
    let settled = false;
    let retry: NodeJS.Timeout | undefined;
    const deadline = Number.isFinite(timeoutMs) ? setTimeout(() => finish(false), timeoutMs) : undefined;
    function finish(ready: boolean): void {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(retry);
      resolve(ready);
    }
    function attempt(): void {
      answers(source).then((answered) => {
        if (answered) finish(true);
        else if (!settled) retry = setTimeout(attempt, RETRY_MS);
      });
    }
    attempt();
  });
}

/** One read of the probe key through the guard: whether the store answered it. Never rejects. */
async function answers(source: ReadinessSource): Promise<boolean> {
  try {
    const guard = new StoreGuard(source.store(), source.storeSettings());
    await guard.run('ready', (store) => store.get(source.probeKey()), { explicit: true });
    return true;
  } catch (error) {
    return !(error instanceof MemoizeError && SILENT.has(error.code));
  }
}
