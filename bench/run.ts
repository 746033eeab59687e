import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runHit } from './hit';
import { runKeys } from './keys';
import { sinkValue } from './lib/measure';
import { describeEnvironment, formatReport, toJson } from './lib/report';

// Odd, so the median is one measured round; 11 keeps `npm run bench` near 40 s on 2 cores.
const DEFAULT_ROUNDS = 11;

function roundsFromEnv(): number {
  const raw = process.env.BENCH_ROUNDS;
  if (raw === undefined || raw === '') return DEFAULT_ROUNDS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 3) throw new TypeError(`BENCH_ROUNDS must be an integer >= 3, got ${raw}`);
  return n;
}

async function main(): Promise<void> {
  const rounds = roundsFromEnv();
  const started = Date.now();
  console.log(`cache-memoize benchmarks (issue 2), ${rounds} rounds; measuring...`);
  const keys = await runKeys({ rounds });
  const hit = await runHit({ rounds });
  const env = describeEnvironment(hit.redisServer, rounds);
  const results = [...keys, ...hit.results];

  console.log();
  console.log(formatReport(env, results));
  console.log();
  console.log(`took ${((Date.now() - started) / 1000).toFixed(1)} s (sink ${sinkValue() % 997})`);

  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), toJson(env, results));

  const failed = results.filter((r) => r.pass === false);
  if (failed.length > 0) {
    console.log(`missed target: ${failed.map((r) => `${r.suite}: ${r.case}`).join(', ')}`);
    // Opt-in only: on a noisy machine one unlucky run should not fail a script by default.
    if (process.env.BENCH_STRICT === '1') process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
