/** The local tiers whose cross-process invalidation is timed. */
export type SideKind = 'memoize-local' | 'bentocache-tiered';

/** The version a reader's own function returns: seeing it means the reader computed the entry itself. */
export const COMPUTED_BY_READER = -1;

/** Reader (process A) to the bench process. */
export type FromReader =
  /** A read returned a version it had not returned before; `at` is wall-clock ms (sub-ms precision). */
  { op: 'seen'; version: number; at: number } | { op: 'failed'; error: string };

/** The bench process to the reader. */
export type ToReader = { op: 'quit' };

/** Wall-clock time in ms with sub-millisecond precision, comparable between processes on one machine. */
export function wallClock(): number {
  return performance.timeOrigin + performance.now();
}
