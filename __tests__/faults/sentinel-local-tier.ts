import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { createClient, createSentinel } from 'redis';
import { createMemoizer, type Memoized, type MemoizeError, type RedisLike } from '../../lib';
import { RELEASE_CHANNEL } from '../../lib/stores/redis/scripts';
import { deferred, sleep, uniquePrefix } from '../helpers/redis';
import { redisCli } from '../helpers/redis-cluster';
import { type SentinelGroup, spawnSentinelGroup } from '../helpers/redis-sentinel';
import { expected, startLoad } from './failover-load';

/**
 * Failovers of a Sentinel group (1 master, 1 replica, 3 sentinels) under load, with the local tier
 * and locks on, over a node-redis `createSentinel` object or an ioredis `Redis` with `sentinels`:
 * `SENTINEL FAILOVER`, then `SIGKILL` of the new master. For each it measures what the fault tests
 * assert and `bench/failover.ts` prints: calls failed, when the local tier served again, how long a
 * change made from another connection took to evict the local copy, whether any stale value was
 * served, and how fast a waiter woke after a lock release.
 */

export type SentinelClientKind = 'node-redis createSentinel' | 'ioredis Redis with sentinels';

/** A client of the group, as the subject or as another process would have it. */
interface Subject {
  client: RedisLike;
  /** Connected to a master now. */
  ready(): boolean;
  /** The port of the master the subject's client talks to now, as the client itself knows it. */
  masterPort(): number | undefined;
  close(): void;
}

async function connect(kind: SentinelClientKind, group: SentinelGroup): Promise<Subject> {
  if (kind === 'node-redis createSentinel') {
    const sentinel = createSentinel({ name: group.name, sentinelRootNodes: group.sentinels });
    sentinel.on('error', () => {});
    await sentinel.connect();
    return {
      client: sentinel as unknown as RedisLike,
      ready: () => sentinel.isReady,
      masterPort: () => sentinel.getMasterNode()?.port,
      close: () => sentinel.destroy(),
    };
  }
  const client = new Redis({ sentinels: group.sentinels, name: group.name });
  client.on('error', () => {});
  await new Promise((resolve) => client.once('ready', resolve));
  return {
    client: client as unknown as RedisLike,
    ready: () => client.status === 'ready',
    masterPort: () => (client as unknown as { stream?: { remotePort?: number } }).stream?.remotePort,
    close: () => client.disconnect(),
  };
}

export interface LocalFailoverFigures {
  scenario: string;
  /** Calls of the loaded function (local hits, store hits, misses with locks) from just before the fault. */
  calls: number;
  failed: number;
  failures: string[];
  /** From the fault until the probe entry was served from the local tier again (tracking on the new master). */
  localAgainMs: number | undefined;
  /** Tracking connections (`CLIENT LIST` flag `t`) on the new master once the tier served again. */
  trackingOnNewMaster: number;
  /** From a change made (and returned) on the new master by another connection until the subject saw it. */
  evictedAfterMs: number | undefined;
  /**
   * Values older than a change that had returned, served from the local tier after it while the
   * subject's client already talked to the new master (must be empty).
   */
  stale: string[];
  /**
   * The same, served while the subject's client still took the old server for the master (it had not
   * heard of the switch yet): what the client itself would have read there. Reported, not a failure.
   */
  staleBeforeSwitch: string[];
  /**
   * Values older than a change that had returned, read through the client (the tier bypassed): an
   * ioredis `Redis` with `sentinels` but without `failoverDetector` stays on the old master after a
   * `SENTINEL FAILOVER` until the sentinels demote it.
   */
  staleFromStore: string[];
  /** From a lock's release until its waiter (another client of the same kind) had the holder's value, per round. */
  wakeMs: number[];
  /** Errors the subject's hooks reported, by code. */
  errors: Record<string, number>;
  failoverMs: number;
}

// The lock rounds measure how a waiter wakes, not the deadline or the breaker: a loaded machine
// must not make a waiter give up on the store and compute for itself.
const SLOW_MACHINE_TIMEOUT = '2s';

/** A memoized probe whose value is the source's version when it computed; each call says where its value came from. */
function versioned(client: RedisLike, keyPrefix: string, source: { version: number }, local: boolean) {
  let kind: 'local' | 'store' | 'miss' | undefined;
  const errors: MemoizeError[] = [];
  const f = createMemoizer({
    client,
    keyPrefix,
    // What is measured is which value is served, not the deadline: a loaded machine must not fail
    // the change or turn reads into computations.
    timeout: SLOW_MACHINE_TIMEOUT,
    onHit: (e) => {
      kind ??= e.local === true ? 'local' : 'store';
    },
    onMiss: () => {
      kind ??= 'miss';
    },
    onError: (e) => errors.push(e.error),
  })(
    async function probe(_id: number) {
      return { version: source.version };
    },
    local ? { local: true, ttl: '1h' } : { ttl: '1h' },
  );
  return {
    f,
    errors,
    async call(id: number) {
      kind = undefined;
      const value = await f(id);
      return { version: value.version, kind: kind ?? 'miss' };
    },
  };
}

/** Polls `check` every 5 ms; the ms it took, or undefined after `ms`. */
async function timeUntil(ms: number, check: () => Promise<boolean>): Promise<number | undefined> {
  const started = performance.now();
  while (performance.now() - started < ms) {
    if (await check()) return performance.now() - started;
    await sleep(5);
  }
  return undefined;
}

/**
 * A lock held by a function over `holderClient` until 300 ms after one over `waiterClient` began
 * waiting for it; each round resolves the ms from the release to the waiter's value.
 */
function lockRounds(holderClient: RedisLike, waiterClient: RedisLike): (id: number) => Promise<number> {
  const keyPrefix = uniquePrefix('wake');
  let finish = deferred<void>();
  let computing = deferred<void>();
  const reported: string[] = [];
  const onError = ({ error }: { error: MemoizeError }) => reported.push(`${error.code}: ${error.message}`);
  const holder = createMemoizer({
    client: holderClient,
    keyPrefix,
    lockTtl: '10s',
    timeout: SLOW_MACHINE_TIMEOUT,
    onError,
  })(async function locked(n: number) {
    computing.resolve();
    await finish.promise;
    return `holder-${n}`;
  });
  const waiter = createMemoizer({
    client: waiterClient,
    keyPrefix,
    lockTtl: '10s',
    timeout: SLOW_MACHINE_TIMEOUT,
    onError,
  })(async function locked(n: number) {
    return `waiter-${n}`;
  });
  const round = async (id: number) => {
    finish = deferred<void>();
    computing = deferred<void>();
    const held = holder(id);
    await computing.promise;
    const waiting = waiter(id).then((value) => ({ value, at: performance.now() }));
    await sleep(300);
    const released = performance.now();
    finish.resolve();
    await held;
    const { value, at } = await waiting;
    return { woke: value === `holder-${id}`, value, ms: at - released };
  };
  return async (id) => {
    for (let attempt = 0; ; attempt++) {
      reported.length = 0;
      const r = await round(id * 10 + attempt);
      if (r.woke) return r.ms;
      // A round whose store calls failed (a circuit still open after the failover, a missed
      // deadline) says nothing about waking: once more after a breaker cool-down.
      if (reported.length === 0 || attempt === 4) {
        throw new Error(`the waiter computed its own value (${r.value}), reports: ${reported.join('; ') || 'none'}`);
      }
      await sleep(1000);
    }
  };
}

/** The number of tracking connections (flag `t`) on the server at `port`. */
async function trackingClients(port: number): Promise<number> {
  const list = await redisCli(port, 'CLIENT', 'LIST');
  return list.split('\n').filter((line) => /flags=\S*t/.test(line)).length;
}

/** The number of connections subscribed to the lock releases on the server at `port`. */
async function releaseListeners(port: number): Promise<number> {
  const [, count = '0'] = (await redisCli(port, 'PUBSUB', 'NUMSUB', RELEASE_CHANNEL)).trim().split('\n');
  return Number(count);
}

/** Options of {@link sentinelLocalFailovers}. */
export interface SentinelLocalOptions {
  /** Calls per 50 ms tick, of which `fresh` are misses (a lock each). */
  batch?: number;
  fresh?: number;
  keys?: number;
  /** Lock release rounds after each failover. */
  wakeRounds?: number;
}

/** Both failovers over one client kind; one figure each. */
export async function sentinelLocalFailovers(
  kind: SentinelClientKind,
  options: SentinelLocalOptions = {},
): Promise<LocalFailoverFigures[]> {
  const { batch = 100, fresh = 10, keys = 200, wakeRounds = 4 } = options;
  const group = await spawnSentinelGroup({ args: ['--repl-diskless-sync-delay', '0'] });
  const opened: Subject[] = [];
  try {
    const [subject, peer] = await Promise.all([connect(kind, group), connect(kind, group)]);
    opened.push(subject, peer);
    const keyPrefix = uniquePrefix('sentinel-local');
    const errors: Record<string, number> = {};
    const load: Memoized<[number], string> = createMemoizer({
      client: subject.client,
      keyPrefix,
      ttl: '1h',
      onError: ({ error }) => {
        errors[error.code] = (errors[error.code] ?? 0) + 1;
      },
    })(
      async function loaded(n: number) {
        await sleep(5);
        return expected(n);
      },
      { local: true },
    );
    const args = Array.from({ length: keys }, (_, i) => i);
    await Promise.all(args.map((n) => load(n)));
    const source = { version: 1 };
    const probe = versioned(subject.client, keyPrefix, source, true);
    await timeUntil(5000, async () => (await probe.call(1)).kind === 'local');
    const lockRound = lockRounds(subject.client, peer.client);
    let round = 0;
    const figures: LocalFailoverFigures[] = [];
    const faults: Array<[string, (port: number) => Promise<void>]> = [
      ['SENTINEL FAILOVER', () => group.failover()],
      ['SIGKILL of the master', (port) => group.server(port).kill()],
    ];
    for (const [name, fault] of faults) {
      await group.awaitReplicasInSync();
      const oldPort = await group.masterPort();
      const listening = await releaseListeners(oldPort);
      const running = startLoad(load, args, { batch, everyMs: 50, fresh });
      await sleep(300);
      const faultAt = performance.now();
      await fault(oldPort);
      const newPort = await group.awaitNewMaster(oldPort);
      const failoverMs = performance.now() - faultAt;
      // Another process's change, made on the new master as soon as there is one (the subject's
      // tracking may not be back yet): from its return on, the subject must never serve the old value.
      const stale: string[] = [];
      const staleBeforeSwitch: string[] = [];
      // Read through the client from a server it still takes for the master: the client's, not the tier's.
      const staleFromStore: string[] = [];
      const other = createClient({ url: `redis://127.0.0.1:${newPort}` });
      other.on('error', () => {});
      await other.connect();
      try {
        const writer = versioned(other as unknown as RedisLike, keyPrefix, source, false);
        const change = async () => {
          source.version++;
          await writer.f.refresh(1);
          if (writer.errors.length > 0) throw new Error(`the change failed: ${writer.errors[0]?.message}`);
          return source.version;
        };
        const notStale = async (version: number) => {
          const switched = subject.masterPort() === newPort;
          const r = await probe.call(1);
          if (r.version < version) {
            const text = `${r.kind} v${r.version} after v${version} was written`;
            if (r.kind !== 'local') staleFromStore.push(text);
            else if (switched) stale.push(text);
            else staleBeforeSwitch.push(text);
          }
          return r;
        };
        let version = await change();
        // Served locally again: tracking is up on the new master (the old one is dead after a SIGKILL).
        const local = await timeUntil(20_000, async () => {
          const r = await notStale(version);
          return r.kind === 'local' && r.version === version;
        });
        const localAgainMs = local === undefined ? undefined : performance.now() - faultAt;
        const trackingOnNewMaster = await trackingClients(newPort);
        version = await change();
        const evictedAfterMs = await timeUntil(5000, async () => (await notStale(version)).version === version);
        // Any later read must not go back to an older value.
        for (let i = 0; i < 20; i++) await notStale(version);
        // Both clients on the new master, and the release listeners of the stores over them
        // subscribed there again (they reconnect a moment after their client: a release published
        // in between is heard by nobody and its waiter wakes at its poll), before a lock changes
        // hands between them.
        await timeUntil(
          10_000,
          async () => subject.ready() && peer.ready() && (await releaseListeners(newPort)) >= listening,
        );
        const wakeMs: number[] = [];
        for (let i = 0; i < wakeRounds; i++) wakeMs.push(await lockRound(round++));
        const result = await running.stop();
        figures.push({
          scenario: `${kind}: ${name}`,
          calls: result.calls,
          failed: result.failed,
          failures: result.failures,
          localAgainMs,
          trackingOnNewMaster,
          evictedAfterMs,
          stale,
          staleBeforeSwitch,
          staleFromStore,
          wakeMs,
          errors: { ...errors },
          failoverMs,
        });
        for (const code of Object.keys(errors)) delete errors[code];
      } finally {
        other.destroy();
      }
    }
    return figures;
  } finally {
    for (const s of opened) s.close();
    await group.stop();
  }
}

/** One line per figure, for the test output and the bench. */
export function describeLocalFigures(f: LocalFailoverFigures): string {
  const ms = (v: number | undefined) => (v === undefined ? 'never' : `${Math.round(v)} ms`);
  return (
    `${f.scenario}: calls ${f.calls}, failed ${f.failed}; failover ${ms(f.failoverMs)}; local tier serving again ` +
    `${ms(f.localAgainMs)} after the fault (${f.trackingOnNewMaster} tracking connection(s) on the new master); ` +
    `a change evicted the local copy in ${ms(f.evictedAfterMs)}; stale local values: ${f.stale.length}${f.stale.length > 0 ? ` (${f.stale.slice(0, 3).join(', ')})` : ''} (before the client heard of the switch: ${f.staleBeforeSwitch.length}), read through the client: ${f.staleFromStore.length}; waiter woke ` +
    `${f.wakeMs.map((v) => Math.round(v)).join('/')} ms after each release; errors ${JSON.stringify(f.errors)}`
  );
}
