import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { createClient, type RedisClientType } from 'redis';
import { encode, stamp } from '../lib/serializer';
import { RedisStore } from '../lib/stores/redis/store';
import type { Command, Reply } from './fixtures/local-child';
import {
  killTracking,
  listen,
  msUntil,
  type Probe,
  probe,
  trackingConnections,
  trackingOf,
  untilLocal,
} from './helpers/local';
import { connect, deferred, sleep, testRedisUrl, uniquePrefix, until } from './helpers/redis';
import { type RedisServer, spawnRedis } from './helpers/redis-server';
import { CountingStore } from './helpers/stores';

// The local tier kept consistent by Redis across clients and processes: changes made by another
// client (two node-redis clients in this process are two processes as far as Redis is concerned)
// and by forked processes evict local values; tracking connection failures empty and bypass the
// tier until tracking is back. The delays asserted are generous bounds for a loaded 2-core machine;
// the figures are measured by the benchmark.

const VISIBLE_MS = 200;

/** A client whose reconnections are quick, for tests that take Redis down. */
async function quick(url: string, name: string): Promise<RedisClientType> {
  const c: RedisClientType = createClient({ url, name, socket: { reconnectStrategy: () => 50 } });
  c.on('error', () => {});
  await c.connect();
  return c;
}

// A redis-server of its own: Redis's active expiry samples volatile keys at random, and on the
// suite's shared server, full of other files' keys with ttls, one key once took 1.85 s to expire.
describe('changes by another client in this process (a redis-server of its own)', () => {
  let server: RedisServer;
  let a: RedisClientType;
  let b: RedisClientType;
  beforeAll(async () => {
    server = await spawnRedis();
    a = await connect(server.url);
    b = await connect(server.url);
  });
  afterAll(async () => {
    await a?.quit();
    await b?.quit();
    await server?.stop();
  });

  /** A (local) and B (a plain memoizer of the same function, on its own client) share entries. */
  async function pair(label: string): Promise<{ pa: Probe; pb: Probe; source: { version: number } }> {
    const keyPrefix = uniquePrefix(label);
    const source = { version: 1 };
    const pa = probe(new RedisStore(a), keyPrefix, { local: true }, source);
    const pb = probe(new RedisStore(b), keyPrefix, {}, source);
    await pa.call(1);
    await pa.call(2);
    await untilLocal(pa, 1);
    await untilLocal(pa, 2);
    source.version = 2;
    return { pa, pb, source };
  }

  test.each<[string, (pb: Probe, keyOf: (id: number) => string) => Promise<unknown>]>([
    ['refresh', (pb) => pb.f.refresh(1)],
    ['invalidate', (pb) => pb.f.invalidate(1)],
    ['invalidateAll', (pb) => pb.f.invalidateAll()],
    [
      'a plain SET by another program',
      (_pb, keyOf) =>
        b.set(
          keyOf(1),
          stamp(encode({ id: 1, version: 2, n: 0, list: [] }), { freshUntil: Date.now() + 60_000, computeMs: 0 }),
        ),
    ],
    ['a plain DEL by another program', (_pb, keyOf) => b.del(keyOf(1))],
  ])('%s by B evicts A’s local value', async (label, change) => {
    const { pa, pb } = await pair('local-cross');
    await change(pb, (id) => pa.f.keyFor(id));
    const ms = await msUntil(pa, 1, (r) => r.value.version === 2);
    expect(ms).toBeLessThan(VISIBLE_MS);
    // Other entries stay local unless the change covered them.
    const other = await pa.call(2);
    if (label === 'invalidateAll') expect(other.value.version).toBe(2);
    else expect(other.kind).toBe('local');
    // And the new value becomes local in turn.
    expect((await untilLocal(pa, 1)).version).toBe(2);
  });

  test('the entry expiring in Redis (PEXPIRE by another client) evicts A’s local value', async () => {
    const { pa } = await pair('local-expiry');
    await b.pExpire(pa.f.keyFor(1), 20);
    // Redis expires keys that nobody reads in its active cycle (10 times a second): a wider bound.
    const ms = await msUntil(pa, 1, (r) => r.kind === 'miss');
    expect(ms).toBeLessThan(1000);
    expect((await pa.call(1)).value.version).toBe(2);
  });

  test('functions whose prefixes overlap (keyPrefix p:target vs keyPrefix p, both named target) on one client', async () => {
    const base = uniquePrefix('local-overlap');
    const source = { version: 1 };
    // The longer prefix first: the shorter one then replaces it on the server (TRACKING OFF, ON).
    const long = probe(new RedisStore(a), `${base}:target`, { local: true }, source);
    const short = probe(new RedisStore(a), base, { local: true }, source);
    const longB = probe(new RedisStore(b), `${base}:target`, {}, source);
    const shortB = probe(new RedisStore(b), base, {}, source);
    expect(long.functionPrefix.startsWith(short.functionPrefix)).toBe(true);
    await long.call(1);
    await untilLocal(long, 1);
    await short.call(1);
    await untilLocal(short, 1);
    await untilLocal(long, 1);
    source.version = 2;
    await longB.f.refresh(1);
    expect(await msUntil(long, 1, (r) => r.value.version === 2)).toBeLessThan(VISIBLE_MS);
    expect((await short.call(1)).value.version).toBe(1);
    await shortB.f.refresh(1);
    expect(await msUntil(short, 1, (r) => r.value.version === 2)).toBeLessThan(VISIBLE_MS);
  });
});

/** One forked local-child.ts process, driven over IPC. */
class Child {
  readonly process: ChildProcess;
  readonly #waiting = new Map<number, (reply: Reply) => void>();
  readonly ready: Promise<void>;
  #next = 0;
  constructor(url: string, mode: string, keyPrefix: string) {
    this.process = fork(join(__dirname, 'fixtures', 'local-child.ts'), [url, mode, keyPrefix], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = deferred<void>();
    this.ready = ready.promise;
    this.process.on('message', (message: Reply | { ready: true }) => {
      if ('ready' in message) ready.resolve();
      else this.#waiting.get(message.id)?.(message);
    });
  }
  async ask(command: Omit<Command, 'id'> & { arg?: number; version?: number }): Promise<Reply> {
    const id = ++this.#next;
    const reply = new Promise<Reply>((resolve) => this.#waiting.set(id, resolve));
    this.process.send({ ...command, id });
    const r = await reply;
    if (r.error !== undefined) throw new Error(r.error);
    return r;
  }
  async quit(): Promise<void> {
    if (this.process.exitCode !== null) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.send({ op: 'quit', id: 0 });
    await exited;
  }
}

function exitWithin(child: ChildProcess, ms: number): Promise<number | string | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child did not exit within ${ms} ms`));
    }, ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal);
    });
  });
}

describe('across processes (forked children, the suite Redis)', () => {
  let redis: RedisClientType;
  const children: Child[] = [];
  beforeAll(async () => {
    redis = await connect();
  });
  afterAll(async () => {
    await redis.quit();
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.quit()));
  });

  test('a child’s refresh, invalidate and invalidateAll evict this process’s local value', async () => {
    const keyPrefix = uniquePrefix('local-proc');
    const child = new Child(testRedisUrl(), 'serve-plain', keyPrefix);
    children.push(child);
    const source = { version: 1 };
    const pa = probe(new RedisStore(redis), keyPrefix, { local: true }, source);
    await child.ready;
    await pa.call(1);
    await untilLocal(pa, 1);
    const delays: number[] = [];
    let version = 1;
    for (const op of ['refresh', 'invalidate', 'invalidateAll'] as const) {
      version++;
      source.version = version;
      await redis.set(`${keyPrefix}-version`, String(version));
      await child.ask(op === 'invalidateAll' ? { op } : { op, arg: 1 });
      delays.push(await msUntil(pa, 1, (r) => r.value.version === version));
      expect((await untilLocal(pa, 1)).version).toBe(version);
    }
    for (const ms of delays) expect(ms).toBeLessThan(VISIBLE_MS);
  });

  test('this process’s refresh evicts the local values of two children', async () => {
    const keyPrefix = uniquePrefix('local-procs');
    const source = { version: 1 };
    const pb = probe(new RedisStore(redis), keyPrefix, {}, source);
    const kids = [0, 1].map(() => new Child(testRedisUrl(), 'serve', keyPrefix));
    children.push(...kids);
    await Promise.all(kids.map((k) => k.ready));
    await pb.call(1);
    for (const k of kids) expect((await k.ask({ op: 'untilLocal', arg: 1 })).kind).toBe('local');
    source.version = 2;
    await redis.set(`${keyPrefix}-version`, '2');
    const refreshed = await pb.f.refresh(1);
    const seen = await Promise.all(kids.map((k) => k.ask({ op: 'untilVersion', arg: 1, version: 2 })));
    for (const r of seen) {
      expect(r.value).toEqual(refreshed);
      expect(r.ms).toBeLessThan(VISIBLE_MS);
    }
  });

  test('a process exits by itself once it quits its client (or unrefs it): tracking holds nothing', async () => {
    for (const mode of ['exit-quit', 'exit-unref']) {
      const child = new Child(testRedisUrl(), mode, uniquePrefix('local-exit'));
      const done = new Promise((resolve) => child.process.once('message', resolve));
      const exited = exitWithin(child.process, 8000);
      await done;
      expect(await exited).toBe(0);
    }
  });
});

describe('tracking connection failures (a redis-server of its own)', () => {
  let server: RedisServer;
  let admin: RedisClientType;
  beforeAll(async () => {
    server = await spawnRedis();
    admin = await quick(server.url, 'admin');
  });
  afterAll(async () => {
    admin.destroy();
    await server.stop();
  });

  /** A (local, on a named client) and B (plain), sharing entries on the test's server. */
  async function setup(label: string) {
    const name = uniquePrefix(label);
    const ca = await quick(server.url, name);
    const cb = await quick(server.url, `${name}-b`);
    const keyPrefix = uniquePrefix(label);
    const source = { version: 1 };
    const pa = probe(new RedisStore(ca), keyPrefix, { local: true }, source);
    const pb = probe(new RedisStore(cb), keyPrefix, { timeout: '5s' }, source);
    await pa.call(1);
    const v1 = await untilLocal(pa, 1);
    const heard = listen(pa.store, pa.functionPrefix);
    return {
      name,
      ca,
      cb,
      pa,
      pb,
      source,
      v1,
      heard,
      async close() {
        heard.stop();
        ca.destroy();
        cb.destroy();
      },
    };
  }

  /**
   * Keeps new connections out (maxclients 1; the connections open stay), so a killed tracking
   * connection stays down; returns the way to let them in.
   */
  async function refuseNewConnections(): Promise<() => Promise<void>> {
    await admin.configSet('maxclients', '1');
    return async () => {
      await admin.configSet('maxclients', '10000');
    };
  }

  test('the tracking connection killed: the tier is emptied and bypassed; a write made meanwhile is seen; local hits resume', async () => {
    const s = await setup('local-kill');
    try {
      const letIn = await refuseNewConnections();
      try {
        await killTracking(admin, s.name);
        await until(() => s.heard.heard.includes(null), 'the drop to be heard');
        expect(trackingOf(s.pa.store).covers(s.pa.functionPrefix)).toBe(false);
        const during = await s.pa.call(1);
        expect(during.kind).toBe('store');
        expect(during.value).toEqual(s.v1);
        // Written while nobody hears changes for A.
        s.source.version = 2;
        await s.pb.f.refresh(1);
        for (let i = 0; i < 5; i++) {
          const r = await s.pa.call(1);
          expect(r.kind).toBe('store');
          expect(r.value.version).toBe(2);
        }
      } finally {
        await letIn();
      }
      expect((await untilLocal(s.pa, 1, 5000)).version).toBe(2);
      expect(await trackingConnections(admin, s.name)).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  test('a read in flight across a tracking drop is not kept, even once tracking is back', async () => {
    const name = uniquePrefix('local-dropread');
    const ca = await quick(server.url, name);
    const cb = await quick(server.url, `${name}-b`);
    // Test seam: the next read (the store's, or its tracking's) holds its answer until the test lets it go.
    let hold: { answered: () => void; release: Promise<void> } | undefined;
    class Gated extends CountingStore {
      protected override async read<T>(work: () => Promise<T>): Promise<T> {
        const h = hold;
        hold = undefined;
        const answer = await work();
        if (h !== undefined) {
          h.answered();
          await h.release;
        }
        return answer;
      }
    }
    const keyPrefix = uniquePrefix('local-dropread');
    const source = { version: 1 };
    const pa = probe(new Gated(new RedisStore(ca)), keyPrefix, { local: true }, source);
    const pb = probe(new RedisStore(cb), keyPrefix, {}, source);
    const heard = listen(pa.store, pa.functionPrefix);
    try {
      await pa.call(0);
      await untilLocal(pa, 0);
      await pa.call(1); // stored (version 1), not in the tier
      const answered = deferred<void>();
      const release = deferred<void>();
      hold = { answered: () => answered.resolve(), release: release.promise };
      const read = pa.call(1);
      await answered.promise; // version 1 read, held
      const letIn = await refuseNewConnections();
      try {
        await killTracking(admin, name);
        await until(() => heard.heard.includes(null), 'the drop to be heard');
        source.version = 2;
        await pb.f.refresh(1); // unheard by A
      } finally {
        await letIn();
      }
      await until(() => trackingOf(pa.store).covers(pa.functionPrefix), 'tracking to be back', 5000);
      release.resolve();
      expect((await read).value.version).toBe(1);
      const next = await pa.call(1);
      expect(next.kind).toBe('store');
      expect(next.value.version).toBe(2);
    } finally {
      heard.stop();
      ca.destroy();
      cb.destroy();
    }
  });

  test('Redis SIGKILLed and restarted on the same port: no local value across the outage; local hits resume', async () => {
    const s = await setup('local-sigkill');
    let restarted = false;
    try {
      await server.kill();
      await until(() => s.heard.heard.includes(null), 'the drop to be heard');
      // Redis is down: the call computes without the store; it must not be the old local value.
      const during = await s.pa.call(1);
      expect(during.kind).toBe('miss');
      expect(during.value.n).not.toBe(s.v1.n);
      await server.restart();
      restarted = true;
      await until(() => s.cb.isReady, 'B to reconnect');
      s.source.version = 2;
      const refreshed = await s.pb.f.refresh(1);
      expect(refreshed.version).toBe(2);
      const back = await untilLocal(s.pa, 1, 5000);
      expect(back).toEqual(refreshed);
    } finally {
      if (!restarted) await server.restart();
      await s.close();
    }
  });

  test('Redis SIGSTOPped: local hits go on (nothing can change meanwhile); a write queued during the pause evicts after SIGCONT', async () => {
    const s = await setup('local-sigstop');
    try {
      server.pause();
      const gets = s.pa.store.calls.get;
      s.source.version = 2;
      const refreshed = s.pb.f.refresh(1);
      for (let i = 0; i < 20; i++) {
        const r = await s.pa.call(1);
        expect(r.kind).toBe('local');
        expect(r.value.version).toBe(1);
        await sleep(10);
      }
      expect(s.pa.store.calls.get).toBe(gets);
      server.resume();
      expect((await refreshed).version).toBe(2);
      expect(await msUntil(s.pa, 1, (r) => r.value.version === 2)).toBeLessThan(VISIBLE_MS);
    } finally {
      server.resume();
      await s.close();
    }
  });

  test('FLUSHALL by another client empties every tier', async () => {
    const s = await setup('local-flush');
    try {
      await s.pa.call(2);
      await untilLocal(s.pa, 2);
      s.source.version = 2;
      await s.cb.flushAll();
      expect(await msUntil(s.pa, 1, (r) => r.value.version === 2)).toBeLessThan(VISIBLE_MS);
      expect((await s.pa.call(2)).value.version).toBe(2);
    } finally {
      await s.close();
    }
  });

  test('quitting the client closes its tracking connection', async () => {
    const s = await setup('local-quit');
    expect(await trackingConnections(admin, s.name)).toHaveLength(1);
    s.heard.stop();
    await s.ca.quit();
    await until(
      async () => (await trackingConnections(admin, s.name)).length === 0,
      'the tracking connection to close',
    );
    s.cb.destroy();
  });
});
