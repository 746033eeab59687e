import { performance } from 'node:perf_hooks';
import type { RedisClientType } from 'redis';
import type { MemoizeErrorCode } from '../../lib/errors';
import type { Memoized } from '../../lib/memoize';
import { createMemoizer } from '../../lib/memoizer';
import type { MemoizerOptions } from '../../lib/options';
import { createResilientClient } from '../../lib/stores/redis/resilient-client';
import { RedisStore } from '../../lib/stores/redis/store';
import { deferred, sleep } from '../helpers/redis';
import { freePort, type RedisServer, spawnRedis } from '../helpers/redis-server';
import { CountingStore } from '../helpers/stores';

/**
 * Fault scenarios against real redis-server processes, shared by the fault tests (which assert on the
 * figures) and `npm run bench:faults` (which prints them).
 */
export interface Figures {
  scenario: string;
  /** Memoized calls made while the fault was on. */
  calls: number;
  /** Calls that rejected or returned a wrong value (must be 0). */
  failed: number;
  /** Worst call duration minus the function's own run time, in ms, while the fault was on. */
  worstAddedMs: number;
  /** From the recovery (server back) to the first cache hit, in ms. */
  resumeMs: number | undefined;
  /** Error codes reported to onError, with counts. */
  reported: Partial<Record<MemoizeErrorCode, number>>;
  /** Scenario-specific facts. */
  notes: Record<string, number | string | boolean>;
}

/** The function's own run time in every scenario. */
export const FN_MS = 20;
/** The deadline used by the scenarios (the library's default). */
export const TIMEOUT_MS = 250;

/** What each scenario sets up: a resilient client, a counting store, and a memoized slow function. */
export interface Rig {
  client: RedisClientType;
  store: CountingStore;
  f: Memoized<[number], string>;
  runs: () => number;
  reported: Partial<Record<MemoizeErrorCode, number>>;
  hits: () => number;
  close(): Promise<void>;
}

/** The value `f(n)` must return. */
export function expected(n: number): string {
  return `value-${n}`;
}

export function rig(url: string, options: MemoizerOptions = {}): Rig {
  const client = createResilientClient(url, { onConnectionError: () => {} });
  const store = new CountingStore(new RedisStore(client));
  const reported: Partial<Record<MemoizeErrorCode, number>> = {};
  let runs = 0;
  let hits = 0;
  const memoize = createMemoizer({
    store,
    keyPrefix: `fault-${Math.random().toString(36).slice(2, 8)}`,
    ttl: '1h',
    onError: ({ error }) => {
      reported[error.code] = (reported[error.code] ?? 0) + 1;
    },
    onHit: () => {
      hits++;
    },
    ...options,
  });
  const f = memoize(async function slow(n: number) {
    runs++;
    await sleep(FN_MS);
    return expected(n);
  });
  return {
    client,
    store,
    f,
    runs: () => runs,
    hits: () => hits,
    reported,
    async close() {
      client.destroy();
    },
  };
}

/** Runs `count` calls, `concurrency` at a time, timing each; a rejection or a wrong value is a failure. */
export async function callMany(
  f: Memoized<[number], string>,
  count: number,
  concurrency: number,
  arg: (i: number) => number,
): Promise<{ calls: number; failed: number; worstMs: number }> {
  let next = 0;
  let failed = 0;
  let worstMs = 0;
  async function lane(): Promise<void> {
    while (next < count) {
      const n = arg(next++);
      const started = performance.now();
      try {
        if ((await f(n)) !== expected(n)) failed++;
      } catch {
        failed++;
      }
      worstMs = Math.max(worstMs, performance.now() - started);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { calls: count, failed, worstMs };
}

/** Calls `f(n)` every 20 ms until a call is a cache hit; resolves the time that took, in ms. */
export async function untilHit(r: Rig, n: number, limitMs = 10_000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    const before = r.hits();
    await r.f(n);
    if (r.hits() > before) return performance.now() - started;
    await sleep(20);
  }
  throw new Error(`no cache hit within ${limitMs} ms`);
}

/** Waits until the client is ready again. */
export async function untilReady(client: RedisClientType, limitMs = 10_000): Promise<void> {
  const started = performance.now();
  while (!client.isReady) {
    if (performance.now() - started > limitMs) throw new Error(`client not ready within ${limitMs} ms`);
    await sleep(10);
  }
}

/** 1. Nothing listens at boot; calls still answer; Redis starts later and caching resumes by itself. */
export async function downAtBoot(): Promise<Figures> {
  const port = await freePort();
  const r = rig(`redis://127.0.0.1:${port}`);
  let server: RedisServer | undefined;
  try {
    const during = await callMany(r.f, 200, 20, (i) => i % 10);
    const maxPendingWhileDown = r.store.maxPending;
    server = await spawnRedis({ port });
    const resumeMs = await untilHit(r, 1);
    return {
      scenario: 'Redis down at boot, started later',
      calls: during.calls,
      failed: during.failed,
      worstAddedMs: during.worstMs - FN_MS,
      resumeMs,
      reported: r.reported,
      notes: { maxPendingStoreOps: maxPendingWhileDown },
    };
  } finally {
    await r.close();
    await server?.stop();
  }
}

/**
 * 2. 200 concurrent calls (half of them hits), SIGKILL mid-flight, restart empty on the same port.
 * Also a computation that took its generation token before the crash and finishes after the restart:
 * its write must be refused, since the token died with the data.
 */
export async function killMidFlight(): Promise<
  Figures & { staleWriteLanded: boolean; staleErrors: string[]; refilled: number }
> {
  const server = await spawnRedis();
  const r = rig(server.url);
  try {
    await untilReady(r.client);
    for (let n = 0; n < 100; n++) await r.f(n);

    // The stale writer: it holds a token taken before the crash.
    const gate = deferred<void>();
    const staleErrors: string[] = [];
    const memoize = createMemoizer({
      store: r.store,
      keyPrefix: 'fault-stale',
      onError: ({ error }) => staleErrors.push(error.code),
    });
    let staleRuns = 0;
    const stale = memoize(async function stale(version: string) {
      staleRuns++;
      if (staleRuns === 1) await gate.promise;
      return version;
    });
    const pendingStale = stale('before-crash');
    await sleep(50);

    const started = performance.now();
    const burst = Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const t = performance.now();
        try {
          const ok = (await r.f(i)) === expected(i);
          return { ok, ms: performance.now() - t };
        } catch {
          return { ok: false, ms: performance.now() - t };
        }
      }),
    );
    await sleep(FN_MS / 2);
    await server.kill();
    const outcomes = await burst;
    const burstMs = performance.now() - started;

    await server.restart();
    const restartedAt = performance.now();
    await untilHit(r, 999);
    const resumeMs = performance.now() - restartedAt;
    // Caching works again (circuit closed), so the stale write does reach the restarted server.
    gate.resolve();
    await pendingStale;
    const staleWriteLanded = (await r.client.get(stale.keyFor('before-crash'))) !== null;
    // Entries refill: every key computes once more, then hits.
    const runsBefore = r.runs();
    for (let n = 0; n < 50; n++) await r.f(n);
    for (let n = 0; n < 50; n++) await r.f(n);
    const refilled = r.runs() - runsBefore;
    return {
      scenario: 'SIGKILL mid-flight (200 concurrent), restart empty',
      calls: outcomes.length,
      failed: outcomes.filter((o) => !o.ok).length,
      worstAddedMs: Math.max(...outcomes.map((o) => o.ms)) - FN_MS,
      resumeMs,
      reported: r.reported,
      notes: { burstMs: Math.round(burstMs), staleWriteLanded, staleWriterErrors: staleErrors.join(',') },
      staleWriteLanded,
      staleErrors,
      refilled,
    };
  } finally {
    await r.close();
    await server.stop();
  }
}

/**
 * 3. SIGSTOP: the socket stays open and nothing answers. Calls keep coming for `holdMs`; then SIGCONT.
 */
export async function paused(holdMs = 3000): Promise<Figures> {
  const server = await spawnRedis();
  const r = rig(server.url);
  try {
    await untilReady(r.client);
    for (let n = 0; n < 10; n++) await r.f(n);
    const heapBefore = process.memoryUsage().heapUsed;
    r.store.maxPending = r.store.pending;
    const startedBefore = r.store.started;
    server.pause();
    const until = performance.now() + holdMs;
    let calls = 0;
    let failed = 0;
    let worstMs = 0;
    await Promise.all(
      Array.from({ length: 20 }, async (_, lane) => {
        while (performance.now() < until) {
          const n = (lane + calls) % 10;
          calls++;
          const t = performance.now();
          try {
            if ((await r.f(n)) !== expected(n)) failed++;
          } catch {
            failed++;
          }
          worstMs = Math.max(worstMs, performance.now() - t);
        }
      }),
    );
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    const storeOpsDuringPause = r.store.started - startedBefore;
    const maxPending = r.store.maxPending;
    server.resume();
    const resumeMs = await untilHit(r, 3);
    return {
      scenario: `SIGSTOP for ${holdMs / 1000} s under load (20 callers), then SIGCONT`,
      calls,
      failed,
      worstAddedMs: worstMs - FN_MS,
      resumeMs,
      reported: r.reported,
      notes: {
        storeOpsDuringPause,
        maxPendingStoreOps: maxPending,
        heapGrowthMb: Math.round(heapGrowthMb * 10) / 10,
        clientOpenAfter: r.client.isOpen,
      },
    };
  } finally {
    server.resume();
    await r.close();
    await server.stop();
  }
}

async function refusing(label: string, url: string, setup: () => Promise<void>): Promise<Figures> {
  const r = rig(url);
  try {
    await untilReady(r.client);
    await setup();
    const during = await callMany(r.f, 100, 10, (i) => i % 10);
    return {
      scenario: label,
      calls: during.calls,
      failed: during.failed,
      worstAddedMs: during.worstMs - FN_MS,
      resumeMs: undefined,
      reported: r.reported,
      notes: { runs: r.runs(), stored: (await r.client.get(r.f.keyFor(1))) !== null },
    };
  } finally {
    await r.close();
  }
}

/** 4. Writes refused: `maxmemory 1` with `noeviction` (OOM), and a read-only replica (READONLY). */
export async function refusedWrites(): Promise<Figures[]> {
  const primary = await spawnRedis();
  const replica = await spawnRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
  try {
    const admin = createResilientClient(primary.url, { onConnectionError: () => {} });
    await untilReady(admin);
    const oom = await refusing('maxmemory 1 + noeviction (OOM)', primary.url, async () => {
      await admin.configSet({ maxmemory: '1', 'maxmemory-policy': 'noeviction' });
    });
    admin.destroy();
    const readonly = await refusing('read-only replica (READONLY)', replica.url, async () => {});
    return [oom, readonly];
  } finally {
    await replica.stop();
    await primary.stop();
  }
}
