import { performance } from 'node:perf_hooks';
import { spawnRedis } from '../helpers/redis-server';
import { callMany, downAtBoot, FN_MS, killMidFlight, paused, rig, TIMEOUT_MS, untilReady } from './scenarios';

// Real redis-server processes, started, killed, paused and restarted by the test itself.
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => process.off('unhandledRejection', onUnhandled));
afterEach(() => expect(unhandled).toEqual([]));

// Slack for a loaded 2-core machine on top of the deadline and the function's own time.
const SLACK_MS = 150;

test('Redis down at boot: calls answer at once; starting Redis later resumes caching by itself', async () => {
  const figures = await downAtBoot();
  expect(figures.failed).toBe(0);
  // Not connected: the store is skipped without waiting for any deadline.
  expect(figures.worstAddedMs).toBeLessThan(SLACK_MS);
  expect(figures.reported.E_UNAVAILABLE).toBeGreaterThan(0);
  expect(figures.resumeMs).toBeLessThan(5000);
  expect(figures.notes.maxPendingStoreOps).toBe(0);
});

test('SIGKILL under 200 concurrent calls: all answer; restart refills; a token lost with the data refuses the stale write', async () => {
  const figures = await killMidFlight();
  expect(figures.failed).toBe(0);
  expect(figures.worstAddedMs).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  expect(figures.staleErrors).toEqual([]);
  expect(figures.staleWriteLanded).toBe(false);
  // After the restart every entry computes once more (the data is gone), then hits.
  expect(figures.refilled).toBe(50);
  expect(figures.resumeMs).toBeLessThan(5000);
});

test('SIGSTOP under load: calls finish within the deadline; pending work stays bounded; SIGCONT resumes hits', async () => {
  const figures = await paused(3000);
  expect(figures.failed).toBe(0);
  expect(figures.worstAddedMs).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  expect(figures.calls).toBeGreaterThan(500);
  // The breaker stops sending: a handful of timed-out reads, then a probe per cool-down.
  expect(figures.notes.storeOpsDuringPause).toBeLessThan(60);
  expect(figures.notes.maxPendingStoreOps).toBeLessThan(60);
  expect(figures.notes.heapGrowthMb).toBeLessThan(50);
  expect(figures.reported.E_TIMEOUT).toBeGreaterThan(0);
  expect(figures.reported.E_CIRCUIT_OPEN).toBeGreaterThan(0);
  expect(figures.resumeMs).toBeLessThan(5000);
  expect(figures.notes.clientOpenAfter).toBe(true);
});

test('while paused, invalidate, refresh and invalidateAll reject with E_TIMEOUT within the deadline, even with the circuit open', async () => {
  const server = await spawnRedis();
  const r = rig(server.url);
  try {
    await untilReady(r.client);
    await r.f(1);
    server.pause();
    // Open the circuit first: explicit operations must still ask the store, bounded by the deadline.
    await callMany(r.f, 20, 1, () => 2);
    expect(r.reported.E_CIRCUIT_OPEN).toBeGreaterThan(0);
    for (const operation of [() => r.f.invalidate(1), () => r.f.refresh(1), () => r.f.invalidateAll()]) {
      const started = performance.now();
      await expect(operation()).rejects.toMatchObject({ name: 'StoreError', code: 'E_TIMEOUT' });
      expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + FN_MS + SLACK_MS);
    }
  } finally {
    server.resume();
    await r.close();
    await server.stop();
  }
});
