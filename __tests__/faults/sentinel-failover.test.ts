import { performance } from 'node:perf_hooks';
import { describeFigures, type FailoverFigures, sentinelFailovers } from './failovers';

// A sentinel group (1 master, 1 replica, 3 sentinels, down-after 1 s), a node-redis client
// (`createSentinel({ name, sentinelRootNodes })`) and 200 memoized calls every 50 ms over 300
// entries. First `SENTINEL FAILOVER` promotes the replica; once the old master has become its
// replica, the new master is killed with SIGKILL and the sentinels promote the old one again.

// Slack for a loaded 2-core machine.
const SLACK_MS = 500;
// The library's default breaker: an open circuit lets one probe through per cool-down, and a probe
// that meets a dead server costs at most the deadline.
const COOL_DOWN_MS = 1000;
const TIMEOUT_MS = 250;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let failover: FailoverFigures;
let killed: FailoverFigures;

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  const started = performance.now();
  [failover, killed] = (await sentinelFailovers()) as [FailoverFigures, FailoverFigures];
  process.stdout.write(
    `${describeFigures(failover)}\n${describeFigures(killed)}\n` +
      `  scenario ran in ${Math.round(performance.now() - started)} ms\n`,
  );
}, 60_000);
afterAll(() => process.off('unhandledRejection', onUnhandled));

function expectResumed(f: FailoverFigures): void {
  expect(f.resumeMs).toBeDefined();
  expect(f.clientResumeMs).toBeDefined();
  // What the library adds to the client's own switch: at most one cool-down and one deadline.
  expect(f.resumeMs as number).toBeLessThanOrEqual((f.clientResumeMs as number) + COOL_DOWN_MS + TIMEOUT_MS + SLACK_MS);
  expect(f.resumeMs as number).toBeLessThan(10_000);
  // Then every entry hits with no error for a whole second: the circuit stays closed.
  expect(f.steady).toBe(true);
}

test('SENTINEL FAILOVER under load: every call resolves with its value', () => {
  expect(failover.calls).toBeGreaterThan(2000);
  expect(failover.failures).toEqual([]);
  expect(failover.failed).toBe(0);
});

test('SENTINEL FAILOVER: caching resumes on the new master', () => {
  expectResumed(failover);
});

test('SIGKILL of the new master under load: every call resolves with its value', () => {
  expect(killed.calls).toBeGreaterThan(2000);
  expect(killed.failures).toEqual([]);
  expect(killed.failed).toBe(0);
  expect(unhandled).toEqual([]);
});

test('SIGKILL of the master: caching resumes once the sentinels promote the replica', () => {
  expectResumed(killed);
});
