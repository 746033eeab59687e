import keySlot from 'cluster-key-slot';
import { createCluster, createSentinel } from 'redis';
import { type MemoizeErrorCode, reconnectForever } from '../../lib';
import { tokenKeyOf } from '../../lib/key';
import { sleep } from '../helpers/redis';
import { type ClusterMaster, type RedisCluster, servesSlot, spawnRedisCluster } from '../helpers/redis-cluster';
import { spawnSentinelGroup } from '../helpers/redis-sentinel';
import { type CallRecord, type LoadResult, type Rig, rig, startLoad, startProbe, warm, within } from './failover-load';

/**
 * Failovers of a Redis Cluster and a Sentinel group under load, against real redis-server processes:
 * shared by the fault tests (which assert on the figures) and `bench/failover.ts` (which prints them).
 */

/** How hard a scenario loads the library. */
export interface LoadShape {
  /** Distinct entries, spread over every slot range. */
  keys: number;
  /** Calls fired per tick, without waiting for earlier ticks. */
  batch: number;
  /** Tick length in ms. */
  everyMs: number;
}

/** The tests' load: 200 calls every 50 ms over 300 entries. */
export const TEST_LOAD: LoadShape = { keys: 300, batch: 200, everyMs: 50 };

export interface FailoverFigures {
  scenario: string;
  /** Calls made from just before the fault until caching had resumed. */
  calls: number;
  /** Calls that rejected or returned a wrong value (must be 0). */
  failed: number;
  failures: string[];
  /** Errors reported for entries the fault did not touch (a healthy master's slots), by code. */
  healthyErrors: Partial<Record<MemoizeErrorCode, number>>;
  /** The same by message (`code: message`), with counts. */
  healthyErrorMessages: Record<string, number>;
  /** The same, by the master (port) that served the entry before the fault. */
  healthyErrorsByMaster: Record<string, Partial<Record<MemoizeErrorCode, number>>>;
  /**
   * Errors reported for any entry, touched or not, by the master (port) that served it before the
   * fault: what each master's circuit counted.
   */
  errorsByMaster: Record<string, Partial<Record<MemoizeErrorCode, number>>>;
  /** From the first to the last error reported for a healthy master's entry, in ms (0: none). */
  healthySkippedMs: number;
  /** Errors reported for the entries the fault did touch, by code. */
  affectedErrors: Partial<Record<MemoizeErrorCode, number>>;
  /**
   * How long the entries the fault touched got no hit, in ms: the longest stretch from the fault on
   * without a hit (counting calls begun after the fault only). For a dead master, the time from the
   * fault until caching resumed. `undefined`: no hit at all after the fault.
   */
  resumeMs: number | undefined;
  /**
   * The same for the client on its own: the longest stretch without an answer to a plain `GET` of a
   * touched slot, sent every 50 ms. What the client needed to reach the new master, of
   * {@link resumeMs}; the rest is the library's.
   */
  clientResumeMs: number | undefined;
  /**
   * Caching was steady again when the measurement ended: for {@link STEADY_MS}, touched entries hit
   * and none of them reported an error. `false`: not within the scenario's limit.
   */
  steady: boolean;
  /**
   * Time windows (of {@link WINDOW_MS}) between the fault and the resumption in which some healthy
   * master had no hit at all.
   */
  healthyWindowsWithoutHits: number;
  notes: Record<string, number | string | boolean>;
  /** Every event recorded, for a closer look at a failure. */
  events: CallRecord[];
  faultAt: number;
}

/** How long touched entries must hit without an error before a scenario's measurement ends. */
export const STEADY_MS = 1000;

/**
 * Waits until, for the last {@link STEADY_MS} (all after `from`), touched entries hit and none of
 * them reported an error; false if `limitMs` passed first. This is where a measurement ends, so that
 * it holds the whole outage, however late the client's switch comes.
 */
async function untilSteady(r: Rig, affected: (slot: number) => boolean, from: number, limitMs: number) {
  return within(limitMs, () => {
    const since = r.now() - STEADY_MS;
    if (since < from) return false;
    let hit = false;
    for (let i = r.events.length - 1; i >= 0; i--) {
      const e = r.events[i] as CallRecord;
      if (e.at < since) break;
      if (!affected(e.slot)) continue;
      if (e.kind === 'error') return false;
      if (e.kind === 'hit') hit = true;
    }
    return hit;
  });
}

/** The window in which every healthy master must keep hitting. */
export const WINDOW_MS = 250;

/**
 * A replica's first sync starts at once: by default a master waits 5 s for more replicas before a
 * diskless sync, which only slows the set-up between two failovers.
 */
const FAST_SYNC = ['--repl-diskless-sync-delay', '0'];

/**
 * How the scenario's client is set up. `resilient`: the README's settings for a cache that must not
 * hang, for every node (no offline queue, so commands for a dead node fail at once). `defaults`:
 * `createCluster({ rootNodes })` or `createSentinel({ name, sentinelRootNodes })` as most code
 * writes it; commands for a dead node wait in its offline queue, so the library's deadline ends them.
 */
export type ClientSetup = 'resilient' | 'defaults';

/** The README's settings for a node-redis client, for every node of a cluster or sentinel group. */
const RESILIENT_NODE = {
  disableOfflineQueue: true,
  pingInterval: 1000,
  socket: { connectTimeout: 1000, socketTimeout: 3000, reconnectStrategy: reconnectForever },
};

function clusterClient(cluster: RedisCluster, setup: ClientSetup) {
  const client = createCluster({
    rootNodes: cluster.rootNodes,
    ...(setup === 'resilient' ? { defaults: RESILIENT_NODE } : {}),
  });
  client.on('error', () => {});
  return client;
}

function count(records: CallRecord[]): Partial<Record<MemoizeErrorCode, number>> {
  const counts: Partial<Record<MemoizeErrorCode, number>> = {};
  for (const r of records) if (r.code !== undefined) counts[r.code] = (counts[r.code] ?? 0) + 1;
  return counts;
}

/**
 * The figures of one fault: `affected(slot)` says whether the fault touches a slot; `groupOf(slot)`
 * names the master group a healthy slot belongs to (for the per-window hit check).
 */
function figuresOf(
  scenario: string,
  steady: boolean,
  r: Rig,
  load: LoadResult,
  probe: { answers: Array<{ startedAt: number; at: number }> },
  faultAt: number,
  endAt: number,
  affected: (slot: number) => boolean,
  groupOf: (slot: number) => string,
  notes: FailoverFigures['notes'],
): FailoverFigures {
  const during = r.events.filter((e) => e.at >= faultAt && e.at <= endAt);
  const healthyErrorEvents = during.filter((e) => e.kind === 'error' && !affected(e.slot));
  const affectedHits = during.filter((e) => e.kind === 'hit' && affected(e.slot) && e.startedAt >= faultAt);
  const stretch = longestStretch(
    affectedHits.map((e) => e.at),
    faultAt,
  );
  const resumedAt = stretch?.endsAt ?? endAt;
  const healthyGroups = new Set(r.events.filter((e) => !affected(e.slot)).map((e) => groupOf(e.slot)));
  let healthyWindowsWithoutHits = 0;
  const until = resumedAt;
  for (let from = faultAt; from + WINDOW_MS <= until; from += WINDOW_MS) {
    const hitting = new Set(
      during
        .filter((e) => e.kind === 'hit' && e.at >= from && e.at < from + WINDOW_MS && !affected(e.slot))
        .map((e) => groupOf(e.slot)),
    );
    if ([...healthyGroups].some((g) => !hitting.has(g))) healthyWindowsWithoutHits++;
  }
  const times = healthyErrorEvents.map((e) => e.at);
  return {
    scenario,
    calls: load.calls,
    failed: load.failed,
    failures: load.failures,
    healthyErrors: count(healthyErrorEvents),
    healthyErrorMessages: messages(healthyErrorEvents),
    errorsByMaster: byGroup(
      during.filter((e) => e.kind === 'error'),
      groupOf,
    ),
    healthyErrorsByMaster: byGroup(healthyErrorEvents, groupOf),
    healthySkippedMs: times.length === 0 ? 0 : Math.max(...times) - Math.min(...times),
    affectedErrors: count(during.filter((e) => e.kind === 'error' && affected(e.slot))),
    resumeMs: stretch?.ms,
    clientResumeMs: longestStretch(
      probe.answers.filter((a) => a.startedAt >= faultAt && a.at <= endAt).map((a) => a.at),
      faultAt,
    )?.ms,
    steady,
    healthyWindowsWithoutHits,
    notes,
    events: r.events,
    faultAt,
  };
}

function byGroup(
  records: CallRecord[],
  groupOf: (slot: number) => string,
): Record<string, Partial<Record<MemoizeErrorCode, number>>> {
  const groups = [...new Set(records.map((e) => groupOf(e.slot)))];
  return Object.fromEntries(groups.map((g) => [g, count(records.filter((e) => groupOf(e.slot) === g))]));
}

function messages(records: CallRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of records) {
    const text = `${r.code}: ${r.message}`;
    counts[text] = (counts[text] ?? 0) + 1;
  }
  return counts;
}

/**
 * The longest stretch without an event, from `from` on: `times` are the events' times, ascending
 * and after `from`. `undefined` when there is none at all.
 */
function longestStretch(times: number[], from: number): { ms: number; endsAt: number } | undefined {
  let longest: { ms: number; endsAt: number } | undefined;
  let last = from;
  for (const at of times) {
    if (longest === undefined || at - last > longest.ms) longest = { ms: at - last, endsAt: at };
    last = at;
  }
  return longest;
}

/** Arguments 0..n-1; with 300 or more they land on every master of a 3-master cluster. */
function argsOf(shape: LoadShape): number[] {
  return Array.from({ length: shape.keys }, (_, i) => i);
}

/** The master (by port) that serves each slot now. */
function slotOwners(masters: ClusterMaster[]): (slot: number) => number {
  return (slot) => masters.find((m) => servesSlot(m, slot))?.port ?? -1;
}

/** Options of a scenario: the load, the client, and how long it may wait for caching to resume. */
export interface ScenarioOptions {
  load?: LoadShape;
  resumeWithinMs?: number;
  /** @default 'defaults' */
  client?: ClientSetup;
}

/** Options of {@link clusterMasterKilled}. */
export interface MasterKilledOptions extends ScenarioOptions {
  /**
   * `cluster-require-full-coverage`. With Redis's default (`yes`), every node answers `CLUSTERDOWN`
   * to every key while a master is marked failed and not yet replaced, so no client can reach a
   * healthy master then; with `no`, healthy masters keep serving their own slots.
   * @default false
   */
  requireFullCoverage?: boolean;
}

/**
 * 1. A 3-master + 3-replica cluster (`cluster-node-timeout` 1000 ms) under load; one master is
 * killed (`SIGKILL`); its replica takes over.
 */
export async function clusterMasterKilled(options: MasterKilledOptions = {}): Promise<FailoverFigures> {
  const { load: shape = TEST_LOAD, resumeWithinMs = 15_000, requireFullCoverage = false } = options;
  const cluster = await spawnRedisCluster({
    masters: 3,
    replicasPerMaster: 1,
    args: [
      '--cluster-node-timeout',
      '1000',
      '--cluster-require-full-coverage',
      requireFullCoverage ? 'yes' : 'no',
      ...FAST_SYNC,
    ],
  });
  const client = clusterClient(cluster, options.client ?? 'defaults');
  try {
    await client.connect();
    const r = rig(client);
    const args = argsOf(shape);
    await warm(r, args);
    const before = await cluster.masters();
    const ownerBefore = slotOwners(before);
    const victim = before[0] as ClusterMaster;
    const affected = (slot: number) => servesSlot(victim, slot);
    const probeKey = r.f.keyFor(args.find((n) => affected(keySlot(r.f.keyFor(n)))) as number);
    const probe = startProbe(() => client.get(probeKey), r.now);

    const load = startLoad(r.f, args, shape);
    await sleep(300);
    const faultAt = r.now();
    await cluster.node(victim.port).kill();
    const after = await cluster.awaitFailover(victim.port);
    const failoverMs = r.now() - faultAt;
    const steady = await untilSteady(r, affected, r.now(), resumeWithinMs);
    const endAt = r.now();
    probe.stop();
    const result = await load.stop();
    const promoted = after.find((m) => m.slots.length > 0 && !before.some((b) => b.port === m.port));
    return figuresOf(
      `cluster: SIGKILL of a master (3 masters + 3 replicas, node timeout 1 s, full coverage ${requireFullCoverage ? 'yes' : 'no'}; ${options.client ?? 'defaults'} client)`,
      steady,
      r,
      result,
      probe,
      faultAt,
      endAt,
      affected,
      (slot) => String(ownerBefore(slot)),
      {
        failoverMs: Math.round(failoverMs),
        promotedReplica: promoted?.port ?? 'none',
        runs: r.runs(),
      },
    );
  } finally {
    client.destroy();
    await cluster.stop();
  }
}

/**
 * 2. `redis-cli --cluster reshard` moves `slots` slots (keys and all) from one master to another
 * while the load runs; a tenth of the calls are misses (begin, lock, compute, write).
 */
export async function clusterReshard(
  options: ScenarioOptions & { slots?: number } = {},
): Promise<FailoverFigures & { unreadableAfter: number }> {
  const { load: shape = TEST_LOAD, resumeWithinMs = 10_000, slots = 2000 } = options;
  const cluster = await spawnRedisCluster({ masters: 3 });
  const client = clusterClient(cluster, options.client ?? 'defaults');
  try {
    await client.connect();
    const r = rig(client);
    const args = argsOf(shape);
    await warm(r, args);
    const before = await cluster.masters();
    const ownerBefore = slotOwners(before);
    const [from, to] = before as [ClusterMaster, ClusterMaster];
    // redis-cli moves the source's lowest slots first: probe the entry in the lowest of them.
    const lowest = args
      .filter((n) => servesSlot(from, keySlot(r.f.keyFor(n))))
      .sort((a, b) => keySlot(r.f.keyFor(a)) - keySlot(r.f.keyFor(b)))[0] as number;
    const probeKey = r.f.keyFor(lowest);
    const probe = startProbe(() => client.get(probeKey), r.now);

    const load = startLoad(r.f, args, { ...shape, fresh: Math.floor(shape.batch / 10) });
    await sleep(300);
    const faultAt = r.now();
    await cluster.reshard({ from, to, slots });
    const reshardMs = r.now() - faultAt;
    const ownerAfter = slotOwners(await cluster.masters());
    const affected = (slot: number) => ownerBefore(slot) !== ownerAfter(slot);
    const steady = await untilSteady(r, affected, r.now(), resumeWithinMs);
    const endAt = r.now();
    probe.stop();
    const result = await load.stop();
    // Every entry written before the reshard is still there. A circuit that a slow moment opened
    // skips reads for a cool-down, so an entry gets three tries, a cool-down apart.
    let unread = args;
    for (let pass = 0; pass < 3 && unread.length > 0; pass++) {
      if (pass > 0) await sleep(1100);
      const from = r.events.length;
      for (const n of unread) await r.f(n);
      const hit = new Set(
        r.events
          .slice(from)
          .filter((e) => e.kind === 'hit')
          .map((e) => e.key),
      );
      unread = unread.filter((n) => !hit.has(r.f.keyFor(n)));
    }
    const unreadableAfter = unread.length;
    let moved = 0;
    for (let slot = 0; slot < 16_384; slot++) if (affected(slot)) moved++;
    return {
      ...figuresOf(
        `cluster: reshard of ${moved} slots under load (redis-cli --cluster reshard)`,
        steady,
        r,
        result,
        probe,
        faultAt,
        endAt,
        affected,
        (slot) => String(ownerBefore(slot)),
        {
          reshardMs: Math.round(reshardMs),
          slotsMoved: moved,
          entriesOnMovedSlots: args.filter((n) => affected(keySlot(r.f.keyFor(n)))).length,
          runs: r.runs(),
        },
      ),
      unreadableAfter,
    };
  } finally {
    client.destroy();
    await cluster.stop();
  }
}

/** What happened to the entries of the slot caught mid-migration, by how far each had moved. */
export interface MigratingSlotFacts {
  slot: number;
  /** Entries moved (value and token) to the target before the load. */
  movedHits: number;
  /** Entries left on the source. */
  stayedHits: number;
  /** Of the entries never called before, how many a second call found cached. */
  freshCached: number;
  fresh: number;
  /** Of the fresh entries, how many times the function ran (lock: once per entry, in one process). */
  freshRuns: number;
  /** `invalidate` of a moved and of a stayed entry: `ok` or the error's message. */
  invalidateMoved: string;
  invalidateStayed: string;
  /**
   * Six invalidations in a row in the migrating slot, with nothing else going to the source master,
   * then a read of one of its entries in another slot: `hit`, or the error code it met.
   */
  bystanderAfterInvalidates: string;
  /** After invalidate, a call computed anew (miss) and the next one hit. */
  refilledAfterInvalidate: number;
  /** Entries of the slot that hit, once the migration was finished, on their second call. */
  hitsAfterFinish: number;
  entriesInSlot: number;
}

/** `count` arguments, beyond those the load uses, whose entries land in `slot`. */
function argsInSlot(r: Rig, slot: number, count: number, from: number): number[] {
  const found: number[] = [];
  for (let n = from; found.length < count; n++) if (keySlot(r.f.keyFor(n)) === slot) found.push(n);
  return found;
}

/**
 * 3. One slot caught mid-migration: `IMPORTING` on the target, `MIGRATING` on the source, some of its
 * entries moved with `MIGRATE` and others not. First, with no load, six invalidations in a row in
 * that slot and a read of an entry in another slot of the source master; then the load runs over
 * every slot while hits, misses with locks and `invalidate` go to that slot (ASK redirections); then
 * the migration ends.
 */
export async function clusterSlotMigrating(
  options: ScenarioOptions & { holdMs?: number } = {},
): Promise<FailoverFigures & { facts: MigratingSlotFacts }> {
  const { load: shape = TEST_LOAD, holdMs = 2000 } = options;
  const cluster = await spawnRedisCluster({ masters: 3 });
  const client = clusterClient(cluster, options.client ?? 'defaults');
  try {
    await client.connect();
    const r = rig(client);
    const args = argsOf(shape);
    await warm(r, args);
    const [source, target] = (await cluster.masters()) as [ClusterMaster, ClusterMaster];
    const ownerBefore = slotOwners(await cluster.masters());
    // A slot of the source, and entries in it beyond the load's own arguments.
    const slot = keySlot(r.f.keyFor(args.find((n) => servesSlot(source, keySlot(r.f.keyFor(n)))) as number));
    const found = argsInSlot(r, slot, 14, 10_000);
    const inSlot = found.slice(0, 8);
    const moved = inSlot.slice(0, 3);
    const stayed = inSlot.slice(3, 6);
    const fresh = inSlot.slice(6);
    const quiet = found.slice(8);
    // An entry of the source master in another slot, which only the quiet phase below reads.
    let bystander = 20_000;
    while (!servesSlot(source, keySlot(r.f.keyFor(bystander))) || keySlot(r.f.keyFor(bystander)) === slot) bystander++;
    await warm(r, [...moved, ...stayed, bystander]);
    const affected = (s: number) => s === slot;

    await cluster.beginSlotMigration(slot, source, target);
    await cluster.migrateKeys(
      source,
      target,
      moved.flatMap((n) => [r.f.keyFor(n), tokenKeyOf(r.f.keyFor(n))]),
    );
    // Before the load: with nothing else going to the source master, six invalidations in a row in
    // the migrating slot, then a read of the bystander on that master.
    for (const n of quiet) await r.f.invalidate(n).catch(() => {});
    const bystanderFrom = r.events.length;
    await r.f(bystander);
    const bystanderEvent = r.events
      .slice(bystanderFrom)
      .find((e) => e.key === r.f.keyFor(bystander) && e.kind !== 'miss');
    const bystanderAfterInvalidates =
      bystanderEvent === undefined ? 'none' : (bystanderEvent.code ?? bystanderEvent.kind);
    // A circuit those invalidations opened lets a probe through after its cool-down; the probe's
    // answer closes it, so the rest of the scenario starts from closed circuits.
    await sleep(1100);
    await r.f(bystander);
    const probeKey = r.f.keyFor(moved[0] as number);
    const probe = startProbe(() => client.get(probeKey), r.now);
    const load = startLoad(r.f, args, { ...shape, fresh: Math.floor(shape.batch / 10) });
    const faultAt = r.now();

    // Hits of these calls only: the load never calls these arguments.
    const hitsOf = async (ns: number[]) => {
      const keys = new Set(ns.map((n) => r.f.keyFor(n)));
      const from = r.events.length;
      for (const n of ns) await r.f(n);
      return r.events.slice(from).filter((e) => e.kind === 'hit' && keys.has(e.key)).length;
    };
    const movedHits = await hitsOf(moved);
    const stayedHits = await hitsOf(stayed);
    const runsBefore = r.runs();
    await Promise.all(fresh.flatMap((n) => [r.f(n), r.f(n), r.f(n)]));
    const freshRuns = r.runs() - runsBefore;
    const freshCached = await hitsOf(fresh);
    const invalidated = async (n: number) => {
      try {
        await r.f.invalidate(n);
        return 'ok';
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    };
    const invalidateMoved = await invalidated(moved[0] as number);
    const invalidateStayed = await invalidated(stayed[0] as number);
    const pair = [moved[0] as number, stayed[0] as number];
    const runsBeforeRefill = r.runs();
    for (const n of pair) await r.f(n);
    const refilledRuns = r.runs() - runsBeforeRefill;
    const refilledHits = await hitsOf(pair);
    await sleep(holdMs);

    await cluster.finishSlotMigration(slot, source, target);
    const steady = await untilSteady(r, affected, r.now(), 5000);
    const endAt = r.now();
    probe.stop();
    const result = await load.stop();
    // Entries not cached during the migration fill now; then every one of them hits.
    for (const n of inSlot) await r.f(n);
    const hitsAfterFinish = await hitsOf(inSlot);
    const facts: MigratingSlotFacts = {
      slot,
      movedHits,
      stayedHits,
      fresh: fresh.length,
      freshRuns,
      freshCached,
      invalidateMoved,
      invalidateStayed,
      bystanderAfterInvalidates,
      refilledAfterInvalidate: refilledRuns === pair.length ? refilledHits : 0,
      hitsAfterFinish,
      entriesInSlot: inSlot.length,
    };
    return {
      ...figuresOf(
        `cluster: slot ${slot} mid-migration (IMPORTING/MIGRATING, ${moved.length} of ${moved.length + stayed.length} entries moved) for ${holdMs / 1000} s`,
        steady,
        r,
        result,
        probe,
        faultAt,
        endAt,
        affected,
        (s) => String(ownerBefore(s)),
        { runs: r.runs() },
      ),
      facts,
    };
  } finally {
    client.destroy();
    await cluster.stop();
  }
}

/**
 * 4. A sentinel group (1 master, 1 replica, 3 sentinels) under load: `SENTINEL FAILOVER`, then, once
 * the old master is the new one's replica, `SIGKILL` of the new master. One figure per failover.
 */
export async function sentinelFailovers(options: ScenarioOptions = {}): Promise<FailoverFigures[]> {
  const { load: shape = TEST_LOAD, resumeWithinMs = 15_000 } = options;
  const group = await spawnSentinelGroup({ args: FAST_SYNC });
  const setup = options.client ?? 'defaults';
  const sentinel = createSentinel({
    name: group.name,
    sentinelRootNodes: group.sentinels,
    ...(setup === 'resilient' ? { nodeClientOptions: RESILIENT_NODE } : {}),
  });
  sentinel.on('error', () => {});
  try {
    await sentinel.connect();
    const r = rig(sentinel);
    const args = argsOf(shape);
    await warm(r, args);
    const everything = () => true;
    const figures: FailoverFigures[] = [];
    const faults: Array<[string, (port: number) => Promise<void>]> = [
      [`sentinel: SENTINEL FAILOVER (1 master, 1 replica, 3 sentinels; ${setup} client)`, () => group.failover()],
      [`sentinel: SIGKILL of the master (down-after 1 s; ${setup} client)`, (port) => group.server(port).kill()],
    ];
    for (const [scenario, fault] of faults) {
      await group.awaitReplicasInSync();
      const oldPort = await group.masterPort();
      const probe = startProbe(() => sentinel.get('failover-probe'), r.now);
      const load = startLoad(r.f, args, shape);
      await sleep(300);
      const faultAt = r.now();
      await fault(oldPort);
      const newPort = await group.awaitNewMaster(oldPort);
      const failoverMs = r.now() - faultAt;
      // The measurement ends once the client has moved to the new master and caching is steady.
      const switched = await within(resumeWithinMs, () => sentinel.getMasterNode()?.port === newPort);
      const switchedAt = r.now();
      const steady = await untilSteady(r, everything, switchedAt, resumeWithinMs);
      const endAt = r.now();
      probe.stop();
      const result = await load.stop();
      figures.push(
        figuresOf(scenario, steady, r, result, probe, faultAt, endAt, everything, () => 'master', {
          failoverMs: Math.round(failoverMs),
          clientSwitchedMs: switched ? Math.round(switchedAt - faultAt) : 'never',
          oldMaster: oldPort,
          newMaster: newPort,
        }),
      );
    }
    return figures;
  } finally {
    sentinel.destroy();
    await group.stop();
  }
}

function codes(counts: Partial<Record<MemoizeErrorCode, number>>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? 'none' : entries.map(([code, n]) => `${code} x${n}`).join(', ');
}

function ms(value: number | undefined): string {
  return value === undefined ? 'never' : `${Math.round(value)} ms`;
}

function byMaster(f: FailoverFigures): string {
  const entries = Object.entries(f.healthyErrorsByMaster);
  return entries.length === 0 ? '' : `; by master: ${entries.map(([m, c]) => `${m}: ${codes(c)}`).join('; ')}`;
}

/** One line per figure, for the test output and for failure messages. */
export function describeFigures(f: FailoverFigures): string {
  const notes = Object.entries(f.notes)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return [
    `${f.scenario}:`,
    `  calls ${f.calls}, failed ${f.failed}${f.failures.length > 0 ? ` (${f.failures.join('; ')})` : ''}`,
    `  healthy masters' entries: skipped for ${ms(f.healthySkippedMs)} (${codes(f.healthyErrors)}${byMaster(f)}), ${f.healthyWindowsWithoutHits} windows of ${WINDOW_MS} ms without hits`,
    `  touched entries: caching resumed after ${ms(f.resumeMs)} (client alone: ${ms(f.clientResumeMs)}); errors ${codes(f.affectedErrors)}; steady at the end: ${f.steady}`,
    `  ${notes}`,
  ].join('\n');
}

/**
 * The errors reported for entries the fault did not touch that a loaded machine does not explain:
 * a server may miss the deadline now and then (E_TIMEOUT), and the circuit of a master that did, for
 * any of its entries, may open (E_CIRCUIT_OPEN); anything else is listed, and so is an open circuit
 * on a master none of whose entries ever missed the deadline.
 */
export function unexplainedHealthyErrors(f: FailoverFigures): string[] {
  const unexplained = Object.keys(f.healthyErrorMessages).filter(
    (text) => !text.startsWith('E_TIMEOUT:') && !text.startsWith('E_CIRCUIT_OPEN:'),
  );
  for (const [master, counts] of Object.entries(f.healthyErrorsByMaster)) {
    if ((counts.E_CIRCUIT_OPEN ?? 0) > 0 && (f.errorsByMaster[master]?.E_TIMEOUT ?? 0) === 0) {
      unexplained.push(
        `E_CIRCUIT_OPEN x${counts.E_CIRCUIT_OPEN} on master ${master}, none of whose entries missed the deadline ` +
          `(its errors: ${codes(f.errorsByMaster[master] ?? {})})`,
      );
    }
  }
  return unexplained;
}
