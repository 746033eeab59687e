import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { RedisClientType } from 'redis';
import type { MemoizeErrorCode } from '../lib/errors';
import { lockKeyOf } from '../lib/key';
import type { Memoized } from '../lib/memoize';
import { createMemoizer } from '../lib/memoizer';
import type { MemoizeOptions } from '../lib/options';
import { MemoryStore } from '../lib/stores/memory';
import { RedisStore } from '../lib/stores/redis/store';
import type { Begin, BeginRequest, Store } from '../lib/stores/store';
import type { ChildValue, Command, ComputingEvent, Reply, SetupCommand } from './fixtures/lock-child';
import { connect, deferred, sleep, testRedisUrl, uniquePrefix } from './helpers/redis';
import { type RedisServer, spawnRedis } from './helpers/redis-server';
import { CountingStore } from './helpers/stores';

// The cross-process compute lock (options lock, lockTtl, lockWait) against real redis-servers: forked
// processes for the cluster-wide cases, and memoizers with their own client (or sharing one
// MemoryStore) standing for processes where a test must step computations by hand.

type Deferred<T> = ReturnType<typeof deferred<T>>;

/** `promise`, or a rejection naming `what` if it takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Promises that resolve once a condition holds, re-checked on every `notify()`. */
class Signal {
  readonly #listeners: Array<() => void> = [];
  notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = () => {
        if (!check()) return;
        this.#listeners.splice(this.#listeners.indexOf(listener), 1);
        resolve();
      };
      this.#listeners.push(listener);
    });
  }
}

/**
 * The tests' pass-through store, also counting the begins that found the lock taken (a caller now
 * waiting for a holder).
 */
class Observed extends CountingStore {
  readonly #changed = new Signal();
  /** Begins (not background refreshes) that found the lock held by someone else. */
  waits = 0;
  /** Called after each such begin. */
  onWait: () => void = () => {};

  override begin(request: BeginRequest): Promise<Begin> {
    return super.begin(request).then((begun) => {
      if (begun.locked === false && request.ignoreValue !== true) {
        this.waits++;
        this.#changed.notify();
        this.onWait();
      }
      return begun;
    });
  }

  /** Resolves once `count` begins have found the lock taken. */
  waiting(count = 1): Promise<void> {
    return this.#changed.until(() => this.waits >= count);
  }
}

/** Stops the server (SIGSTOP) just as the first begin is sent, and lets it go (SIGCONT) after `ms`. */
class StallOnBegin extends Observed {
  readonly resumed = deferred<void>();
  #armed = true;
  constructor(
    inner: Store,
    readonly server: RedisServer,
    readonly ms: number,
  ) {
    super(inner);
  }
  override begin(request: BeginRequest): Promise<Begin> {
    if (this.#armed) {
      this.#armed = false;
      this.server.pause();
      setTimeout(() => {
        this.server.resume();
        this.resumed.resolve();
      }, this.ms);
    }
    return super.begin(request);
  }
}

/** A function whose every run waits for the test to settle it. */
class Gated<R> {
  readonly runs: Array<{ arg: number; gate: Deferred<R> }> = [];
  readonly #changed = new Signal();
  readonly fn = (arg: number): Promise<R> => {
    const gate = deferred<R>();
    this.runs.push({ arg, gate });
    this.#changed.notify();
    return gate.promise;
  };
  /** The gate of run number `count` (1-based), once it has started. */
  async started(count: number): Promise<Deferred<R>> {
    await this.#changed.until(() => this.runs.length >= count);
    return (this.runs[count - 1] as { gate: Deferred<R> }).gate;
  }
}

/** A memoized `target(arg)` over `store`: one per "process"; all share keyPrefix and name, so one key. */
function memoized<R>(
  store: Store,
  keyPrefix: string,
  fn: (arg: number) => Promise<R>,
  options: MemoizeOptions<[number], R> = {},
  errors: MemoizeErrorCode[] = [],
): Memoized<[number], R> {
  const memoize = createMemoizer({ store, keyPrefix, onError: ({ error }) => errors.push(error.code) });
  return memoize(fn, { name: 'target', ...options });
}

// ---------------------------------------------------------------------------------------------------
// Forked processes
// ---------------------------------------------------------------------------------------------------

/** One forked lock-child.ts process, driven over IPC. */
class LockChild {
  readonly process: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  readonly #replies = new Map<number, Deferred<Reply>>();
  readonly #computing: ComputingEvent[] = [];
  readonly #changed = new Signal();
  #nextId = 1;

  constructor(url: string) {
    this.process = fork(join(__dirname, 'fixtures', 'lock-child.ts'), [url], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = deferred<void>();
    ready.promise.catch(() => {});
    this.ready = ready.promise;
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        const gone = new Error(`lock-child ${this.process.pid} exited (code ${code}, signal ${signal})`);
        ready.reject(gone);
        for (const reply of this.#replies.values()) reply.reject(gone);
        this.#replies.clear();
        resolve();
      });
    });
    this.process.on('message', (message: Reply | ComputingEvent | { ready: true }) => {
      if ('ready' in message) ready.resolve();
      else if ('event' in message) {
        this.#computing.push(message);
        this.#changed.notify();
      } else {
        const reply = this.#replies.get(message.id);
        this.#replies.delete(message.id);
        if (message.error !== undefined) reply?.reject(new Error(message.error));
        else reply?.resolve(message);
      }
    });
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  request(command: Record<string, unknown> & { op: Command['op'] }): Promise<Reply> {
    const id = this.#nextId++;
    const reply = deferred<Reply>();
    this.#replies.set(id, reply);
    this.process.send({ ...command, id });
    return reply.promise;
  }

  setup(command: Omit<SetupCommand, 'op' | 'id'>): Promise<Reply> {
    return this.request({ op: 'setup', ...command });
  }

  async call(arg: number): Promise<ChildValue> {
    return ((await this.request({ op: 'call', arg })).values as ChildValue[])[0] as ChildValue;
  }

  /** Resolves when the child's function has started its `count`-th run since the child started. */
  async computing(count = 1): Promise<ComputingEvent> {
    await this.#changed.until(() => this.#computing.length >= count);
    return this.#computing[count - 1] as ComputingEvent;
  }

  async kill(): Promise<void> {
    this.process.kill('SIGKILL');
    await this.exited;
  }

  async quit(): Promise<void> {
    if (!this.alive) return;
    await this.request({ op: 'quit' }).catch(() => {});
    await this.exited;
  }
}

describe('across processes (forked children, the suite Redis)', () => {
  let client: RedisClientType;
  let children: LockChild[] = [];
  /** The four processes of the stampede tests. */
  let four: LockChild[] = [];

  beforeAll(async () => {
    client = await connect();
    // Four for the stampedes, plus one that gets killed; they start in parallel.
    children = Array.from({ length: 5 }, () => new LockChild(testRedisUrl()));
    await Promise.all(children.map((c) => c.ready));
    four = children.slice(0, 4);
  }, 20_000);

  afterAll(async () => {
    await Promise.all(children.map((c) => c.quit()));
    await client.quit();
  });

  /** Gives each child a fresh memoizer on one new key space; resolves when all are set up (the barrier). */
  async function setupAll(
    processes: LockChild[],
    options: SetupCommand['options'],
    computeMs: number,
  ): Promise<{ keyPrefix: string; counterKey: string }> {
    const keyPrefix = uniquePrefix('lock-x');
    const counterKey = `${keyPrefix}-executions`;
    await Promise.all(processes.map((c) => c.setup({ keyPrefix, counterKey, computeMs, options })));
    return { keyPrefix, counterKey };
  }

  /** All four set up (barrier), then released together: 50 concurrent calls each on one cold key. */
  async function stampede(options: SetupCommand['options']) {
    const { counterKey } = await setupAll(four, options, 200);
    const started = performance.now();
    const replies = await Promise.all(four.map((c) => c.request({ op: 'burst', arg: 1, calls: 50 })));
    const elapsedMs = performance.now() - started;
    const values = replies.flatMap((r) => r.values as ChildValue[]);
    return { values, elapsedMs, executions: Number(await client.get(counterKey)) };
  }

  test('4 processes x 50 concurrent calls on a cold key: fn runs once, every call gets its value', async () => {
    const { values, elapsedMs, executions } = await stampede({});
    expect(values).toHaveLength(200);
    expect(executions).toBe(1);
    expect(new Set(values.map((v) => JSON.stringify(v))).size).toBe(1);
    expect(values[0]?.n).toBe(1);
    // The waiters were woken by the release (or a 250 ms poll), not by running out of patience (5 s).
    expect(elapsedMs).toBeLessThan(200 + 1500);
  });

  test('the same stampede with lock: false runs fn in several processes (the check above can fail)', async () => {
    const { values, executions } = await stampede({ lock: false });
    expect(values).toHaveLength(200);
    expect(executions).toBeGreaterThanOrEqual(2);
    expect(new Set(values.map((v) => v.n)).size).toBeGreaterThanOrEqual(2);
  });

  test('an entry expiring under load is recomputed at most once per expiry window', async () => {
    const ttlMs = 300;
    const { counterKey } = await setupAll(four, { ttl: `${ttlMs}ms` }, 50);
    const replies = await Promise.all(
      four.map((c) => c.request({ op: 'load', arg: 2, lanes: 20, durationMs: 1500, gapMs: 5 })),
    );
    const spanMs =
      Math.max(...replies.map((r) => r.endedAt as number)) - Math.min(...replies.map((r) => r.startedAt as number));
    const calls = replies.reduce((sum, r) => sum + (r.calls as number), 0);
    const executions = Number(await client.get(counterKey));
    const windows = Math.ceil(spanMs / ttlMs) + 1;
    // It did expire under load (several windows), yet never more than one execution per window...
    expect(executions).toBeGreaterThanOrEqual(2);
    expect(executions).toBeLessThanOrEqual(windows);
    // ...for thousands of calls, and every value a process saw came from one of those executions.
    expect(calls).toBeGreaterThan(100 * executions);
    for (const r of replies) for (const n of r.seen as number[]) expect(n).toBeLessThanOrEqual(executions);
  });

  test('a holder SIGKILLed mid-compute: the waiters take over once its lockTtl (1s) ends; fn ran twice', async () => {
    const [b, c] = four as [LockChild, LockChild];
    const victim = children[4] as LockChild;
    const keyPrefix = uniquePrefix('lock-kill');
    const counterKey = `${keyPrefix}-executions`;
    const options = { lockTtl: '1s' } as const;
    await Promise.all([
      victim.setup({ keyPrefix, counterKey, computeMs: 0, hang: true, options }),
      b.setup({ keyPrefix, counterKey, computeMs: 200, options }),
      c.setup({ keyPrefix, counterKey, computeMs: 200, options }),
    ]);
    // A waiter in this process too, with the same function (same name and key prefix).
    const store = new Observed(new RedisStore(client));
    const here = memoized(
      store,
      keyPrefix,
      async (): Promise<ChildValue> => {
        const n = Number(await client.incr(counterKey));
        await sleep(200);
        return { n, pid: process.pid };
      },
      { name: 'lockTarget', ...options },
    );

    const victimCall = victim.call(3);
    victimCall.catch(() => {});
    expect((await victim.computing()).n).toBe(1);
    const lockTakenBy = performance.now(); // the victim's lock was taken just before this
    const lockKey = lockKeyOf(here.keyFor(3));
    expect(await client.get(lockKey)).not.toBeNull();

    const waiters = [b.call(3), c.call(3), here(3)];
    await within(store.waiting(1), 900, 'this process waits for the victim');
    await victim.kill();
    await expect(victimCall).rejects.toThrow(/exited/);

    const results = await within(Promise.all(waiters), 1000 + 200 + 2000, 'waiters after the holder died');
    const elapsedMs = performance.now() - lockTakenBy;
    expect(Number(await client.get(counterKey))).toBe(2);
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(results[0]?.n).toBe(2);
    // They waited for the dead holder's lock to expire (not computing at once), then for one new run.
    expect(elapsedMs).toBeGreaterThanOrEqual(1000);
    expect(elapsedMs).toBeLessThan(1000 + 50 + 200 + 1000);
  });
});

// ---------------------------------------------------------------------------------------------------
// Both stores, in this process: each memoizer stands for a process (own Redis client, or one
// MemoryStore shared by all).
// ---------------------------------------------------------------------------------------------------

interface Backend {
  /** `n` stores standing for `n` processes over one backend. */
  stores(n: number): Promise<Observed[]>;
  close(): Promise<void>;
}

function redisBackend(): Backend {
  const clients: RedisClientType[] = [];
  return {
    async stores(n) {
      const made = await Promise.all(Array.from({ length: n }, () => connect()));
      clients.push(...made);
      return made.map((c) => new Observed(new RedisStore(c)));
    },
    async close() {
      await Promise.all(clients.splice(0).map((c) => c.quit()));
    },
  };
}

function memoryBackend(): Backend {
  return {
    async stores(n) {
      const shared = new MemoryStore();
      return Array.from({ length: n }, () => new Observed(shared));
    },
    async close() {},
  };
}

describe.each([
  ['RedisStore', redisBackend],
  ['MemoryStore', memoryBackend],
])('%s: memoizers standing for processes', (_name, makeBackend) => {
  let backend: Backend;
  beforeEach(() => {
    backend = makeBackend();
  });
  afterEach(async () => {
    await backend.close();
  });

  test.each([
    [true, 1],
    [false, 4],
  ])('lock %s: 4 memoizers x 50 concurrent calls on a cold key run fn %i time(s)', async (lock, expected) => {
    const stores = await backend.stores(4);
    const keyPrefix = uniquePrefix('lock-burst');
    const gate = deferred<void>();
    let runs = 0;
    const progress = new Signal();
    for (const store of stores) store.onWait = () => progress.notify();
    const fs = stores.map((store) =>
      memoized(
        store,
        keyPrefix,
        async () => {
          const n = ++runs;
          progress.notify();
          await gate.promise;
          return `run-${n}`;
        },
        { lock },
      ),
    );
    const calls = fs.flatMap((f) => Array.from({ length: 50 }, () => f(1)));
    // Only once every memoizer has started computing or found the lock taken may fn finish.
    const waits = () => stores.reduce((sum, s) => sum + s.waits, 0);
    await within(
      progress.until(() => runs + waits() >= 4),
      2000,
      'every memoizer computing or waiting',
    );
    gate.resolve();
    const results = await within(Promise.all(calls), 2000, 'all calls');
    expect(runs).toBe(expected);
    if (lock) {
      expect(new Set(results)).toEqual(new Set(['run-1']));
    } else {
      expect(runs).toBeGreaterThanOrEqual(2);
    }
  });

  test('an entry expiring under load: at most one run per expiry window', async () => {
    const stores = await backend.stores(4);
    const keyPrefix = uniquePrefix('lock-expiry');
    const ttlMs = 300;
    let runs = 0;
    const fs = stores.map((store) =>
      memoized(
        store,
        keyPrefix,
        async () => {
          const n = ++runs;
          await sleep(50);
          return n;
        },
        { ttl: `${ttlMs}ms` },
      ),
    );
    let calls = 0;
    const startedAt = performance.now();
    const ends = startedAt + 1200;
    async function lane(f: Memoized<[number], number>): Promise<void> {
      while (performance.now() < ends) {
        expect(await f(2)).toBeLessThanOrEqual(runs);
        calls++;
        await sleep(5);
      }
    }
    await Promise.all(fs.flatMap((f) => Array.from({ length: 10 }, () => lane(f))));
    const spanMs = performance.now() - startedAt;
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(runs).toBeLessThanOrEqual(Math.ceil(spanMs / ttlMs) + 1);
    expect(calls).toBeGreaterThan(100 * runs);
  });

  test('a holder that never finishes (its process died): the others take over after lockTtl; fn ran twice', async () => {
    const stores = await backend.stores(4);
    const keyPrefix = uniquePrefix('lock-abandoned');
    const lockTtlMs = 500;
    let runs = 0;
    const dead = new Gated<string>();
    const holder = memoized(
      stores[0] as Observed,
      keyPrefix,
      async (arg) => {
        runs++;
        return dead.fn(arg);
      },
      { lockTtl: lockTtlMs },
    );
    const others = stores.slice(1).map((store) =>
      memoized(
        store,
        keyPrefix,
        async () => {
          const n = ++runs;
          await sleep(50);
          return `run-${n}`;
        },
        { lockTtl: lockTtlMs },
      ),
    );
    void holder(3);
    await dead.started(1);
    const lockTakenBy = performance.now();
    const results = await within(
      Promise.all(others.map((f) => f(3))),
      lockTtlMs + 50 + 1500,
      'waiters after the holder stopped',
    );
    const elapsedMs = performance.now() - lockTakenBy;
    expect(runs).toBe(2);
    expect(results).toEqual(['run-2', 'run-2', 'run-2']);
    expect(elapsedMs).toBeGreaterThanOrEqual(lockTtlMs - 20);
  });

  /** A (lockTtl 300 ms) starts and outlives its lock; B (lockTtl 2 s) takes the lock over. */
  async function overrun() {
    const [sa, sb, sc] = (await backend.stores(3)) as [Observed, Observed, Observed];
    const keyPrefix = uniquePrefix('lock-overrun');
    const a = new Gated<string>();
    const b = new Gated<string>();
    const c = new Gated<string>();
    const fa = memoized(sa, keyPrefix, a.fn, { lockTtl: '300ms' });
    const fb = memoized(sb, keyPrefix, b.fn, { lockTtl: '2s' });
    const fc = memoized(sc, keyPrefix, c.fn, { lockTtl: '2s' });
    const valueKey = fa.keyFor(1);
    const lockKey = lockKeyOf(valueKey);
    const peek = (key: string) => sa.inner.get(key);

    const pa = fa(1);
    pa.catch(() => {});
    const gateA = await a.started(1);
    const tokenA = await peek(lockKey);
    expect(tokenA).toEqual(expect.any(String));
    const pb = fb(1);
    await within(sb.waiting(1), 1000, 'B waits for A');
    const gateB = await within(b.started(1), 300 + 100 + 1500, 'B takes over when A loses its lock');
    const tokenB = await peek(lockKey);
    expect(tokenB).toEqual(expect.any(String));
    expect(tokenB).not.toBe(tokenA);
    return { sa, sb, sc, a, b, c, fa, fb, fc, pa, pb, gateA, gateB, tokenB, valueKey, lockKey, peek };
  }

  test("compute longer than lockTtl: A's write does not release B's lock; with the token unchanged it is stored", async () => {
    const { fc, c, pa, pb, gateA, gateB, tokenB, lockKey, peek } = await overrun();
    gateA.resolve('A');
    expect(await pa).toBe('A');
    expect(await peek(lockKey)).toBe(tokenB); // the write's release left B's lock alone
    expect(await fc(1)).toBe('A'); // no invalidation in between: A's write was valid
    expect(c.runs).toHaveLength(0);
    gateB.resolve('B');
    expect(await pb).toBe('B');
    expect(await peek(lockKey)).toBeNull(); // B released its own lock
  });

  test("compute longer than lockTtl, then A fails: its release leaves B's lock, and C waits for B", async () => {
    const { sa, sc, fc, c, pa, pb, gateA, gateB, tokenB, lockKey, peek } = await overrun();
    gateA.reject(new Error('A failed'));
    await expect(pa).rejects.toThrow('A failed');
    await sa.settled(); // A's release has run
    expect(await peek(lockKey)).toBe(tokenB);
    const pc = fc(1);
    await within(sc.waiting(1), 1000, 'C finds the lock taken');
    expect(c.runs).toHaveLength(0);
    gateB.resolve('B');
    expect(await within(pc, 1500, 'C gets B’s value')).toBe('B');
    expect(await pb).toBe('B');
    expect(c.runs).toHaveLength(0);
  });

  test("compute longer than lockTtl with an invalidate in between: A's (and B's) late writes are not stored", async () => {
    const { fc, c, pa, pb, gateA, gateB, valueKey, peek } = await overrun();
    await fc.invalidate(1);
    gateA.resolve('A');
    expect(await pa).toBe('A'); // its caller still gets it
    expect(await peek(valueKey)).toBeNull();
    gateB.resolve('B');
    expect(await pb).toBe('B');
    expect(await peek(valueKey)).toBeNull(); // B began before the invalidation too
    const pc = fc(1);
    (await within(c.started(1), 1000, 'a new call computes')).resolve('C');
    expect(await pc).toBe('C');
    expect(await fc(1)).toBe('C');
  });

  test('invalidate while a holder computes: a new caller computes at once, in another process and in its own', async () => {
    const [sa, sb, sc] = (await backend.stores(3)) as [Observed, Observed, Observed];
    const keyPrefix = uniquePrefix('lock-invalidate');
    const a = new Gated<string>();
    const b = new Gated<string>();
    let cRuns = 0;
    // Long locks: a caller that waited for an outdated holder would blow every bound below.
    const fa = memoized(sa, keyPrefix, a.fn, { lockTtl: '10s' });
    const fb = memoized(sb, keyPrefix, b.fn, { lockTtl: '10s' });
    const fc = memoized(
      sc,
      keyPrefix,
      async () => {
        cRuns++;
        return 'C';
      },
      { lockTtl: '10s' },
    );
    const lockKey = lockKeyOf(fa.keyFor(1));

    const pa1 = fa(1);
    const gateA1 = await a.started(1);
    await fb.invalidate(1);
    const pb = fb(1);
    const gateB = await within(b.started(1), 1000, 'another process computes at once after invalidate');
    expect(sb.waits).toBe(0);

    await fa.invalidate(1);
    const pa2 = fa(1);
    const gateA2 = await within(a.started(2), 1000, 'the same process computes at once after invalidate');
    expect(sa.waits).toBe(0);
    const tokenA2 = await sa.inner.get(lockKey);
    expect(tokenA2).toEqual(expect.any(String));

    // The outdated computations finish: their writes are refused, their releases leave A2's lock.
    gateA1.resolve('A1');
    gateB.resolve('B');
    expect(await pa1).toBe('A1');
    expect(await pb).toBe('B');
    expect(await sa.inner.get(lockKey)).toBe(tokenA2);
    expect(await sa.inner.get(fa.keyFor(1))).toBeNull();
    gateA2.resolve('A2');
    expect(await pa2).toBe('A2');
    expect(await fc(1)).toBe('A2');
    expect(cRuns).toBe(0);
  });

  test('refresh takes the lock: a caller in another process waits for its value instead of computing', async () => {
    const [sa, sb] = (await backend.stores(2)) as [Observed, Observed];
    const keyPrefix = uniquePrefix('lock-refresh');
    const a = new Gated<string>();
    const b = new Gated<string>();
    const fa = memoized(sa, keyPrefix, a.fn, { lockTtl: '10s' });
    const fb = memoized(sb, keyPrefix, b.fn, { lockTtl: '10s' });

    const fill = fb(1);
    (await b.started(1)).resolve('old');
    expect(await fill).toBe('old');

    const refreshed = fa.refresh(1);
    const gate = await a.started(1);
    const pb = fb(1);
    await within(sb.waiting(1), 1000, 'the other process finds the lock taken');
    gate.resolve('fresh');
    expect(await refreshed).toBe('fresh');
    expect(await within(pb, 1500, 'the waiter gets the refreshed value')).toBe('fresh');
    expect(b.runs).toHaveLength(1); // only the first fill
    expect(await sa.inner.get(lockKeyOf(fa.keyFor(1)))).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------------
// Redis fails while callers wait for a holder
// ---------------------------------------------------------------------------------------------------

describe('Redis fails while callers wait for a holder (own redis-server)', () => {
  // As in faults/*.test.ts. (Under jest 30, circus also fails the running test on an unhandled rejection.)
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => process.on('unhandledRejection', onUnhandled));
  afterAll(() => process.off('unhandledRejection', onUnhandled));

  test.each(['killed', 'paused'] as const)(
    '%s: waiters compute for themselves within timeout + poll + compute; nothing unhandled',
    async (fault) => {
      const timeoutMs = 250; // the default timeout
      const pollMs = 250; // a waiter's poll with the default lockTtl (5 s)
      const computeMs = 20;
      const server = await spawnRedis();
      const clients = await Promise.all([0, 1, 2].map(() => connect(server.url)));
      const stores = clients.map((c) => new Observed(new RedisStore(c)));
      try {
        const [sh, s1, s2] = stores as [Observed, Observed, Observed];
        const keyPrefix = uniquePrefix('lock-fault');
        const errors: MemoizeErrorCode[][] = [[], [], []];
        const holderFn = new Gated<string>();
        const fh = memoized(sh, keyPrefix, holderFn.fn, {}, errors[0]);
        const waiterFn = (who: string) => async () => {
          await sleep(computeMs);
          return who;
        };
        const f1 = memoized(s1, keyPrefix, waiterFn('W1'), {}, errors[1]);
        const f2 = memoized(s2, keyPrefix, waiterFn('W2'), {}, errors[2]);

        const ph = fh(1);
        const gate = await holderFn.started(1);
        const p1 = f1(1);
        const p2 = f2(1);
        await within(Promise.all([s1.waiting(1), s2.waiting(1)]), 1000, 'both wait for the holder');

        const faultAt = performance.now();
        if (fault === 'killed') await server.kill();
        else server.pause();
        const results = await within(
          Promise.all([p1, p2]),
          timeoutMs + pollMs + computeMs + 1000,
          `waiters after Redis was ${fault}`,
        );
        const elapsedMs = performance.now() - faultAt;
        expect(results).toEqual(['W1', 'W2']);
        expect(elapsedMs).toBeLessThan(timeoutMs + pollMs + computeMs + 1000);
        for (const codes of errors.slice(1)) {
          expect(codes.length).toBeGreaterThanOrEqual(1);
          for (const code of codes) expect(['E_UNAVAILABLE', 'E_TIMEOUT', 'E_CIRCUIT_OPEN']).toContain(code);
        }

        // The holder finishes into the dead store: it still returns its result, within the timeout.
        gate.resolve('H');
        expect(await within(ph, timeoutMs + 1000, 'the holder')).toBe('H');
      } finally {
        // Commands still queued on a paused server only settle when their client is destroyed.
        for (const c of clients) c.destroy();
        await server.kill();
      }
      await within(Promise.all(stores.map((s) => s.settled())), 1000, 'store operations to settle');
      await sleep(100); // let any stray rejection surface
      expect(unhandled).toEqual([]);
    },
  );

  test('a miss whose begin timed out (Redis stalled) leaves no lock that makes other processes wait', async () => {
    const server = await spawnRedis();
    const clients = await Promise.all([0, 1, 2].map(() => connect(server.url)));
    try {
      const [cx, cy, raw] = clients as [RedisClientType, RedisClientType, RedisClientType];
      const keyPrefix = uniquePrefix('lock-stall');
      // X's begin reaches a server stopped for 400 ms: X gives up after the 250 ms timeout and computes
      // without the store; the server runs that begin when it wakes, taking the lock for X's lockTtl.
      const sx = new StallOnBegin(new RedisStore(cx), server, 400);
      const xErrors: MemoizeErrorCode[] = [];
      const fx = memoized(sx, keyPrefix, async () => 'X', {}, xErrors);
      let yRuns = 0;
      const fy = memoized(new Observed(new RedisStore(cy)), keyPrefix, async () => {
        yRuns++;
        return 'Y';
      });
      expect(await within(fx(1), 1000, 'X fails open')).toBe('X');
      expect(xErrors).toEqual(['E_TIMEOUT']);
      await sx.resumed.promise;
      await raw.ping(); // the server is answering again
      // Nobody computes under that lock, and nobody will release it: Y must not wait for it (5 s).
      expect(await within(fy(1), 1500, 'another process after the stall')).toBe('Y');
      expect(yRuns).toBe(1);
    } finally {
      for (const c of clients) c.destroy();
      await server.kill();
    }
  });
});
