// How one function's store reads went lately, and whether its reads should begin the entry too.

/** Weight of the newest read in the decayed ratio: about the last 8 reads count. */
const WEIGHT = 1 / 8;
/** Above this share of misses, reads begin the entry (six misses in a row, from none). */
const ON = 0.5;
/** Below this, reads are plain again; the gap keeps a function near the line from flapping. */
const OFF = 0.25;

/**
 * A decayed ratio of misses over a function's recent store reads. While most of them miss, a read is
 * the store's `begin` (which answers a value when there is one), so a miss goes on to compute without
 * a round trip of its own; while most hit, a read stays the store's plain `get`, the cheapest hit.
 * Both kinds of read feed it, so a function whose pattern changes switches back.
 */
export class MissRatio {
  #ratio = 0;
  #begins = false;

  /** Counts one store read that found a value (`false`) or nothing (`true`). */
  observe(missed: boolean): void {
    this.#ratio += ((missed ? 1 : 0) - this.#ratio) * WEIGHT;
    if (this.#begins ? this.#ratio < OFF : this.#ratio > ON) this.#begins = !this.#begins;
  }

  /** Whether the next store read should begin the entry too. */
  get beginsOnRead(): boolean {
    return this.#begins;
  }
}
