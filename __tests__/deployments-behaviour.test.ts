import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { createMemoizer } from '../lib';
import type { ChildCommand, ChildReply, Kind, Value } from './fixtures/deployment-child';
import {
  type Connected,
  connectTo,
  type Deployment,
  type DeploymentKind,
  deployment,
  masterUrls,
} from './helpers/deployments';
import { uniquePrefix, until } from './helpers/redis';

// The library's main behaviours on each deployment, over the run's shared servers: a single server,
// a Redis Cluster (3 masters) and a Sentinel group, each through node-redis's own object. Forked
// children stand for the other processes of an application.

/** A forked process with one client of the deployment, driven by messages. */
class Child {
  readonly process: ChildProcess;
  readonly #pending = new Map<number, (reply: ChildReply) => void>();
  #next = 1;
  readonly ready: Promise<void>;

  constructor(d: Deployment) {
    this.process = fork(join(__dirname, 'fixtures', 'deployment-child.ts'), [JSON.stringify(d)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = new Promise((resolve, reject) => {
      this.#pending.set(0, (reply) => (reply.error === undefined ? resolve() : reject(new Error(reply.error))));
    });
    this.process.on('message', (reply: ChildReply & { id: number }) => {
      this.#pending.get(reply.id)?.(reply);
      this.#pending.delete(reply.id);
    });
  }

  async send(command: ChildCommand): Promise<ChildReply> {
    await this.ready;
    const id = this.#next++;
    const reply = await new Promise<ChildReply>((resolve) => {
      this.#pending.set(id, resolve);
      this.process.send({ ...command, id });
    });
    if (reply.error !== undefined) throw new Error(reply.error);
    return reply;
  }

  async quit(): Promise<void> {
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    await this.send({ op: 'quit' }).catch(() => this.process.kill('SIGKILL'));
    await exited;
  }
}

const KINDS: DeploymentKind[] = ['node-redis client', 'node-redis cluster', 'node-redis sentinel'];

describe.each(KINDS)('%s', (kind) => {
  const d = deployment(kind);
  let own: Connected;
  let children: Child[];
  beforeAll(async () => {
    own = await connectTo(d);
    children = [new Child(d), new Child(d), new Child(d)];
    await Promise.all(children.map((c) => c.ready));
  }, 30_000);
  afterAll(async () => {
    await Promise.all(children.map((c) => c.quit()));
    await own.close();
  });

  function memoized(keyPrefix: string, counterKey: string, options: { local?: boolean; staleTtl?: string } = {}) {
    const kinds: Kind[] = [];
    const memoize = createMemoizer({
      client: own.client,
      keyPrefix,
      ttl: options.staleTtl === undefined ? '1m' : '1s',
      lockTtl: '10s',
      local: options.local ?? false,
      ...(options.staleTtl === undefined ? {} : { staleTtl: options.staleTtl as '5s' }),
      onHit: (e) => kinds.push(e.local ? 'local' : e.stale ? 'stale' : 'hit'),
      onMiss: () => kinds.push('miss'),
    });
    const f = memoize(async function value(id: number): Promise<Value> {
      return { id, n: await own.incr(counterKey) };
    });
    return { f, kinds };
  }

  test('a miss, then hits; invalidate and refresh reach the other processes', async () => {
    const keyPrefix = uniquePrefix('behaviour');
    const counterKey = `${keyPrefix}:counter`;
    const { f, kinds } = memoized(keyPrefix, counterKey);
    const [other] = children as [Child];
    await other.send({ op: 'setup', keyPrefix, counterKey, computeMs: 0 });
    expect(await f(1)).toEqual({ id: 1, n: 1 });
    expect(await f(1)).toEqual({ id: 1, n: 1 });
    expect(kinds).toEqual(['miss', 'hit']);
    expect((await other.send({ op: 'call', arg: 1 })).kind).toBe('hit');
    await f.invalidate(1);
    expect(await other.send({ op: 'call', arg: 1 })).toMatchObject({ kind: 'miss', values: [{ id: 1, n: 2 }] });
    expect(await f.refresh(1)).toEqual({ id: 1, n: 3 });
    expect(await other.send({ op: 'call', arg: 1 })).toMatchObject({ kind: 'hit', values: [{ id: 1, n: 3 }] });
  });

  test('invalidateAll leaves no key of the function on any master', async () => {
    const keyPrefix = uniquePrefix('all');
    const { f } = memoized(keyPrefix, `${keyPrefix}-counter`);
    for (let i = 0; i < 30; i++) await f(i);
    const countOnMasters = async () => {
      let count = 0;
      for (const url of await masterUrls(d)) {
        const client = createClient({ url });
        client.on('error', () => {});
        await client.connect();
        try {
          for await (const keys of client.scanIterator({ MATCH: `${keyPrefix}*:value:{*`, COUNT: 1000 })) {
            count += keys.length;
          }
        } finally {
          client.destroy();
        }
      }
      return count;
    };
    // Value and token of each entry.
    expect(await countOnMasters()).toBe(60);
    await f.invalidateAll();
    expect(await countOnMasters()).toBe(0);
  });

  test('one execution across processes: concurrent misses of one key wait for the lock holder', async () => {
    const keyPrefix = uniquePrefix('lock');
    const counterKey = `${keyPrefix}:counter`;
    await Promise.all(children.map((c) => c.send({ op: 'setup', keyPrefix, counterKey, computeMs: 300 })));
    const replies = await Promise.all(children.map((c) => c.send({ op: 'burst', arg: 7, calls: 5 })));
    const values = replies.flatMap((r) => r.values ?? []);
    expect(values).toHaveLength(15);
    expect(new Set(values.map((v) => v.n))).toEqual(new Set([1]));
    expect(Number(await own.incr(counterKey))).toBe(2);
  });

  test('stale-while-revalidate: past its ttl the stale value is served while one refresh runs', async () => {
    const keyPrefix = uniquePrefix('swr');
    const { f, kinds } = memoized(keyPrefix, `${keyPrefix}:counter`, { staleTtl: '5s' });
    expect(await f(1)).toEqual({ id: 1, n: 1 });
    await sleep(1100);
    expect(await f(1)).toEqual({ id: 1, n: 1 });
    expect(kinds.at(-1)).toBe('stale');
    await until(async () => (await f(1)).n === 2, 'the background refresh to land');
  });

  test('local tier: local hits, and a refresh in another process evicts the local copy at once', async () => {
    const keyPrefix = uniquePrefix('local');
    const counterKey = `${keyPrefix}:counter`;
    const { f, kinds } = memoized(keyPrefix, counterKey, { local: true });
    const [other] = children as [Child];
    await other.send({ op: 'setup', keyPrefix, counterKey, computeMs: 0 });
    expect(await f(1)).toEqual({ id: 1, n: 1 });
    await until(async () => {
      await f(1);
      return kinds.at(-1) === 'local';
    }, 'a local hit');
    const refreshed = (await other.send({ op: 'refresh', arg: 1 })).values?.[0];
    expect(refreshed).toEqual({ id: 1, n: 2 });
    // The change notice travels on another connection than the refresh's answer: allow its flight.
    const started = Date.now();
    await until(async () => (await f(1)).n === 2, 'the local copy to be evicted');
    expect(Date.now() - started).toBeLessThan(200);
  });
});
