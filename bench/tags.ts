import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnRedis } from '../__tests__/helpers/redis-server';
import { lockKeyOf, stampKeyOf, tagKey, tokenKeyOf } from '../lib/key';
import { createMemoizer } from '../lib/memoizer';
import { RedisStore } from '../lib/stores/redis/store';
import { encodeStamp } from '../lib/stores/tag-stamp';
import { asyncRate, compareField, median, sinkValue } from './lib/measure';
import { type BenchClient, connectClient } from './lib/redis-client';

// npm run bench:tags: what tags cost, on a redis-server spawned for the run (SECTIONS=hits,tags,all
// picks some; ROUNDS sets the rounds of the hit comparisons).
//  1. Tagged hits (1 and 5 tags) as a ratio to an untagged hit of the same value, at 1 and 100 in
//     flight, with and without the local tier: interleaved rounds in one process, medians and the
//     range of the per-round ratios.
//  2. invalidateTags latency for one tag carried by 10, 1,000 and 100,000 entries.
//  3. invalidateAll of 100 entries among 0 and 1,000,000 foreign keys: the index (now) against the
//     SCAN it replaced (a copy of the old code path, below).

type Client = BenchClient;
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const SECTIONS = (process.env.SECTIONS ?? 'hits,tags,all').split(',');
const ROUND_MS = 300;
const LANES = 100;

function fmt(n: number, digits = 2): string {
  return n.toFixed(digits);
}

/** Nearest-rank percentile of a sorted list. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function hits(client: Client): Promise<string[]> {
  const rows = ['| in flight | local | 1 tag | 5 tags |', '|---|---|---|---|'];
  for (const local of [false, true]) {
    // Every measured call must be a hit: a miss or an error (the call then runs fn without Redis) would
    // be counted as a very fast hit.
    const off: string[] = [];
    const memoize = createMemoizer({
      store: new RedisStore(client),
      keyPrefix: `bench-hit-${local}`,
      timeout: 5000,
      onHit: (e) => void (local && e.local !== true && off.push(`store hit ${e.name}`)),
      onMiss: (e) => void off.push(`miss ${e.name}`),
      onError: (e) => void off.push(`${e.error.code} ${e.name}`),
    });
    const value = { id: 1, title: 'a post', related: [2, 3, 5, 8, 13] };
    const make = (name: string, tags: string[] | undefined) =>
      memoize(async (lane: number) => ({ ...value, lane }), { name, local, ...(tags && { tags }) });
    const untagged = make('untagged', undefined);
    const one = make('one', ['bench:a']);
    const five = make('five', ['bench:a', 'bench:b', 'bench:c', 'bench:d', 'bench:e']);
    for (const f of [untagged, one, five]) for (let lane = 0; lane < LANES; lane++) await f(lane);
    // Local values are kept from a read once tracking covers them (the first one wrote them).
    for (let pass = 0; local && pass < 50; pass++) {
      off.length = 0;
      for (const f of [untagged, one, five]) for (let lane = 0; lane < LANES; lane++) await f(lane);
      if (off.length === 0) break;
      await sleep(20);
    }
    off.length = 0;
    for (const inFlight of [1, LANES]) {
      const rate = (f: (lane: number) => Promise<unknown>) => (ms: number) => asyncRate(f, inFlight, ms);
      const [r1, r5] = await compareField({
        baseline: rate(untagged),
        candidates: [rate(one), rate(five)],
        rounds: ROUNDS,
        roundMs: ROUND_MS,
        warmupMs: ROUND_MS,
      });
      const cell = (c: typeof r1) =>
        c === undefined ? '' : `${fmt(c.ratio)}x (${fmt(c.pairRatioMin)}–${fmt(c.pairRatioMax)})`;
      if (off.length > 0) throw new Error(`calls that were not hits: ${[...new Set(off)].join(', ')}`);
      rows.push(`| ${inFlight} | ${local ? 'yes' : 'no'} | ${cell(r1)} | ${cell(r5)} |`);
      console.error(`hit ${inFlight} in flight, local ${local}: untagged ${Math.round(r1?.baselineMedian ?? 0)}/s`);
    }
  }
  return rows;
}

/** Writes `n` entries carrying `tag` the way the store does (value and stamp), pipelined. */
async function fillTagged(client: Client, prefix: string, tag: string, n: number): Promise<void> {
  const stamp = encodeStamp({ epoch: '0', tags: [tag] });
  await client.set(tagKey(tag), '0');
  for (let start = 0; start < n; start += 5000) {
    const batch: string[] = [];
    for (let i = start; i < Math.min(n, start + 5000); i++) {
      const key = `${prefix}:{${i}}`;
      batch.push(key, '{"v":1}', stampKeyOf(key), stamp);
    }
    await client.mSet(batch);
  }
}

async function tagInvalidation(client: Client): Promise<string[]> {
  const rows = ['| entries carrying the tag | median | p99 | range |', '|---|---|---|---|'];
  const memoize = createMemoizer({ store: new RedisStore(client), keyPrefix: 'bench-tags', timeout: 5000 });
  for (const n of [10, 1_000, 100_000]) {
    const tag = `bench:carried-by-${n}`;
    await fillTagged(client, `bench-tags:f${n}`, tag, n);
    const samples: number[] = [];
    for (let i = 0; i < 200; i++) {
      const start = performance.now();
      await memoize.invalidateTags([tag]);
      samples.push(performance.now() - start);
    }
    samples.sort((a, b) => a - b);
    rows.push(
      `| ${n.toLocaleString('en')} | ${fmt(median(samples), 3)} ms | ${fmt(percentile(samples, 99), 3)} ms | ` +
        `${fmt(samples[0] ?? 0, 3)}–${fmt(samples[samples.length - 1] ?? 0, 3)} ms |`,
    );
  }
  return rows;
}

/** The invalidateAll this version replaced: SCAN every key for the prefix, one UNLINK per entry. */
async function invalidateAllByScan(client: Client, entriesPrefix: string): Promise<void> {
  for await (const keys of client.scanIterator({ MATCH: `${entriesPrefix}*`, COUNT: 1000 })) {
    // Value keys: their token and lock are side keys, outside the prefix.
    await Promise.all(keys.map((k) => client.unlink([k, tokenKeyOf(k), lockKeyOf(k)])));
  }
}

async function invalidateAll(client: Client): Promise<string[]> {
  const rows = ['| foreign keys | SCAN (before) | index (now) | ratio |', '|---|---|---|---|'];
  const memoize = createMemoizer({ store: new RedisStore(client), keyPrefix: 'bench-all', timeout: 60_000 });
  const f = memoize(async function entries(n: number) {
    return n;
  });
  for (const foreign of [0, 1_000_000]) {
    await client.flushAll();
    if (foreign > 0) await client.sendCommand(['DEBUG', 'POPULATE', String(foreign), 'foreign']);
    const times = { scan: [] as number[], index: [] as number[] };
    for (let round = 0; round < 5; round++) {
      for (const way of round % 2 === 0 ? (['scan', 'index'] as const) : (['index', 'scan'] as const)) {
        await Promise.all(Array.from({ length: 100 }, (_, i) => f(i)));
        await sleep(50);
        const start = performance.now();
        if (way === 'index') await f.invalidateAll();
        else await invalidateAllByScan(client, 'bench-all:entries:{');
        times[way].push(performance.now() - start);
      }
    }
    const [s, x] = [median(times.scan), median(times.index)];
    const range = (t: number[]) => `${fmt(Math.min(...t))}–${fmt(Math.max(...t))}`;
    rows.push(
      `| ${foreign.toLocaleString('en')} | ${fmt(s)} ms (${range(times.scan)}) | ${fmt(x)} ms (${range(times.index)}) | ` +
        `${fmt(s / x, 1)}x |`,
    );
  }
  return rows;
}

async function main(): Promise<void> {
  const server = await spawnRedis({ args: ['--enable-debug-command', 'yes'] });
  const client = await connectClient(server.url);
  try {
    const started = new Date().toISOString();
    const sections: Array<[string, string[]]> = [];
    if (SECTIONS.includes('hits')) {
      sections.push([
        'Tagged hit throughput, as a ratio to an untagged hit (median, range of round pairs)',
        await hits(client),
      ]);
    }
    if (SECTIONS.includes('tags')) sections.push(['invalidateTags latency, one tag', await tagInvalidation(client)]);
    if (SECTIONS.includes('all')) {
      sections.push(['invalidateAll of 100 entries (median of 5, range)', await invalidateAll(client)]);
    }
    console.log(`cache-memoize tags benchmark, ${started}, Node ${process.version}, ${ROUNDS} rounds\n`);
    for (const [title, rows] of sections) console.log(`${title}\n\n${rows.join('\n')}\n`);
    console.error(`(sink ${sinkValue()})`);
  } finally {
    await client.quit();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
