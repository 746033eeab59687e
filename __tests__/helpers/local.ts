import { setImmediate as yieldToIo } from 'node:timers/promises';
import type { RedisClientType } from 'redis';
import type { MemoizeError } from '../../lib/errors';
import type { Memoized } from '../../lib/memoize';
import { createMemoizer } from '../../lib/memoizer';
import type { MemoizeOptions, MemoizerOptions } from '../../lib/options';
import type { Store, Tracking } from '../../lib/stores/store';
import { sleep } from './redis';
import { CountingStore } from './stores';

// Shared by the local-tier tests (__tests__/local*.test.ts): a memoized function whose every call
// says where its value came from, and ways to find and watch the tracking connection.

/** Where a call's value came from, as the hooks tell it. */
export type Kind = 'local' | 'store' | 'stale' | 'miss';

export interface Value {
  id: number;
  version: number;
  /** Which computation (of this probe) produced the value. */
  n: number;
  list: number[];
}

/** What the memoized function returns: the version of its source, read when it computes. */
export interface Source {
  version: number;
}

export interface Probe {
  f: Memoized<[number], Value>;
  readonly store: CountingStore;
  readonly errors: MemoizeError[];
  readonly keyPrefix: string;
  /** `keyPrefix:target:`, the function prefix its tracking watches. */
  readonly functionPrefix: string;
  computes: number;
  /** One call, and where its value came from (the first hook it fired). */
  call(id: number): Promise<{ value: Value; kind: Kind }>;
}

/**
 * A memoized `target(id)` over `store` (wrapped in a {@link CountingStore}, unless it is one already),
 * with its own memoizer. Probes sharing `keyPrefix` share entries.
 */
export function probe(
  store: Store,
  keyPrefix: string,
  options: MemoizeOptions<[number], Value> = {},
  source: Source = { version: 1 },
  memoizerOptions: MemoizerOptions = {},
): Probe {
  const counting = store instanceof CountingStore ? store : new CountingStore(store);
  let kind: Kind | undefined;
  const errors: MemoizeError[] = [];
  const memoize = createMemoizer({
    store: counting,
    keyPrefix,
    onHit: (e) => {
      kind ??= e.local === true ? 'local' : e.stale === true ? 'stale' : 'store';
    },
    onMiss: () => {
      kind ??= 'miss';
    },
    onError: (e) => errors.push(e.error),
    ...memoizerOptions,
  });
  const p: Probe = {
    f: undefined as unknown as Memoized<[number], Value>,
    store: counting,
    errors,
    keyPrefix,
    functionPrefix: `${keyPrefix}:target:`,
    computes: 0,
    async call(id) {
      kind = undefined;
      const value = await p.f(id);
      if (kind === undefined) throw new Error(`call ${id} fired no hook`);
      return { value, kind };
    },
  };
  p.f = memoize(
    async function target(id: number): Promise<Value> {
      p.computes++;
      return { id, version: source.version, n: p.computes, list: [1, 2, 3] };
    },
    { ttl: 60, ...options },
  );
  return p;
}

/** Calls until one is a local hit (tracking confirmed, value kept); fails after `ms`. */
export async function untilLocal(p: Probe, id: number, ms = 3000): Promise<Value> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await p.call(id);
    if (r.kind === 'local') return r.value;
    if (Date.now() > deadline) throw new Error(`no local hit for ${id} within ${ms} ms (last: ${r.kind})`);
    await sleep(5);
  }
}

/**
 * Calls until a store hit is followed by a local hit (the store hit was kept), and returns both. A
 * value this process just wrote may take a few calls: the write's own change notification arrives
 * after the write's answer and refuses reads begun before it.
 */
export async function keptStoreHit(
  p: Probe,
  id: number,
  ms = 3000,
): Promise<{ storeHit: { value: Value; kind: Kind }; localHit: { value: Value; kind: Kind } }> {
  const deadline = Date.now() + ms;
  let previous: { value: Value; kind: Kind } | undefined;
  for (;;) {
    const r = await p.call(id);
    if (r.kind === 'local' && previous?.kind === 'store') return { storeHit: previous, localHit: r };
    if (r.kind === 'local') await p.f.invalidate(id);
    if (Date.now() > deadline) throw new Error(`no kept store hit for ${id} within ${ms} ms (last: ${r.kind})`);
    previous = r;
  }
}

/**
 * Calls as fast as the event loop allows (yielding to I/O between calls, so changes can arrive)
 * until `check` holds; resolves the ms it took. Fails after `ms`.
 */
export async function msUntil(
  p: Probe,
  id: number,
  check: (r: { value: Value; kind: Kind }) => boolean,
  ms = 3000,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    const r = await p.call(id);
    if (check(r)) return performance.now() - started;
    if (performance.now() - started > ms) throw new Error(`condition not met within ${ms} ms (last: ${r.kind})`);
    await yieldToIo();
  }
}

/** The tracking of a store (a RedisStore opens one tracking connection, shared by its functions). */
export function trackingOf(store: Store): Tracking {
  const tracking = store.tracking?.();
  if (tracking === undefined) throw new Error('no tracking for this store');
  return tracking;
}

/** Records what a store's tracking tells the watchers of `functionPrefix`: keys, and `null`s. */
export function listen(store: Store, functionPrefix: string): { heard: Array<string | null>; stop(): void } {
  const heard: Array<string | null> = [];
  const stop = trackingOf(store).watch(functionPrefix, (key) => heard.push(key));
  return { heard, stop };
}

/** One line of `CLIENT LIST`, as fields. */
export type ClientInfo = Record<string, string>;

export async function clientList(admin: RedisClientType): Promise<ClientInfo[]> {
  const text = String(await admin.sendCommand(['CLIENT', 'LIST']));
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) =>
      Object.fromEntries(
        line
          .trim()
          .split(' ')
          .map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)]),
      ),
    );
}

/**
 * The tracking connections (flag `t`, in either mode; `B` marks broadcast mode) of the clients named
 * `name`: node-redis `duplicate()` copies the name, so a test that names its clients finds its own
 * connections.
 */
export async function trackingConnections(admin: RedisClientType, name: string): Promise<ClientInfo[]> {
  return (await clientList(admin)).filter((c) => c.name === name && (c.flags ?? '').includes('t'));
}

/** Kills the tracking connection of the clients named `name` (by id, nothing else); returns its id. */
export async function killTracking(admin: RedisClientType, name: string): Promise<string> {
  const [connection] = await trackingConnections(admin, name);
  if (connection?.id === undefined) throw new Error(`no tracking connection named ${name}`);
  await admin.sendCommand(['CLIENT', 'KILL', 'ID', connection.id]);
  return connection.id;
}
