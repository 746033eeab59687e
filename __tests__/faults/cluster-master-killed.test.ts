import { performance } from 'node:perf_hooks';
import { clusterMasterKilled, describeFigures, type FailoverFigures } from './failovers';

// A 3-master + 3-replica Redis Cluster (cluster-node-timeout 1000 ms), a node-redis client made as
// most code makes it (`createCluster({ rootNodes })`: commands for a dead node wait in its offline
// queue until the library's deadline ends them), and 200 memoized calls every 50 ms over 300 entries
// on every master. One master is killed with SIGKILL; its replica takes over.
//
// With one circuit for the whole client, the dead master's timeouts come in bursts and open it for
// every master: healthy masters' entries were skipped for 5.7 s in this scenario. With one circuit
// per master, only the dead master's slots are skipped.
//
// The cluster runs with cluster-require-full-coverage no: with Redis's default (yes), every node
// answers CLUSTERDOWN to every key while the dead master is marked failed and not yet replaced, so
// no client can reach a healthy master then (bench/failover.ts measures that case too).

// Slack for a loaded 2-core machine.
const SLACK_MS = 500;
// The library's default breaker: an open circuit lets one probe through per cool-down, and a probe
// that meets a dead server costs at most the deadline.
const COOL_DOWN_MS = 1000;
const TIMEOUT_MS = 250;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let figures: FailoverFigures;

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  const started = performance.now();
  figures = await clusterMasterKilled();
  process.stdout.write(
    `${describeFigures(figures)}\n  scenario ran in ${Math.round(performance.now() - started)} ms\n`,
  );
}, 60_000);
afterAll(() => process.off('unhandledRejection', onUnhandled));

test('every call resolves with its value while the master dies and its replica takes over', () => {
  expect(figures.calls).toBeGreaterThan(10_000);
  expect(figures.failures).toEqual([]);
  expect(figures.failed).toBe(0);
  expect(unhandled).toEqual([]);
});

test('entries on healthy masters keep hitting: none is skipped (one circuit per master), hits in every 250 ms', () => {
  // A loaded machine may make a healthy server miss the 250 ms deadline now and then (E_TIMEOUT);
  // what must not happen is a healthy master's entry skipped by a circuit, or failed by the cluster.
  const { E_CIRCUIT_OPEN = 0, E_UNAVAILABLE = 0 } = figures.healthyErrors;
  expect({ E_CIRCUIT_OPEN, E_UNAVAILABLE, byMaster: figures.healthyErrorsByMaster }).toMatchObject({
    E_CIRCUIT_OPEN: 0,
    E_UNAVAILABLE: 0,
  });
  expect(figures.healthyWindowsWithoutHits).toBe(0);
});

test("the dead master's slots are skipped by their own circuit instead of each paying the deadline", () => {
  expect(figures.affectedErrors.E_CIRCUIT_OPEN).toBeGreaterThan(0);
});

test("caching resumes for the dead master's slots once the client reaches the promoted replica", () => {
  expect(figures.resumeMs).toBeDefined();
  expect(figures.clientResumeMs).toBeDefined();
  // What the library adds to the client's own recovery: at most one cool-down and one deadline.
  expect(figures.resumeMs as number).toBeLessThanOrEqual(
    (figures.clientResumeMs as number) + COOL_DOWN_MS + TIMEOUT_MS + SLACK_MS,
  );
  // node-redis refreshes its slot map 5 s after a node starts reconnecting (its default).
  expect(figures.resumeMs as number).toBeLessThan(10_000);
  // Then the dead master's slots hit with no error for a whole second: the new master's circuit
  // stays closed.
  expect(figures.steady).toBe(true);
});
