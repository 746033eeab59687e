import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { RaceConfig, RaceReport } from './fixtures/tags-race-child';
import { type DeploymentKind, deployment } from './helpers/deployments';
import { uniquePrefix } from './helpers/redis';

// Guarantee 1 of tags, randomized across processes: forked children interleave thousands of reads
// of tagged entries (data-derived tags, two per entry) with tag invalidations, and no read returns
// a value older than the last resolved invalidation of one of its tags, on a single server and on a
// Redis Cluster (where the tag keys and the entries live in different slots).

const PROCESSES = 3;

function runChild(config: RaceConfig): Promise<RaceReport> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'fixtures', 'tags-race-child.ts'), [JSON.stringify(config)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let report: RaceReport | undefined;
    child.on('message', (message: RaceReport) => {
      report = message;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      report === undefined ? reject(new Error(`child exited with ${code}`)) : resolve(report),
    );
  });
}

describe.each<DeploymentKind>(['node-redis client', 'node-redis cluster'])('tags race over a %s', (kind) => {
  test('no read returns a value older than the last invalidation of one of its tags', async () => {
    const prefix = uniquePrefix('tags-race');
    const seed = Date.now();
    const reports = await Promise.all(
      Array.from({ length: PROCESSES }, (_, i) =>
        runChild({ deployment: deployment(kind), prefix, seed: seed + i, operations: 1500, tags: 6, items: 40 }),
      ),
    );
    const total = (field: 'reads' | 'invalidations' | 'misses') => reports.reduce((n, r) => n + r[field], 0);
    expect(reports.flatMap((r) => r.violations).slice(0, 10)).toEqual([]);
    // The run exercised both paths: hits, recomputations after invalidations, many invalidations.
    expect(total('reads')).toBeGreaterThan(3000);
    expect(total('invalidations')).toBeGreaterThan(400);
    expect(total('misses')).toBeGreaterThan(200);
    expect(total('misses')).toBeLessThan(total('reads'));
  }, 120_000);
});
