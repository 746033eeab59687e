import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { asyncRate, type Comparison, compareField, type Rate } from './lib/measure';
import type { BenchClient } from './lib/redis-client';
import { type BenchResult, verdict } from './lib/report';
import type { Contender } from './peers/contenders';
import { type RelatedPost, relatedPosts } from './peers/related-posts';

/** Settings of {@link runHit}. */
export interface HitOptions {
  /** The node-redis client of the raw baselines (cache-memoize's contenders share it). */
  client: BenchClient;
  /** The run's key tag: the raw keys contain it. */
  tag: string;
  contenders: readonly Contender[];
  rounds: number;
  /** Length of one round of one contender. @default 250 */
  roundMs?: number;
}

/** Distinct entries, one per lane: concurrent lanes measure hits, not single-flight joins. */
export const LANES = 100;

// The floor of a hit through Redis: one GET, without node-redis's per-command timeout (RedisStore
// turns it off: its own deadline replaces it), and the parse.
const BASELINE = 'client.get ({ timeout: 0 }) + JSON.parse';

/** Redis's count of key lookups so far (hits and misses, any client). */
async function keyspaceLookups(client: BenchClient): Promise<number> {
  const stats = await client.info('stats');
  const count = (field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(stats)?.[1] ?? Number.NaN);
  return count('keyspace_hits') + count('keyspace_misses');
}

/** How many key lookups Redis served while `work` ran (nothing else may use Redis meanwhile). */
async function redisReadsOf(client: BenchClient, work: () => Promise<void>): Promise<number> {
  const before = await keyspaceLookups(client);
  await work();
  return (await keyspaceLookups(client)) - before;
}

/** What {@link untilLocal} needs of a contender. */
export type LaneCaller = Pick<Contender, 'label' | 'call'>;

async function everyLane(c: LaneCaller): Promise<void> {
  for (let lane = 0; lane < LANES; lane++) await c.call(lane);
}

/**
 * Waits until every lane of a local-tier contender is answered in process. A lane still read from
 * Redis during a measured round would wait for its reply while the in-process lanes keep the event
 * loop busy for the whole round: timeouts, not hits.
 */
export async function untilLocal(client: BenchClient, c: LaneCaller): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    if ((await redisReadsOf(client, () => everyLane(c))) === 0) return;
    await sleep(20);
  }
  throw new Error(`${c.label}: hits still reach Redis after 50 passes over the keys`);
}

/** A call of one lane: lane `i` always reads entry `i`. */
export type LaneCall = (lane: number) => Promise<unknown>;

/**
 * The rounds of `rows` against `baseline`, at 1 and {@link LANES} calls in flight: each case's
 * name and one comparison per row.
 */
export async function laneField(
  baseline: LaneCall,
  rows: ReadonlyArray<{ call: LaneCall }>,
  rounds: number,
  roundMs: number,
): Promise<Array<{ inFlight: number; name: string; comparisons: Comparison[] }>> {
  const rate =
    (call: LaneCall, inFlight: number): Rate =>
    (ms) =>
      asyncRate(call, inFlight, ms);
  const cases = [];
  for (const inFlight of [1, LANES]) {
    const name = inFlight === 1 ? '1 in flight' : `${inFlight} in flight, ${LANES} keys`;
    const comparisons = await compareField({
      baseline: rate(baseline, inFlight),
      candidates: rows.map((row) => rate(row.call, inFlight)),
      rounds,
      roundMs,
      warmupMs: roundMs,
    });
    cases.push({ inFlight, name, comparisons });
  }
  return cases;
}

/**
 * Hit path: each contender's cached `getRelatedPosts` on entries already cached, at 1 and
 * {@link LANES} calls in flight, against `client.get` without node-redis's per-command timeout +
 * `JSON.parse` of the same value on the shared node-redis client; the default GET is a row of its own.
 * Throws if any contender ran its function during the measured rounds.
 */
export async function runHit(options: HitOptions): Promise<BenchResult[]> {
  const { client, tag, contenders, rounds, roundMs = 250 } = options;
  const rawKeys = Array.from({ length: LANES }, (_, lane) => `${tag}:raw:{${lane}}`);
  for (let lane = 0; lane < LANES; lane++) {
    await client.set(rawKeys[lane] ?? '', JSON.stringify(relatedPosts(lane)), { PX: 3_600_000 });
  }
  const expected = relatedPosts(7);
  for (const c of contenders) {
    await everyLane(c);
    if (c.computed() !== LANES) throw new Error(`${c.label}: priming computed ${c.computed()}, expected ${LANES}`);
    // Deep equality: async-cache-dedupe's serializer hands back the fields in sorted order.
    if (!isDeepStrictEqual(await c.call(7), expected)) throw new Error(`${c.label}: a hit returned another value`);
    if (c.local) await untilLocal(client, c);
  }

  const read = async (text: string | null): Promise<RelatedPost[]> => {
    if (text === null) throw new Error('raw key vanished');
    return JSON.parse(text) as RelatedPost[];
  };
  const bare = client.withCommandOptions({ timeout: 0 });
  const baseline = async (lane: number) => read(await bare.get(rawKeys[lane] ?? ''));
  const rows: Array<{ name: string; call: LaneCall }> = [
    { name: 'client.get + JSON.parse', call: async (lane) => read(await client.get(rawKeys[lane] ?? '')) },
    ...contenders.map((c) => ({ name: c.label, call: (lane: number) => c.call(lane) })),
  ];
  const results: BenchResult[] = [];
  for (const { inFlight, name, comparisons } of await laneField(baseline, rows, rounds, roundMs)) {
    comparisons.forEach((comparison, i) => {
      const candidateName = rows[i]?.name ?? '?';
      // A hit costs the Redis round trip, not the library (the local tier's target is in local-hit.ts).
      const target = inFlight === LANES && candidateName === 'cache-memoize' ? 0.9 : undefined;
      results.push(verdict(comparison, { suite: 'hit', case: name, baselineName: BASELINE, candidateName }, target));
    });
  }
  for (const c of contenders) {
    const missed = c.computed() - LANES;
    if (missed !== 0) throw new Error(`${c.label}: ${missed} calls missed the cache during the hit benchmark`);
    if (c.local && (await redisReadsOf(client, () => everyLane(c))) > 0) {
      throw new Error(`${c.label}: hits reached Redis after the benchmark`);
    }
  }
  return results;
}
