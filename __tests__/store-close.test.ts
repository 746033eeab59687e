import {
  createClient,
  createCluster,
  createSentinel,
  type RedisClientType,
  type RedisClusterType,
  type RedisSentinelType,
} from 'redis';
import { createMemoizer, RedisStore } from '../lib';
import {
  type Admin,
  type Connection,
  connectAdmin,
  describeConnections,
  isSubscriber,
  isTracking,
} from './helpers/connections';
import { sleep, uniquePrefix } from './helpers/redis';
import { type RedisCluster, spawnRedisCluster } from './helpers/redis-cluster';
import { type SentinelGroup, spawnSentinelGroup } from './helpers/redis-sentinel';
import { type RedisServer, spawnRedis } from './helpers/redis-server';

// A store closes what it opened. RedisStore#close() ends every connection the library opened for
// its client (the release subscriber, the local tier's tracking connection) and leaves the user's
// own client connected. And when the user closes their client first, the library's connections go
// away by themselves. For a node-redis client, cluster and sentinel object, each on servers of this
// file's own, so CLIENT LIST shows only this file's connections.

const GONE_WITHIN_MS = 1000;

/** RedisStore#close() is new; until it exists in the type, this is how the test reaches it. */
function closeStore(store: RedisStore): Promise<void> {
  return (store as unknown as { close(): Promise<void> }).close();
}

/**
 * The admin connections to every server whose CLIENT LIST a kind of client is checked on: the data
 * servers (the server, the cluster's masters, the sentinels' master) and, for a sentinel object, the
 * sentinels too (it keeps a subscribed connection to one of them for topology changes).
 */
class Servers {
  constructor(
    readonly admins: Admin[],
    readonly dataCount: number,
  ) {}

  static async open(data: string[], others: string[] = []): Promise<Servers> {
    return new Servers(await Promise.all([...data, ...others].map(connectAdmin)), data.length);
  }

  isData(server: string): boolean {
    return this.admins.findIndex((a) => a.url === server) < this.dataCount;
  }

  /** The ids of every connection on every server now. */
  async snapshot(): Promise<Set<string>[]> {
    return Promise.all(this.admins.map((a) => a.ids()));
  }

  /**
   * Connections opened since `known` was taken, on every server, leaving out Redis's own (sentinels
   * talking to the master and to each other, the replica's link).
   */
  async openedSince(known: Set<string>[]): Promise<Array<Connection & { server: string }>> {
    const lists = await Promise.all(this.admins.map((a, i) => a.newSince(known[i] as Set<string>)));
    return lists.flatMap((list, i) =>
      list
        .filter((c) => !(c.name ?? '').startsWith('sentinel-') && !/[SM]/.test(c.flags ?? ''))
        .map((c) => ({ ...c, server: (this.admins[i] as Admin).url })),
    );
  }

  close(): Promise<unknown> {
    return Promise.all(this.admins.map((a) => a.close()));
  }
}

/** A connected user's object of one kind, with a way to see it still works and ways to close it. */
interface User {
  readonly client: RedisClientType | RedisClusterType | RedisSentinelType;
  /** Fails unless the object is connected and answers a SET and a GET. */
  usable(): Promise<void>;
  closeWith(method: string): Promise<void>;
}

interface Kind {
  /** Where the library's subscriber and tracking connections must show up. */
  dataServers(): string[];
  /** Where else the library's connections (through a sentinel object's duplicate) may show up. */
  otherServers?(): string[];
  connect(): Promise<User>;
  /** Ways the user may close their object. */
  closeMethods: string[];
  /** Whether the local tier's tracking connection can be told apart on the server (flag `t`). */
  tracks: boolean;
  /**
   * Whether a subscriber to lock releases is open between waits: not on a cluster of Redis 7, whose
   * waiters subscribe to their entry's sharded channel only while they wait.
   */
  subscribes: boolean;
}

/** A connection object the library made with the user's `duplicate()`. */
interface Duplicate {
  isOpen: boolean;
  connect(): Promise<unknown>;
  destroy(): unknown;
}

/**
 * Records what `duplicate()` hands out, and the connect() in flight on each, so the test can end
 * them afterwards: a connection the library fails to close must not keep the test process alive (or
 * reconnect for ever once the servers stop). A cluster or sentinel object destroyed while it is
 * still connecting can leave connections behind, so the clean-up waits for connect() first.
 */
function recordDuplicates(client: object, into: Array<{ copy: Duplicate; connected: Promise<unknown> }>): void {
  const target = client as { duplicate(...args: unknown[]): Duplicate };
  const duplicate = target.duplicate.bind(client);
  target.duplicate = (...args: unknown[]) => {
    const copy = duplicate(...args);
    const record = { copy, connected: Promise.resolve() as Promise<unknown> };
    const connect = copy.connect.bind(copy);
    copy.connect = () => {
      const connecting = connect();
      record.connected = connecting.catch(() => undefined);
      return connecting;
    };
    into.push(record);
    return copy;
  };
}

async function usableKeyValue(client: User['client']): Promise<void> {
  expect(client.isReady).toBe(true);
  const key = uniquePrefix('store-close-usable');
  await client.set(key, 'still here');
  expect(await client.get(key)).toBe('still here');
}

/** Polls until `check` returns nothing left over; fails with what was left after `ms`. */
async function noneLeftWithin(ms: number, what: string, left: () => Promise<Connection[]>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const remaining = await left();
    if (remaining.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`${what}: still open after ${ms} ms: ${describeConnections(remaining)}`);
    }
    await sleep(20);
  }
}

function describeKind(label: string, kind: () => Kind): void {
  describe(label, () => {
    let servers: Servers;
    let duplicates: Array<{ copy: Duplicate; connected: Promise<unknown> }> = [];
    let users: User[] = [];

    beforeAll(async () => {
      servers = await Servers.open(kind().dataServers(), kind().otherServers?.() ?? []);
    });
    afterAll(async () => {
      await servers.close();
    });
    afterEach(async () => {
      await Promise.all(users.map((u) => u.closeWith('destroy').catch(() => undefined)));
      await Promise.all(
        duplicates.map(async ({ copy, connected }) => {
          await connected;
          if (copy.isOpen) await copy.destroy();
        }),
      );
      users = [];
      duplicates = [];
    });

    /** A user object in use by a memoized function with the lock and the local tier on. */
    async function inUse() {
      const known = await servers.snapshot();
      const user = await kind().connect();
      users.push(user);
      recordDuplicates(user.client, duplicates);
      // The user's own connections: everything opened between `known` and here.
      const withUser = await servers.snapshot();
      const store = new RedisStore(user.client);
      // A cluster reports that its local tier cannot be used (E_NO_TRACKING); that is not this test's concern.
      const memoize = createMemoizer({ store, keyPrefix: uniquePrefix('store-close'), onError: () => {} });
      const f = memoize(
        async function closeTarget(id: number) {
          return { id };
        },
        { local: true },
      );
      expect(await f(1)).toEqual({ id: 1 });
      expect(await f(1)).toEqual({ id: 1 });
      // The library's own connections exist before anything is closed.
      const library = () => servers.openedSince(withUser);
      const deadline = Date.now() + 2000;
      for (;;) {
        const opened = (await library()).filter((c) => servers.isData(c.server));
        if ((!kind().subscribes || opened.some(isSubscriber)) && (!kind().tracks || opened.some(isTracking))) break;
        if (Date.now() > deadline) {
          throw new Error(
            `the library's connections never showed up (subscriber: ${kind().subscribes}, tracking: ${kind().tracks}): ` +
              describeConnections(opened),
          );
        }
        await sleep(20);
      }
      return { user, store, known, library };
    }

    test("store.close() ends every connection the library opened; the user's object stays connected and usable", async () => {
      const { user, store, library } = await inUse();
      await closeStore(store);
      await noneLeftWithin(GONE_WITHIN_MS, "the library's connections after store.close()", library);
      await user.usable();
    });

    // node-redis's connect() of a sentinel object resolves even when destroy() was called meanwhile, and
    // a subscribe() after that opens a connection nobody closes: closing while the library's
    // connections are still being set up must not leave one behind.
    test('store.close() right after the first call, while its connections may still be setting up, leaves none open', async () => {
      const user = await kind().connect();
      users.push(user);
      recordDuplicates(user.client, duplicates);
      const withUser = await servers.snapshot();
      const store = new RedisStore(user.client);
      const memoize = createMemoizer({ store, keyPrefix: uniquePrefix('store-close'), onError: () => {} });
      const f = memoize(
        async function closeTarget(id: number) {
          return { id };
        },
        { local: true },
      );
      expect(await f(1)).toEqual({ id: 1 });
      await closeStore(store);
      // Long enough for a connection that was still being set up to show up, if it was left open.
      await sleep(500);
      await noneLeftWithin(GONE_WITHIN_MS, "the library's connections after store.close()", () =>
        servers.openedSince(withUser),
      );
      await user.usable();
    });

    test('a store made over an object the user already destroyed opens no connection', async () => {
      const known = await servers.snapshot();
      const user = await kind().connect();
      users.push(user);
      recordDuplicates(user.client, duplicates);
      await user.closeWith('destroy');
      const store = new RedisStore(user.client);
      const memoize = createMemoizer({ store, keyPrefix: uniquePrefix('store-closed'), onError: () => {} });
      const f = memoize(
        async function closedTarget(id: number) {
          return { id };
        },
        { local: true },
      );
      expect(await f(1)).toEqual({ id: 1 });
      expect(await f(1)).toEqual({ id: 1 });
      // Long enough for a connection being set up to show up, if one was opened.
      await sleep(500);
      await noneLeftWithin(GONE_WITHIN_MS, 'connections after calls over a destroyed object', () =>
        servers.openedSince(known),
      );
    });

    test.each(kind().closeMethods)(
      "the user's %s() first: the library's connections go away by themselves",
      async (method) => {
        const { user, known } = await inUse();
        await user.closeWith(method);
        // The user's own connections are gone too, so nothing opened since the test began is left.
        await noneLeftWithin(GONE_WITHIN_MS, `connections after the user's ${method}()`, () =>
          servers.openedSince(known),
        );
      },
    );
  });
}

let server: RedisServer;
let cluster: RedisCluster;
let group: SentinelGroup;
beforeAll(async () => {
  [server, cluster, group] = await Promise.all([spawnRedis(), spawnRedisCluster({ masters: 3 }), spawnSentinelGroup()]);
});
afterAll(async () => {
  await Promise.all([server?.stop(), cluster?.stop(), group?.stop()]);
});

describeKind('a node-redis client', () => ({
  dataServers: () => [server.url],
  closeMethods: ['quit', 'close', 'destroy'],
  tracks: true,
  subscribes: true,
  async connect() {
    const client: RedisClientType = createClient({ url: server.url });
    client.on('error', () => {});
    await client.connect();
    return {
      client,
      usable: () => usableKeyValue(client),
      async closeWith(method) {
        if (method === 'quit') await client.quit();
        else if (method === 'close') await client.close();
        else client.destroy();
      },
    };
  },
}));

describeKind('a node-redis cluster', () => ({
  dataServers: () => cluster.nodes.map((n) => n.url),
  closeMethods: ['close', 'destroy'],
  tracks: true,
  subscribes: false,
  async connect() {
    // No reconnecting for the node connections (the library's duplicates inherit this): a connection
    // left open by mistake then ends when the servers stop, instead of keeping the test process alive.
    const client = createCluster({
      rootNodes: cluster.rootNodes,
      defaults: { socket: { reconnectStrategy: false } },
    });
    client.on('error', () => {});
    await client.connect();
    return {
      client,
      usable: () => usableKeyValue(client),
      async closeWith(method) {
        if (method === 'close') await client.close();
        else client.destroy();
      },
    };
  },
}));

describeKind('a node-redis sentinel object', () => ({
  dataServers: () => [group.master.url],
  otherServers: () => group.sentinelServers.map((s) => s.url),
  closeMethods: ['close', 'destroy'],
  tracks: true,
  subscribes: true,
  async connect() {
    // No reconnecting for the node connections (the library's duplicates inherit this): a connection
    // left open by mistake then ends when the servers stop, instead of keeping the test process alive.
    const client = createSentinel({
      name: group.name,
      sentinelRootNodes: group.sentinels,
      nodeClientOptions: { socket: { reconnectStrategy: false } },
    });
    client.on('error', () => {});
    await client.connect();
    return {
      client,
      usable: () => usableKeyValue(client),
      async closeWith(method) {
        if (method === 'close') await client.close();
        else await client.destroy();
      },
    };
  },
}));
