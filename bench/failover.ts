/**
 * `npx tsx bench/failover.ts`: the failover scenarios of the fault tests (a cluster master killed, a
 * reshard, a slot mid-migration, SENTINEL FAILOVER and a killed sentinel master), once each with a
 * larger load, against real redis-server processes. For each failover it prints the calls made and
 * failed, how long healthy masters' entries were skipped, and how long until caching resumed (with
 * the client's own recovery beside it, measured by plain GETs).
 */
import { cpus } from 'node:os';
import {
  clusterMasterKilled,
  clusterReshard,
  clusterSlotMigrating,
  type FailoverFigures,
  type LoadShape,
  sentinelFailovers,
} from '../__tests__/faults/failovers';
import { type LocalFailoverFigures, sentinelLocalFailovers } from '../__tests__/faults/sentinel-local-tier';
import type { MemoizeErrorCode } from '../lib/errors';

/** Twice the tests' calls per tick, over three times as many entries. */
const LOAD: LoadShape = { keys: 1000, batch: 400, everyMs: 50 };

function codes(counts: Partial<Record<MemoizeErrorCode, number>>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? '—' : entries.map(([code, n]) => `${code}×${n}`).join(' ');
}

function ms(value: number | undefined): string {
  return value === undefined ? 'never' : String(Math.round(value));
}

function row(f: FailoverFigures): string {
  const failover = f.notes.failoverMs ?? f.notes.reshardMs;
  return [
    f.scenario,
    f.calls,
    f.failed,
    `${ms(f.healthySkippedMs)} (${codes(f.healthyErrors)})`,
    ms(f.resumeMs),
    ms(f.clientResumeMs),
    failover === undefined ? '—' : String(failover),
    codes(f.affectedErrors),
  ]
    .map(String)
    .join(' | ');
}

async function main(): Promise<void> {
  const rows: FailoverFigures[] = [];
  const runs: Array<() => Promise<FailoverFigures | FailoverFigures[]>> = [
    () => clusterMasterKilled({ load: LOAD, client: 'defaults' }),
    () => clusterMasterKilled({ load: LOAD, client: 'resilient' }),
    () => clusterMasterKilled({ load: LOAD, client: 'defaults', requireFullCoverage: true }),
    () => clusterReshard({ load: LOAD, slots: 4000 }),
    () => clusterSlotMigrating({ load: LOAD, holdMs: 3000 }),
    () => sentinelFailovers({ load: LOAD, client: 'defaults' }),
    () => sentinelFailovers({ load: LOAD, client: 'resilient' }),
  ];
  // A scenario that cannot run (on an overloaded machine a warm-up may find nothing cached) is
  // reported, and the others still run.
  const broken: string[] = [];
  // FAILOVER_ONLY=local: only the local-tier sentinel failovers.
  for (const run of process.env.FAILOVER_ONLY === 'local' ? [] : runs) {
    let figures: FailoverFigures | FailoverFigures[];
    try {
      figures = await run();
    } catch (error) {
      broken.push(`${String(run).replace(/\s+/g, ' ')}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    for (const f of Array.isArray(figures) ? figures : [figures]) {
      rows.push(f);
      process.stderr.write(`done: ${f.scenario}\n`);
    }
  }
  console.log(
    `node ${process.version}, ${cpus().length} cores; load: ${LOAD.batch} calls every ${LOAD.everyMs} ms over ` +
      `${LOAD.keys} entries (a 5 ms function); deadline 250 ms, breaker 5 failures / 1 s cool-down`,
  );
  console.log(
    '| failover | calls | failed | healthy masters’ entries skipped, ms (errors) | caching resumed after, ms | client alone, ms | failover / reshard took, ms | errors on touched entries |',
  );
  console.log('|---|---:|---:|---|---:|---:|---:|---|');
  for (const f of rows) console.log(`| ${row(f)} |`);
  console.log('');
  for (const f of rows) {
    const extra = 'facts' in f ? ` ${JSON.stringify(f.facts)}` : '';
    const unreadable = 'unreadableAfter' in f ? ` unreadableAfter=${String(f.unreadableAfter)}` : '';
    const notes = Object.entries(f.notes)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    console.log(`- ${f.scenario}: steady=${f.steady} ${notes}${unreadable}${extra}`);
  }
  for (const b of broken) console.log(`- did not run: ${b}`);
  await localTier();
}

/** The sentinel failovers again with `local: true` and locks, over node-redis and ioredis. */
async function localTier(): Promise<void> {
  const rows: LocalFailoverFigures[] = [];
  const broken: string[] = [];
  for (const kind of ['node-redis createSentinel', 'ioredis Redis with sentinels'] as const) {
    try {
      rows.push(...(await sentinelLocalFailovers(kind, { batch: 200, fresh: 20, keys: 1000 })));
    } catch (error) {
      broken.push(`${kind}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const ms = (v: number | undefined) => (v === undefined ? 'never' : String(Math.round(v)));
  console.log('');
  console.log('local: true and locks: 200 calls every 50 ms over 1000 entries, 20 of them misses');
  console.log(
    '| failover | calls | failed | local tier serving again after, ms | a change evicted the local copy in, ms | stale local values | waiter woke after a release, ms |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---|');
  for (const f of rows) {
    const wake = f.wakeMs.map((v) => Math.round(v)).join(' / ');
    console.log(
      `| ${f.scenario} | ${f.calls} | ${f.failed} | ${ms(f.localAgainMs)} | ${ms(f.evictedAfterMs)} | ${f.stale.length} | ${wake} |`,
    );
  }
  for (const b of broken) console.log(`- did not run: ${b}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
