import { performance } from 'node:perf_hooks';

/** Runs one contender for about `budgetMs` and resolves its throughput in operations per second. */
export type Rate = (budgetMs: number) => number | Promise<number>;

/** Medians of interleaved rounds of a baseline and a candidate, and their ratio. */
export interface Comparison {
  /** Throughput of every measured baseline round, in run order. */
  baselineRounds: number[];
  /** Throughput of every measured candidate round, in run order. */
  candidateRounds: number[];
  baselineMedian: number;
  candidateMedian: number;
  /** `candidateMedian / baselineMedian`: above 1 means the candidate is faster. */
  ratio: number;
  /** Smallest and largest candidate/baseline ratio of a single round pair: the noise band. */
  pairRatioMin: number;
  pairRatioMax: number;
}

/** Settings of {@link compare}. */
export interface CompareOptions {
  baseline: Rate;
  candidate: Rate;
  /** Measured rounds per contender. */
  rounds: number;
  /** Length of one round of one contender. */
  roundMs: number;
  /** Unmeasured time per contender before the first round, so both are JIT-compiled. */
  warmupMs: number;
}

// Results flow here so the optimizer cannot drop the work being timed.
let sink = 0;

/** Feeds a result to the dead-code sink (cheaply: length or truthiness only). */
export function consume(value: unknown): void {
  sink += typeof value === 'string' || Array.isArray(value) ? value.length : value ? 1 : 0;
}

/** The sink's total, for printing once so the work stays observable. */
export function sinkValue(): number {
  return sink;
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const hi = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? hi : ((sorted[mid - 1] ?? Number.NaN) + hi) / 2;
}

/**
 * Throughput of a synchronous function: calls it in batches until `budgetMs` has passed.
 * Batches keep the clock reads out of the timed work.
 */
export function syncRate(fn: () => unknown, budgetMs: number, batch = 64): number {
  const start = performance.now();
  const end = start + budgetMs;
  let ops = 0;
  let now = start;
  do {
    for (let i = 0; i < batch; i++) consume(fn());
    ops += batch;
    now = performance.now();
  } while (now < end);
  return (ops * 1000) / (now - start);
}

/**
 * Throughput of an async call with `inFlight` independent loops ("lanes") running until `budgetMs`
 * has passed; lane `i` always calls `call(i)`. One lane is the sequential case.
 */
export async function asyncRate(
  call: (lane: number) => Promise<unknown>,
  inFlight: number,
  budgetMs: number,
): Promise<number> {
  const start = performance.now();
  const end = start + budgetMs;
  let ops = 0;
  const lane = async (i: number): Promise<void> => {
    while (performance.now() < end) {
      consume(await call(i));
      ops++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, (_, i) => lane(i)));
  return (ops * 1000) / (performance.now() - start);
}

/** Settings of {@link compareField}. */
export interface FieldOptions {
  baseline: Rate;
  candidates: readonly Rate[];
  /** Measured rounds per contender. */
  rounds: number;
  /** Length of one round of one contender. */
  roundMs: number;
  /** Unmeasured time per contender before the first round, so each is JIT-compiled. */
  warmupMs: number;
}

/** The comparison of a baseline and a candidate from their rounds, paired in order. */
export function summarize(baselineRounds: number[], candidateRounds: number[]): Comparison {
  const pairRatios = candidateRounds.map((c, i) => c / (baselineRounds[i] ?? Number.NaN));
  const baselineMedian = median(baselineRounds);
  const candidateMedian = median(candidateRounds);
  return {
    baselineRounds,
    candidateRounds,
    baselineMedian,
    candidateMedian,
    ratio: candidateMedian / baselineMedian,
    pairRatioMin: Math.min(...pairRatios),
    pairRatioMax: Math.max(...pairRatios),
  };
}

/**
 * Measures a baseline and several candidates in the same process, interleaved round by round: every
 * round runs each contender once, starting one further along the list each round, so garbage or heat
 * left by one contender is not always paid by the same next one. Resolves one {@link Comparison}
 * per candidate, each against the baseline rounds of the same rounds.
 */
export async function compareField(options: FieldOptions): Promise<Comparison[]> {
  const { baseline, candidates, rounds, roundMs, warmupMs } = options;
  const contenders = [baseline, ...candidates];
  for (const rate of contenders) await rate(warmupMs);
  const measured = contenders.map((): number[] => []);
  for (let r = 0; r < rounds; r++) {
    for (let step = 0; step < contenders.length; step++) {
      const index = (r + step) % contenders.length;
      const rate = contenders[index];
      if (rate !== undefined) measured[index]?.push(await rate(roundMs));
    }
  }
  const [baselineRounds = [], ...candidateRounds] = measured;
  return candidateRounds.map((rounds) => summarize(baselineRounds, rounds));
}

/** {@link compareField} with one candidate: the order alternates B C, C B, B C, ... */
export async function compare(options: CompareOptions): Promise<Comparison> {
  const { candidate, ...rest } = options;
  const [comparison] = await compareField({ ...rest, candidates: [candidate] });
  if (comparison === undefined) throw new Error('compareField returned no comparison');
  return comparison;
}
