import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { createClient } from 'redis';
import { median } from './lib/measure';
import { benchRedis } from './lib/redis-server';
import { packageVersions } from './lib/versions';
import { startWorkers, type Worker } from './stampede/pool';
import { CONTENDERS, type ContenderId, executionsKey, WORK_MS } from './stampede/protocol';

// The thundering herd across processes: W worker processes x C concurrent callers each, all on one
// cold key, with a function that takes 100 ms and INCRs a counter in Redis. Reports, per contender
// and W, how many times the function ran and the callers' latencies. See `npm run bench:stampede`.

interface Settings {
  workers: number[];
  callers: number;
  repeats: number;
  contenders: ContenderId[];
}

/** One repeat of one contender at one W. */
interface Trial {
  executions: number;
  p50: number;
  p99: number;
  errors: string[];
}

interface Row {
  label: string;
  workers: number;
  calls: number;
  trials: Trial[];
}

function intList(name: string, fallback: number[], min: number): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const list = raw.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < min)) {
    throw new TypeError(`${name} must be a comma-separated list of integers >= ${min}, got ${raw}`);
  }
  return list;
}

function settingsFromEnv(): Settings {
  const [callers = 25] = intList('STAMPEDE_CALLERS', [25], 1);
  const [repeats = 3] = intList('STAMPEDE_REPEATS', [3], 1);
  const known = CONTENDERS.map((c) => c.id) as string[];
  const rawContenders = process.env.STAMPEDE_CONTENDERS;
  const contenders = (rawContenders ? rawContenders.split(',').map((s) => s.trim()) : known) as ContenderId[];
  const unknown = contenders.filter((c) => !known.includes(c));
  if (unknown.length > 0) throw new TypeError(`STAMPEDE_CONTENDERS: unknown ${unknown.join(', ')}; known: ${known}`);
  return { workers: intList('STAMPEDE_WORKERS', [1, 4, 8], 1), callers, repeats, contenders };
}

/** Nearest-rank percentile of a non-empty list. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const PACKAGES = ['redis', 'async-cache-dedupe', 'ioredis', 'cache-manager', 'keyv', '@keyv/redis', 'cacheable'];

async function runTrial(
  workers: Worker[],
  callers: number,
  prefix: string,
  admin: { exists(key: string): Promise<number>; get(key: string): Promise<string | null> },
): Promise<Trial> {
  const arg = `${prefix}:key`;
  for (const w of workers) w.send({ op: 'prepare', prefix, arg });
  await Promise.all(workers.map((w) => w.next('prepared')));
  if ((await admin.exists(executionsKey(arg))) !== 0) throw new Error(`${arg} is not cold`);
  // The barrier: every worker is connected and warm; release them all in one go.
  const done = workers.map((w) => w.next('done', 60_000));
  for (const w of workers) w.send({ op: 'go', callers });
  const replies = await Promise.all(done);
  const latencies = replies.flatMap((r) => r.latencies);
  return {
    executions: Number((await admin.get(executionsKey(arg))) ?? 0),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors: replies.flatMap((r) => r.errors),
  };
}

function ms(value: number): string {
  return value.toFixed(1);
}

function formatTable(rows: readonly Row[]): string {
  const lines = ['| contender | W | calls | executions | p50 ms | p99 ms |', '|---|---:|---:|---:|---:|---:|'];
  for (const row of rows) {
    const executions = row.trials.map((t) => t.executions);
    const lo = Math.min(...executions);
    const hi = Math.max(...executions);
    const range = lo === hi ? '' : ` (${lo}–${hi})`;
    lines.push(
      `| ${row.label} | ${row.workers} | ${row.calls} | ${median(executions)}${range} | ` +
        `${ms(median(row.trials.map((t) => t.p50)))} | ${ms(median(row.trials.map((t) => t.p99)))} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const settings = settingsFromEnv();
  const { workers: workerCounts, callers, repeats } = settings;
  const started = Date.now();
  const runId = randomUUID().slice(0, 8);

  const redis = await benchRedis();
  const admin = createClient({ url: redis.url });
  admin.on('error', (error: unknown) => console.error('redis client error:', error));
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    await admin.connect();
    const redisServer = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? 'unknown';
    const command =
      `STAMPEDE_WORKERS=${workerCounts.join(',')} STAMPEDE_CALLERS=${callers} STAMPEDE_REPEATS=${repeats}` +
      (process.env.STAMPEDE_CONTENDERS ? ` STAMPEDE_CONTENDERS=${settings.contenders.join(',')}` : '') +
      ' npx tsx bench/stampede.ts';
    console.log('# Stampede: one cold key, W processes x C concurrent callers');
    console.log();
    console.log(`- date: ${new Date(started).toISOString()}`);
    console.log(`- command: \`${command}\``);
    console.log(
      `- machine: node ${process.version}, redis-server ${redisServer}${redis.spawned ? ' (spawned)' : ` (${redis.url})`}, ` +
        `${cpus()[0]?.model.trim() ?? 'unknown CPU'} x${cpus().length}, ${process.platform}-${process.arch}`,
    );
    console.log(
      `- function: INCR a counter in Redis, then ${WORK_MS} ms; C = ${callers} callers per process; ` +
        `${repeats} repeat(s) per row (fresh key each), medians over repeats`,
    );
    console.log(
      '- latency: per call, measured in its worker; nearest-rank p50 and p99 over all W x C calls of a repeat ' +
        '(below 100 calls, p99 is the slowest)',
    );
    console.log(`- packages: ${packageVersions(PACKAGES)}`);
    console.log();

    for (const contender of CONTENDERS) {
      if (!settings.contenders.includes(contender.id)) continue;
      const label = contender.label;
      process.stdout.write(`${label}: starting ${Math.max(...workerCounts)} workers...`);
      let pool: Worker[] = [];
      const contenderRows: Row[] = [];
      try {
        pool = await startWorkers(redis.url, contender.id, Math.max(...workerCounts));
        for (const w of workerCounts) {
          const row: Row = { label, workers: w, calls: w * callers, trials: [] };
          for (let r = 0; r < repeats; r++) {
            const prefix = `stampede-${runId}-${contender.id}-w${w}-r${r}`;
            row.trials.push(await runTrial(pool.slice(0, w), callers, prefix, admin));
            process.stdout.write('.');
          }
          contenderRows.push(row);
        }
        process.stdout.write(' done\n');
        rows.push(...contenderRows);
      } catch (error) {
        process.stdout.write(' failed\n');
        const reason = error instanceof Error ? error.message : String(error);
        notes.push(`${contender.label}: skipped, ${reason}`);
      } finally {
        await Promise.all(pool.map((w) => w.quit()));
      }
      for (const row of contenderRows) {
        const errors = row.trials.flatMap((t) => t.errors);
        if (errors.length > 0) {
          notes.push(`${row.label}, W=${row.workers}: ${errors.length} call(s) failed, first: ${errors[0]}`);
        }
      }
    }

    console.log();
    console.log(formatTable(rows));
    console.log();
    for (const note of notes) console.log(`- ${note}`);
    console.log(`- took ${((Date.now() - started) / 1000).toFixed(1)} s`);

    if (!redis.spawned) {
      // A shared server: remove this run's keys (every key of the run contains the run id).
      for await (const keys of admin.scanIterator({ MATCH: `*${runId}*`, COUNT: 1000 })) {
        if (keys.length > 0) await admin.unlink(keys);
      }
    }
  } finally {
    if (admin.isOpen) await admin.quit();
    await redis.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
