import { performance } from 'node:perf_hooks';
import { describeLocalFigures, type LocalFailoverFigures, sentinelLocalFailovers } from './sentinel-local-tier';

// The local tier and locks over a node-redis `createSentinel` object through failovers of its own
// Sentinel group (1 master, 1 replica, 3 sentinels) under load: `SENTINEL FAILOVER`, then SIGKILL
// of the new master. The tier's tracking must follow the master: once the tier serves again, a
// change made on the new master by another connection evicts the local copy, and no value older
// than a change that has returned is served once the subject's client knows the new master. Before
// that (a `SENTINEL FAILOVER` lets another process write on the new master a few ms before this
// process hears `+switch-master`), the tier serves what it held, as the client, still bound to the
// old server, would: those reads are counted in the figures, not failed.

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
  figures = await sentinelLocalFailovers('node-redis createSentinel');
  process.stdout.write(
    `${figures.map(describeLocalFigures).join('\n')}\n  scenario ran in ${Math.round(performance.now() - started)} ms\n`,
  );
}, 90_000);
afterAll(() => process.off('unhandledRejection', onUnhandled));

describe.each(['SENTINEL FAILOVER', 'SIGKILL of the master'])('%s under load, local: true', (fault) => {
  const of = () => figures.find((f) => f.scenario.endsWith(fault)) as LocalFailoverFigures;

  test('every call resolves with its value', () => {
    expect(of().calls).toBeGreaterThan(1000);
    expect(of().failures).toEqual([]);
    expect(of().failed).toBe(0);
    expect(unhandled).toEqual([]);
  });

  test('the tier serves again, tracked on the new master', () => {
    expect(of().localAgainMs).toBeLessThan(LOCAL_AGAIN_WITHIN_MS);
    expect(of().trackingOnNewMaster).toBeGreaterThanOrEqual(1);
  });

  test('a change from another connection evicts the local copy within a bound; nothing stale is served', () => {
    expect(of().evictedAfterMs).toBeLessThan(EVICTED_WITHIN_MS);
    expect(of().stale).toEqual([]);
  });

  test('a lock release wakes the waiter of another client at once', () => {
    for (const ms of of().wakeMs) expect(ms).toBeLessThan(WOKEN_WITHIN_MS);
  });
});
