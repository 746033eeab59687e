import { performance } from 'node:perf_hooks';
import { clusterReshard, describeFigures, type FailoverFigures, unexplainedHealthyErrors } from './failovers';

// A 3-master Redis Cluster, a node-redis client (`createCluster({ rootNodes })`), and 200 memoized calls every 50 ms
// over 300 entries on every master, a tenth of them misses (begin, lock, compute, write). Meanwhile
// `redis-cli --cluster reshard` moves 2000 slots, keys and all, from one master to another: each
// slot goes through IMPORTING/MIGRATING, MIGRATE and SETSLOT NODE, and the client follows ASK and
// MOVED redirections.

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let figures: FailoverFigures & { unreadableAfter: number };

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  const started = performance.now();
  figures = await clusterReshard({ slots: 2000 });
  process.stdout.write(
    `${describeFigures(figures)}\n  entries unreadable after the reshard: ${figures.unreadableAfter}\n` +
      `  scenario ran in ${Math.round(performance.now() - started)} ms\n`,
  );
}, 60_000);
afterAll(() => process.off('unhandledRejection', onUnhandled));

test('every call resolves with its value while slots move', () => {
  expect(figures.calls).toBeGreaterThan(5000);
  expect(figures.failures).toEqual([]);
  expect(figures.failed).toBe(0);
  expect(unhandled).toEqual([]);
});

// An open circuit costs the moved entries at most one cool-down (then one probe, which a server
// busy with MIGRATE may make wait for the deadline); plus slack for a loaded 2-core machine.
const COOL_DOWN_MS = 1000;
const TIMEOUT_MS = 250;
const SLACK_MS = 500;

test('entries on the moving slots stay readable: hits go on during the reshard and after it', () => {
  expect(figures.notes.slotsMoved).toBe(2000);
  expect(figures.notes.entriesOnMovedSlots).toBeGreaterThan(10);
  expect(figures.steady).toBe(true);
  // The longest stretch without a hit on a moved entry.
  expect(figures.resumeMs).toBeDefined();
  expect(figures.resumeMs as number).toBeLessThan(COOL_DOWN_MS + TIMEOUT_MS + SLACK_MS);
  // Every entry written before the reshard is still there, on its new master, and hits.
  expect(figures.unreadableAfter).toBe(0);
});

test('entries on slots that do not move meet no redirection error', () => {
  // A server blocked in MIGRATE on a loaded machine may miss the deadline (E_TIMEOUT), and then its
  // circuit may open for all of its slots (E_CIRCUIT_OPEN); nothing else may reach these entries:
  // no MOVED, ASK or TRYAGAIN, and no circuit opened without a missed deadline.
  expect(unexplainedHealthyErrors(figures)).toEqual([]);
});
