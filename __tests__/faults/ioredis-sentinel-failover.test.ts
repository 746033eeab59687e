import { performance } from 'node:perf_hooks';
import {
  describeLocalFigures,
  type LocalFailoverFigures,
  type SentinelClientKind,
  sentinelLocalFailovers,
} from './sentinel-local-tier';

// The lock, release wake-ups and the local tier over an ioredis `Redis` made with the `sentinels`
// option, through failovers of its own Sentinel group (1 master, 1 replica, 3 sentinels) under load:
// `SENTINEL FAILOVER`, then SIGKILL of the new master; once with a client made without
// `failoverDetector` (the default), once with it.
//
// After a `SENTINEL FAILOVER` the old master answers as a master until the sentinels demote it
// (about 10 s later), and a client without `failoverDetector` reads from it until then: its reads
// return the value from before a change made on the new master. The tier must not add to that: its
// tracking drops on the sentinels' `+switch-master`, and it serves nothing until its tracking and
// the client are both on the new master. With `failoverDetector` the client moves at once, and
// neither the tier nor the client serves an old value.

// Bounds for a loaded 2-core machine.
const EVICTED_WITHIN_MS = 500;
const LOCAL_AGAIN_WITHIN_MS = 15_000;
// With failoverDetector the client and the tier leave the old master on the sentinels' +switch-master.
const LOCAL_AGAIN_WITH_DETECTOR_WITHIN_MS = 6000;
// A poll (every 250 ms) would wake a waiter within 100 ms of a release in 2 rounds of 5.
const WOKEN_WITHIN_MS = 100;

const WITHOUT: SentinelClientKind = 'ioredis Redis with sentinels';
const WITH: SentinelClientKind = 'ioredis Redis with sentinels and failoverDetector';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
const figures: LocalFailoverFigures[] = [];

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  for (const kind of [WITHOUT, WITH]) {
    const started = performance.now();
    const ran = await sentinelLocalFailovers(kind);
    figures.push(...ran);
    process.stdout.write(
      `${ran.map(describeLocalFigures).join('\n')}\n  scenario ran in ${Math.round(performance.now() - started)} ms\n`,
    );
  }
}, 180_000);
afterAll(() => process.off('unhandledRejection', onUnhandled));

const of = (kind: SentinelClientKind, fault: string) =>
  figures.find((f) => f.scenario === `${kind}: ${fault}`) as LocalFailoverFigures;

describe.each([WITHOUT, WITH])('%s', (kind) => {
  describe.each(['SENTINEL FAILOVER', 'SIGKILL of the master'])('%s under load, local: true', (fault) => {
    test('every call resolves with its value', () => {
      expect(of(kind, fault).calls).toBeGreaterThan(1000);
      expect(of(kind, fault).failures).toEqual([]);
      expect(of(kind, fault).failed).toBe(0);
      expect(unhandled).toEqual([]);
    });

    test('the tier serves again, tracked on the new master; a change evicts its copy; nothing stale', () => {
      const f = of(kind, fault);
      expect(f.localAgainMs).toBeLessThan(LOCAL_AGAIN_WITHIN_MS);
      expect(f.trackingOnNewMaster).toBeGreaterThanOrEqual(1);
      expect(f.evictedAfterMs).toBeLessThan(EVICTED_WITHIN_MS);
      expect(f.stale).toEqual([]);
    });

    test('a lock release wakes the waiter of another client at once', () => {
      for (const ms of of(kind, fault).wakeMs) expect(ms).toBeLessThan(WOKEN_WITHIN_MS);
    });
  });
});

test('SENTINEL FAILOVER with failoverDetector: the client reads the new master at once, and the tier serves again soon', () => {
  const f = of(WITH, 'SENTINEL FAILOVER');
  expect(f.staleFromStore).toEqual([]);
  expect(f.localAgainMs).toBeLessThan(LOCAL_AGAIN_WITH_DETECTOR_WITHIN_MS);
});
