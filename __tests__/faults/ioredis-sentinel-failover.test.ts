import { performance } from 'node:perf_hooks';
import { describeLocalFigures, type LocalFailoverFigures, sentinelLocalFailovers } from './sentinel-local-tier';

// The lock, release wake-ups and the local tier over an ioredis `Redis` made with the `sentinels`
// option, through failovers of its own Sentinel group (1 master, 1 replica, 3 sentinels) under load:
// `SENTINEL FAILOVER`, then SIGKILL of the new master.
//
// After a `SENTINEL FAILOVER` the old master answers as a master until the sentinels demote it
// (about 10 s later), and the client (made without `failoverDetector`) reads from it until then: its
// own reads return the value from before a change made on the new master. The tier must not serve
// such a value: its tracking drops on the sentinels' `+switch-master`, and it serves nothing until its
// tracking and the client are both on the new master.

// Bounds for a loaded 2-core machine.
const EVICTED_WITHIN_MS = 500;
const LOCAL_AGAIN_WITHIN_MS = 15_000;
// A poll (every 250 ms) would wake a waiter within 100 ms of a release in 2 rounds of 5.
const WOKEN_WITHIN_MS = 100;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let figures: LocalFailoverFigures[];

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  const started = performance.now();
  figures = await sentinelLocalFailovers('ioredis Redis with sentinels');
  process.stdout.write(
    `${figures.map(describeLocalFigures).join('\n')}\n  scenario ran in ${Math.round(performance.now() - started)} ms\n`,
  );
}, 90_000);
afterAll(() => process.off('unhandledRejection', onUnhandled));

const of = (fault: string) => figures.find((f) => f.scenario.endsWith(fault)) as LocalFailoverFigures;

describe.each(['SENTINEL FAILOVER', 'SIGKILL of the master'])('%s under load, local: true', (fault) => {
  test('every call resolves with its value', () => {
    expect(of(fault).calls).toBeGreaterThan(1000);
    expect(of(fault).failures).toEqual([]);
    expect(of(fault).failed).toBe(0);
    expect(unhandled).toEqual([]);
  });

  test('a lock release wakes the waiter of another client at once', () => {
    for (const ms of of(fault).wakeMs) expect(ms).toBeLessThan(WOKEN_WITHIN_MS);
  });
});

function expectTierFollowed(f: LocalFailoverFigures): void {
  expect(f.localAgainMs).toBeLessThan(LOCAL_AGAIN_WITHIN_MS);
  expect(f.trackingOnNewMaster).toBeGreaterThanOrEqual(1);
  expect(f.evictedAfterMs).toBeLessThan(EVICTED_WITHIN_MS);
  expect(f.stale).toEqual([]);
}

test('SIGKILL: the tier serves again, tracked on the new master; a change evicts its copy; nothing stale', () => {
  expectTierFollowed(of('SIGKILL of the master'));
});

test('SENTINEL FAILOVER: the same, though the client reads the old master until it is demoted', () => {
  expectTierFollowed(of('SENTINEL FAILOVER'));
});
