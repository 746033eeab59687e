/**
 * How long a compute lock should live when the caller did not say: twice the slowest recent
 * computation, at least `floorMs`. Recent: each observation decays the remembered maximum by 10%, so
 * one freak run does not inflate locks for ever.
 */
export class ComputeTimes {
  #slowest = 0;

  /** Records one computation's duration. */
  observe(ms: number): void {
    this.#slowest = Math.max(ms, this.#slowest * 0.9);
  }

  /** The lock lifetime to use now. */
  lockTtlMs(floorMs: number): number {
    return Math.max(floorMs, Math.ceil(2 * this.#slowest));
  }
}
