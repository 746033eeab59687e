import type Redis from 'ioredis';
import { createMemoizer, type RedisLike } from '../lib';
import { RELEASE_CHANNEL } from '../lib/stores/redis/scripts';
import { RedisStore } from '../lib/stores/redis/store';
import type { Begin, BeginRequest } from '../lib/stores/store';
import { isSubscriber, parseClientList } from './helpers/connections';
import { ioredisClient } from './helpers/ioredis';
import { deferred, sleep, uniquePrefix, until } from './helpers/redis';
import { type RedisServer, spawnRedis } from './helpers/redis-server';
import { CountingStore } from './helpers/stores';

// Over an ioredis `Redis`, the store hears lock releases on a connection of its own. When the server
// drops that connection while the user's client stays up (a CLIENT KILL, the sentinels demoting a
// master), the connection comes back a moment later, and a release published while it was down must
// not leave its waiter asleep until the waiter's next poll (250 ms with a 10 s lock). (node-redis
// connects a dropped connection again at once, subscriptions first: no such window to aim at.)
//
// A redis-server of its own: the test counts the release channel's subscribers and kills
// connections.

const LOCK_TTL_MS = 10_000;

/** Says when a `begin` answers that another process holds the lock (a test seam: no server tells that). */
class LockedAnswers extends CountingStore {
  onLocked: (() => void) | undefined;
  override async begin(request: BeginRequest): Promise<Begin> {
    const begun = await super.begin(request);
    if (begun.locked === false) this.onLocked?.();
    return begun;
  }
}

interface Clients {
  holder: RedisLike;
  /** Named `waiter`: the store's own connections are duplicates of it and carry its name. */
  waiter: RedisLike;
  close(): Promise<void>;
}

async function ioredisClients(url: string): Promise<Clients> {
  const holder = await ioredisClient(url);
  const waiter = await ioredisClient(url, { connectionName: 'waiter' });
  return {
    holder: holder as unknown as RedisLike,
    waiter: waiter as unknown as RedisLike,
    close: async () => {
      holder.disconnect();
      waiter.disconnect();
    },
  };
}

describe('ioredis Redis: the release listener dropped while the client stays up', () => {
  let server: RedisServer;
  let admin: Redis;
  let clients: Clients;
  let m: ReturnType<typeof memoizers>;
  beforeAll(async () => {
    server = await spawnRedis();
    admin = await ioredisClient(server.url);
    clients = await ioredisClients(server.url);
    // One store per client for the whole file (each memoizer object has its own stores).
    m = memoizers(clients);
  });
  afterAll(async () => {
    admin?.disconnect();
    await clients?.close();
    await server?.stop();
  });

  /** The ids of the waiter's connections subscribed to something. */
  const waiterListeners = async () =>
    parseClientList(String(await admin.client('LIST')))
      .filter((c) => c.name === 'waiter' && isSubscriber(c))
      .map((c) => c.id as string);
  const subscribers = async () => {
    const [, count] = (await admin.pubsub('NUMSUB', RELEASE_CHANNEL)) as [string, number];
    return Number(count);
  };
  const listenerUpAWhile = async () => {
    await until(async () => (await waiterListeners()).length === 1, "the waiter store's listener to subscribe");
    // A connection of the store's own that ends without staying up half a second waits that long to
    // come back.
    await sleep(600);
  };

  test('the listener, up a while, is subscribed again within 250 ms (it used to pause 500 ms first)', async () => {
    await m.waiter(0);
    await listenerUpAWhile();
    const subscribed = await subscribers();
    const [id] = await waiterListeners();
    const killed = performance.now();
    await admin.client('KILL', 'ID', id as string);
    await until(async () => (await subscribers()) >= subscribed, 'the listener to subscribe again', 5000);
    expect(performance.now() - killed).toBeLessThan(250);
    expect((clients.waiter as unknown as Redis).status).toBe('ready');
  });

  test('a release published while the listener was down wakes its waiter once the listener is back, not at its poll', async () => {
    await m.waiter(0);
    await until(async () => (await waiterListeners()).length === 1, "the waiter store's listener to subscribe");
    const ranBefore = m.waiterRan();
    // A connection of the test's own hears each release and asks at once whether the waiter's
    // listener is subscribed: asked after the publish, "no" means it was not subscribed when the
    // release was published.
    const watch = admin.duplicate();
    watch.on('error', () => {});
    const heard = new Map<string, { at: number; listenerUp: Promise<boolean> }>();
    watch.on('message', (_channel: string, key: string) => {
      heard.set(key, { at: performance.now(), listenerUp: waiterListeners().then((ids) => ids.length > 0) });
    });
    await watch.subscribe(RELEASE_CHANNEL);
    try {
      let measured: number | undefined;
      for (let id = 1; id <= 5 && measured === undefined; id++) {
        await listenerUpAWhile();
        heard.clear();
        const { held, finish } = await m.hold(id);
        const locked = deferred<void>();
        m.waiterStore.onLocked = () => locked.resolve();
        const waiting = m.waiter(id);
        await locked.promise;
        // The waiter has found the lock taken and sleeps until a release or its poll, 250 ms on.
        // Its listener dropped, it checks once more (the lock is still taken) and sleeps again; then
        // the holder finishes, while the listener is still connecting again.
        const checkedAgain = deferred<void>();
        m.waiterStore.onLocked = () => checkedAgain.resolve();
        const [listener] = await waiterListeners();
        await admin.client('KILL', 'ID', listener as string);
        await checkedAgain.promise;
        m.waiterStore.onLocked = undefined;
        finish();
        expect(await held).toBe(`holder-${id}`);
        const value = await waiting;
        const wokeAt = performance.now();
        expect(value).toBe(`holder-${id}`);
        const release = [...heard.values()][0];
        if (release === undefined) throw new Error('the release was not published');
        // The listener was back before the release: this round tests nothing, run another.
        if (await release.listenerUp) continue;
        measured = wokeAt - release.at;
      }
      if (measured === undefined) throw new Error('no release was published while the listener was down in 5 rounds');
      // Its poll would have woken it about 250 ms after the release.
      expect(measured).toBeLessThan(150);
      expect(m.waiterRan()).toBe(ranBefore);
    } finally {
      watch.disconnect();
    }
  });
});

function memoizers(clients: Clients) {
  const keyPrefix = uniquePrefix('listener-reconnect');
  let finish = deferred<void>();
  let computing = deferred<void>();
  const holder = createMemoizer({ client: clients.holder, keyPrefix, lockTtl: LOCK_TTL_MS })(async function value(
    id: number,
  ) {
    computing.resolve();
    await finish.promise;
    return `holder-${id}`;
  });
  let waiterRan = 0;
  const waiterStore = new LockedAnswers(new RedisStore(clients.waiter));
  const waiter = createMemoizer({ store: waiterStore, keyPrefix, lockTtl: LOCK_TTL_MS })(async function value(
    id: number,
  ) {
    waiterRan++;
    return `waiter-${id}`;
  });
  return {
    holder,
    waiter,
    waiterStore,
    waiterRan: () => waiterRan,
    /** Starts a computation under the lock; `finish()` ends it. */
    async hold(id: number) {
      finish = deferred<void>();
      computing = deferred<void>();
      const held = holder(id);
      await computing.promise;
      const done = finish;
      return { held, finish: () => done.resolve() };
    },
  };
}
