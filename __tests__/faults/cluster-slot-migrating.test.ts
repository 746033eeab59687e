import { performance } from 'node:perf_hooks';
import {
  clusterSlotMigrating,
  describeFigures,
  type FailoverFigures,
  type MigratingSlotFacts,
  unexplainedHealthyErrors,
} from './failovers';

// A 3-master Redis Cluster and a node-redis client (`createCluster({ rootNodes })`). One slot is
// caught mid-migration for 2 s: `CLUSTER SETSLOT <slot> IMPORTING` on the target, `MIGRATING` on the
// source, three of its six cached entries moved with MIGRATE (value and token), three left on the
// source, and two entries never cached. First, with nothing else going to the source master, six
// entries of the slot are invalidated in a row and an entry of that master in another slot is read.
// Then, while 200 memoized calls every 50 ms run over every master, the slot's entries are read
// (hits, through ASK redirections for the moved ones), missed with the lock on, and invalidated.
// Then the migration ends (SETSLOT NODE on every master).
//
// Redis answers a multi-key command in a migrating slot with TRYAGAIN when some of its keys exist on
// the node and some do not (on the source), or when any is missing (on the target, after ASK). An
// entry's lock and waiters mark usually do not exist, so the begin and write scripts (value, token,
// lock, waiters mark) and invalidate's UNLINK (value, token, lock) meet TRYAGAIN for every entry of
// the slot until the migration ends; a GET (one key) follows ASK and works. The library tries such
// a command again a few times within the deadline; then a miss runs the function without the store
// (reported as E_COMMAND_ERROR, which is not an outage: the master serves its other slots), and
// invalidate deletes the entry's keys one at a time, the token first.

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let figures: FailoverFigures & { facts: MigratingSlotFacts };

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  const started = performance.now();
  figures = await clusterSlotMigrating({ holdMs: 2000 });
  process.stdout.write(
    `${describeFigures(figures)}\n  ${JSON.stringify(figures.facts)}\n` +
      `  scenario ran in ${Math.round(performance.now() - started)} ms\n`,
  );
}, 60_000);
afterAll(() => process.off('unhandledRejection', onUnhandled));

/** What was reported for the migrating slot's entries, for failure messages. */
function reportedForSlot(): string[] {
  return figures.events
    .filter((e) => e.kind === 'error' && e.slot === figures.facts.slot)
    .map((e) => `${e.code}: ${e.message}`);
}

test('every call resolves with its value', () => {
  expect(figures.failures).toEqual([]);
  expect(figures.failed).toBe(0);
  expect(unhandled).toEqual([]);
});

test('entries moved to the target and entries still on the source both hit', () => {
  expect(figures.facts.movedHits).toBe(3);
  expect(figures.facts.stayedHits).toBe(3);
});

test('a miss in the migrating slot runs the function and returns its value; what the slot refused is TRYAGAIN', () => {
  // Without the store there is no lock either: each such call computes (until the migration ends).
  expect(figures.facts.freshRuns).toBeGreaterThanOrEqual(figures.facts.fresh);
  const reported = reportedForSlot();
  // The tries again after TRYAGAIN (each one ASK-redirected, with a growing pause) run under the
  // call's deadline: on a loaded machine it may end first, which is reported as E_TIMEOUT. Seen in a
  // CI run on a slow 2-core VM (2 of 16 reports). Anything else (MOVED, ASK, an open circuit) is not.
  const ranOut = /^E_TIMEOUT: cache-memoize: store (begin|write) did not answer/;
  expect(reported.filter((r) => !/^E_COMMAND_ERROR: .*TRYAGAIN/.test(r) && !ranOut.test(r))).toEqual([]);
  expect(reported.filter((r) => /^E_COMMAND_ERROR: .*TRYAGAIN/.test(r)).length).toBeGreaterThan(0);
});

test('invalidate resolves for a moved entry and for an entry still on the source', () => {
  expect({ moved: figures.facts.invalidateMoved, stayed: figures.facts.invalidateStayed }).toEqual({
    moved: 'ok',
    stayed: 'ok',
  });
});

test("failures in the migrating slot do not make the source master's other slots skipped", () => {
  // One circuit per master: what Redis refuses for one slot in migration (TRYAGAIN) is not an
  // outage of the master that serves 1/3 of the keyspace.
  expect(figures.facts.bystanderAfterInvalidates).toBe('hit');
});

test('once the migration ends, every entry of the slot is cached again', () => {
  expect(figures.steady).toBe(true);
  expect(figures.facts.hitsAfterFinish).toBe(figures.facts.entriesInSlot);
});

test('entries in other slots are not disturbed', () => {
  // Only what a loaded machine explains (a server missing the deadline now and then, and the circuit
  // that opens then); in particular the migrating slot's TRYAGAIN replies do not open the circuit
  // of the source master's other slots.
  expect(unexplainedHealthyErrors(figures)).toEqual([]);
  expect(figures.healthyWindowsWithoutHits).toBe(0);
});
