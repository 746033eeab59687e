/**
 * Wraps `warn` so that a burst of the same kind of message (say, a cache error on every request
 * while Redis is down) prints once per `intervalMs`, with a count of those held back.
 *
 * @example
 * ```ts
 * const report = throttle(console.warn);
 * report(error.code, `cache: ${error.message}`);
 * ```
 */
export function throttle(
  warn: (message: string) => void,
  intervalMs = 10_000,
  now: () => number = Date.now,
): (kind: string, message: string) => void {
  const last = new Map<string, { at: number; held: number }>();
  return (kind, message) => {
    const seen = last.get(kind);
    if (seen !== undefined && now() - seen.at < intervalMs) {
      seen.held++;
      return;
    }
    warn(seen !== undefined && seen.held > 0 ? `${message} (and ${seen.held} more like it)` : message);
    last.set(kind, { at: now(), held: 0 });
  };
}
