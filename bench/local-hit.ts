import { createClient } from 'redis';
import { LANES, laneField, untilLocal } from './hit';
import type { BenchClient } from './lib/redis-client';
import { type BenchResult, verdict } from './lib/report';
import type { Contender } from './peers/contenders';
import { type RelatedPost, relatedPosts } from './peers/related-posts';

/** Settings of {@link runLocalHit}. */
export interface LocalHitOptions {
  url: string;
  /** The node-redis client that wrote the entries, and counts Redis's lookups. */
  client: BenchClient;
  /** The run's key tag: the raw keys contain it. */
  tag: string;
  /** The contenders; those with a local tier are measured (primed by the hit suite). */
  contenders: readonly Contender[];
  rounds: number;
  /** Length of one round of one contender. @default 250 */
  roundMs?: number;
}

const BASELINE = 'Map.get + Promise.resolve';

/** The raw entries of the hit suite, read through node-redis's own client-side cache (RESP3 tracking). */
async function clientSideCache(url: string, tag: string) {
  const client = createClient({ url, RESP: 3, clientSideCache: { ttl: 0, maxEntries: 0 } });
  client.on('error', (error: unknown) => console.error('client-side cache client error:', error));
  await client.connect();
  return {
    label: 'node-redis clientSideCache get + JSON.parse',
    async call(lane: number): Promise<RelatedPost[]> {
      const text = await client.get(`${tag}:raw:{${lane}}`);
      if (text === null) throw new Error('raw key vanished');
      return JSON.parse(text) as RelatedPost[];
    },
    close: () => client.quit(),
  };
}

/**
 * A hit answered in this process, at 1 and {@link LANES} calls in flight, against the floor of any
 * such hit: a `Map.get` of the decoded value and a `Promise.resolve` (the call is async). Against the
 * same floor: node-redis's client-side cache (a GET it answers from memory, then `JSON.parse`).
 */
export async function runLocalHit(options: LocalHitOptions): Promise<BenchResult[]> {
  const { url, client, tag, contenders, rounds, roundMs = 250 } = options;
  const decoded = new Map<number, RelatedPost[]>();
  for (let lane = 0; lane < LANES; lane++) decoded.set(lane, relatedPosts(lane));
  const csc = await clientSideCache(url, tag);
  try {
    await untilLocal(client, csc);
    const local = contenders.filter((c) => c.local);
    const computed = local.map((c) => c.computed());
    const rows = [...local, csc];
    const results: BenchResult[] = [];
    const baseline = (lane: number) => Promise.resolve(decoded.get(lane));
    for (const { name, comparisons } of await laneField(baseline, rows, rounds, roundMs)) {
      comparisons.forEach((comparison, i) => {
        const candidateName = rows[i]?.label ?? '?';
        const target = candidateName === 'cache-memoize { local: true }' ? 0.6 : undefined;
        results.push(
          verdict(comparison, { suite: 'local', case: name, baselineName: BASELINE, candidateName }, target),
        );
      });
    }
    const moved = local.filter((c, i) => c.computed() !== computed[i]);
    if (moved.length > 0) throw new Error(`${moved[0]?.label}: ran its function during the local-hit benchmark`);
    return results;
  } finally {
    await csc.close();
  }
}
