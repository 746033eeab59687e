import type { MemoizeError } from './errors';

const WARN_EVERY_MS = 60_000;
const lastWarned = new Map<string, number>();

/** Runs one observation hook; a hook that throws becomes a process warning, never the caller's problem. */
export function runHook<E>(hook: ((event: E) => void) | undefined, event: E): void {
  if (hook === undefined) return;
  try {
    hook(event);
  } catch (error) {
    process.emitWarning(`cache-memoize: a hook threw: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * A failure nobody listens for (no `onError` hook anywhere) still leaves a trace: a process warning,
 * at most one a minute per error code, so a dead Redis is visible without flooding the log.
 */
export function warnUnheard(error: MemoizeError): void {
  const now = Date.now();
  const last = lastWarned.get(error.code);
  if (last !== undefined && now - last < WARN_EVERY_MS) return;
  lastWarned.set(error.code, now);
  process.emitWarning(
    `${error.message} (set onError to see every failure; this warning repeats at most once a minute)`,
    {
      code: `CACHE_MEMOIZE_${error.code}`,
    },
  );
}
