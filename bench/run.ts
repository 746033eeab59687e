import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runClusterFanOut, runFanOut } from './fan-out';
import { runHit } from './hit';
import { runInvalidation } from './invalidation';
import type { SideKind } from './invalidation/protocol';
import { runKeys } from './keys';
import { type BarGroup, barChart } from './lib/chart';
import { sinkValue } from './lib/measure';
import { type BenchClient, connectClient, unlinkMatching } from './lib/redis-client';
import { benchRedis } from './lib/redis-server';
import {
  type BenchResult,
  describeEnvironment,
  type Environment,
  formatInvalidation,
  formatReport,
  formatServerCost,
  type InvalidationResult,
  toJson,
} from './lib/report';
import { packageVersions } from './lib/versions';
import { runLocalHit } from './local-hit';
import { runMiss } from './miss';
import { LABELS, openContenders } from './peers/contenders';

// Odd, so the median is one measured round; 7 rounds of 8 contenders keep `npm run bench` near
// 2 minutes on 2 cores.
const DEFAULT_ROUNDS = 7;

const PACKAGES = [
  'redis',
  'object-hash',
  'async-cache-dedupe',
  'ioredis',
  'cache-manager',
  '@keyv/redis',
  'bentocache',
];

const INVALIDATION: readonly SideKind[] = ['memoize-local', 'bentocache-tiered'];

/** The parts of the benchmark; `BENCH_SUITES=keys,fan-out` runs only those (and writes no results file). */
const SUITES = ['keys', 'redis', 'fan-out'] as const;
type Suite = (typeof SUITES)[number];

function suitesFromEnv(): ReadonlySet<Suite> {
  const raw = process.env.BENCH_SUITES;
  if (raw === undefined || raw === '') return new Set(SUITES);
  const asked = raw.split(',').map((s) => s.trim());
  const unknown = asked.filter((s) => !(SUITES as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new TypeError(`BENCH_SUITES: unknown ${unknown.join(', ')}; known: ${SUITES.join(', ')}`);
  return new Set(asked as Suite[]);
}

function roundsFromEnv(): number {
  const raw = process.env.BENCH_ROUNDS;
  if (raw === undefined || raw === '') return DEFAULT_ROUNDS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 3) throw new TypeError(`BENCH_ROUNDS must be an integer >= 3, got ${raw}`);
  return n;
}

interface Measured {
  redisServer: string;
  results: BenchResult[];
  invalidation: InvalidationResult[];
}

/** Hit, miss and invalidation against one spawned redis-server; every key written carries `tag`. */
async function measureRedis(rounds: number): Promise<Measured> {
  const redis = await benchRedis();
  const tag = `bench-${randomUUID().slice(0, 8)}`;
  let client: BenchClient | undefined;
  try {
    client = await connectClient(redis.url);
    const redisServer = /redis_version:(\S+)/.exec(await client.info('server'))?.[1] ?? 'unknown';
    const contenders = await openContenders({ url: redis.url, client, tag });
    const results: BenchResult[] = [];
    try {
      results.push(...(await runHit({ client, tag, contenders, rounds })));
      results.push(...(await runLocalHit({ url: redis.url, client, tag, contenders, rounds })));
      results.push(...(await runMiss({ client, tag, contenders, rounds })));
    } finally {
      for (const c of contenders) await c.close();
    }
    const invalidation: InvalidationResult[] = [];
    for (const kind of INVALIDATION) {
      invalidation.push(await runInvalidation({ url: redis.url, tag, kind, label: LABELS[kind] }));
    }
    return { redisServer, results, invalidation };
  } finally {
    if (client?.isOpen) {
      await unlinkMatching(client, `*${tag}*`);
      await client.quit();
    }
    await redis.stop();
  }
}

/** The hit and miss rows as chart groups: baseline first, then each row. */
function chartGroups(results: readonly BenchResult[]): BarGroup[] {
  const libraries = new Set(Object.values(LABELS));
  const groups = new Map<string, BarGroup>();
  for (const r of results) {
    if (r.suite === 'keys' || r.suite === 'fan-out') continue;
    const title = `${r.suite}, ${r.case}`;
    let group = groups.get(title);
    if (group === undefined) {
      group = { title, bars: [{ label: r.baselineName, opsPerSecond: r.baselineMedian, baseline: true }] };
      groups.set(title, group);
    }
    group.bars.push({
      label: r.candidateName,
      opsPerSecond: r.candidateMedian,
      ratio: r.ratio,
      baseline: !libraries.has(r.candidateName),
    });
  }
  return [...groups.values()];
}

function caption(env: Environment): string[] {
  return [
    `${env.cpu} x${env.cpuCount}, ${env.platform}, 1-min load ${env.loadAverage} at the end (this run included), node ${env.node}, redis-server ${env.redisServer}, ${env.date.slice(0, 10)}`,
    env.packages,
    `Medians of ${env.rounds} interleaved rounds of 250 ms per contender in one process; 0.95x = ops/s / the group's first (grey) row's, same rounds.`,
    'Hit: a cached 10-post array, 100 keys (1 in flight: one key). Local: the same hits answered in process.',
    'Miss: a fresh key per call, computed and written.',
  ];
}

async function main(): Promise<void> {
  const rounds = roundsFromEnv();
  const suites = suitesFromEnv();
  const started = Date.now();
  console.log(`cache-memoize benchmarks (issues 2, 6 and 16), ${rounds} rounds; measuring...`);
  const keys = suites.has('keys') ? await runKeys({ rounds }) : [];
  const measured = suites.has('redis')
    ? await measureRedis(rounds)
    : { redisServer: 'not run', results: [], invalidation: [] };
  const fanOut = suites.has('fan-out')
    ? [
        ...(await runFanOut({ tag: `bench-${randomUUID().slice(0, 8)}`, rounds })),
        ...(await runClusterFanOut({ tag: `bench-${randomUUID().slice(0, 8)}`, rounds })),
      ]
    : [];
  const env = describeEnvironment(measured.redisServer, rounds, packageVersions(PACKAGES));
  const results = [...keys, ...measured.results, ...fanOut];
  const { invalidation } = measured;

  console.log();
  console.log(formatReport(env, results));
  console.log();
  if (invalidation.length > 0) console.log(formatInvalidation(invalidation));
  const serverCost = formatServerCost(results);
  if (serverCost !== '') console.log(`\n${serverCost}`);
  console.log();
  console.log(`took ${((Date.now() - started) / 1000).toFixed(1)} s (sink ${sinkValue() % 997})`);

  if (suites.size === SUITES.length) {
    const dir = join(__dirname, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'latest.json'), toJson({ env, results, invalidation }));
    const groups = chartGroups(results);
    const title = 'Cached lookups through Redis: throughput per library';
    writeFileSync(join(dir, 'hit-path.svg'), barChart({ title, groups, caption: caption(env) }));
  }

  const failed = results.filter((r) => r.pass === false);
  if (failed.length > 0) {
    console.log(`missed target: ${failed.map((r) => `${r.suite}: ${r.case}: ${r.candidateName}`).join(', ')}`);
    // Opt-in only: on a noisy machine one unlucky run should not fail a script by default.
    if (process.env.BENCH_STRICT === '1') process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
