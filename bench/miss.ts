import { asyncRate, compareField, median, type Rate } from './lib/measure';
import { type BenchClient, serverCpuMicros, unlinkMatching } from './lib/redis-client';

import { type BenchResult, verdict } from './lib/report';
import type { Contender } from './peers/contenders';
import { relatedPosts } from './peers/related-posts';

/** Settings of {@link runMiss}. */
export interface MissOptions {
  /** The node-redis client of the raw baseline (cache-memoize's contenders share it). */
  client: BenchClient;
  /** The run's key tag: every contender's keys contain it, so each round can drop what it wrote. */
  tag: string;
  contenders: readonly Contender[];
  rounds: number;
  /** Length of one round of one contender. @default 250 */
  roundMs?: number;
}

const BASELINE = 'JSON.stringify + client.set PX';

/**
 * Miss path: every call takes a never-used argument, so each one computes the (cheap) value and
 * writes it, at 1 and 100 calls in flight, against `JSON.stringify` + `SET ... PX` of the same value.
 * Throws unless every measured call of every contender ran its function.
 */
export async function runMiss(options: MissOptions): Promise<BenchResult[]> {
  const { client, tag, contenders, rounds, roundMs = 250 } = options;
  // Above the hit path's lanes, and shared: each contender has its own key space.
  let nextPostId = 1_000;
  const calls = new Map<Contender, number>(contenders.map((c) => [c, 0]));
  const computedBefore = new Map<Contender, number>(contenders.map((c) => [c, c.computed()]));

  // The keys of one round are dropped after it, outside the timed part, so later rounds do not
  // run against a Redis grown by earlier ones. Each round also records Redis's CPU time per call
  // (`serverMicros`, the warm-up first): the server's share of a miss, which the client's rate hides.
  const rate =
    (call: () => Promise<unknown>, inFlight: number, serverMicros: number[]): Rate =>
    async (ms) => {
      let calls = 0;
      const counted = () => {
        calls++;
        return call();
      };
      const cpuBefore = await serverCpuMicros(client);
      const opsPerSecond = await asyncRate(counted, inFlight, ms);
      // The INFO read itself costs the server a few microseconds: nothing next to thousands of calls.
      serverMicros.push(((await serverCpuMicros(client)) - cpuBefore) / calls);
      await unlinkMatching(client, `*${tag}*`);
      return opsPerSecond;
    };
  const raw = (): Promise<unknown> => {
    const postId = nextPostId++;
    return client.set(`${tag}:raw-miss:{${postId}}`, JSON.stringify(relatedPosts(postId)), { PX: 3_600_000 });
  };
  const cached = (c: Contender) => (): Promise<unknown> => {
    calls.set(c, (calls.get(c) ?? 0) + 1);
    return c.call(nextPostId++);
  };

  const results: BenchResult[] = [];
  for (const inFlight of [1, 100]) {
    const baselineMicros: number[] = [];
    const candidateMicros = contenders.map((): number[] => []);
    const comparisons = await compareField({
      baseline: rate(raw, inFlight, baselineMicros),
      candidates: contenders.map((c, i) => rate(cached(c), inFlight, candidateMicros[i] ?? [])),
      rounds,
      roundMs,
      warmupMs: roundMs,
    });
    // The first figure of each is its warm-up's.
    const baseline = median(baselineMicros.slice(1));
    comparisons.forEach((comparison, i) => {
      const candidateName = contenders[i]?.label ?? '?';
      const serverMicros = { baseline, candidate: median((candidateMicros[i] ?? []).slice(1)) };
      results.push({
        ...verdict(comparison, { suite: 'miss', case: `${inFlight} in flight`, baselineName: BASELINE, candidateName }),
        serverMicros,
      });
    });
  }
  for (const c of contenders) {
    const ran = c.computed() - (computedBefore.get(c) ?? 0);
    if (ran !== calls.get(c)) throw new Error(`${c.label}: ${calls.get(c)} miss calls ran the function ${ran} times`);
  }
  return results;
}
