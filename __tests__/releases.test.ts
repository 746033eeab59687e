import type { RedisClientType } from 'redis';
import { createMemoizer } from '../lib/memoizer';
import { RELEASE_CHANNEL } from '../lib/stores/redis/scripts';
import { RedisStore } from '../lib/stores/redis/store';
import { Releases } from '../lib/stores/releases';
import type { Begin, BeginRequest } from '../lib/stores/store';
import { connect, deferred, sleep, uniquePrefix, until } from './helpers/redis';
import { type RedisServer, spawnRedis } from './helpers/redis-server';
import { CountingStore } from './helpers/stores';

// Lock releases are announced on pub/sub, a different connection than the one whose answer says
// "the lock is taken": the release can overtake that answer. A waiter must not then sleep a poll.

describe('Releases', () => {
  test('a release heard at or after `since` resolves the wait at once; an older one does not', async () => {
    const releases = new Releases();
    const before = performance.now();
    releases.announce('k');
    const early = releases.waitFor({ key: 'k', ms: 5000, since: before });
    const done = await Promise.race([early.promise.then(() => 'resolved'), sleep(50).then(() => 'waiting')]);
    expect(done).toBe('resolved');

    const late = releases.waitFor({ key: 'k', ms: 5000, since: performance.now() + 1 });
    const still = await Promise.race([late.promise.then(() => 'resolved'), sleep(50).then(() => 'waiting')]);
    expect(still).toBe('waiting');
    late.cancel();
  });

  test('without `since`, a past release never resolves a new wait', async () => {
    const releases = new Releases();
    releases.announce('k');
    const wait = releases.waitFor({ key: 'k', ms: 60 });
    const started = performance.now();
    await wait.promise;
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });
});

/** Holds back the answers of `begin` calls that found the lock taken, until `open()` (a test seam). */
class LateBeginStore extends CountingStore {
  readonly gate = deferred<void>();
  readonly heldBack = deferred<void>();
  override async begin(request: BeginRequest): Promise<Begin> {
    const begun = await super.begin(request);
    if (begun.locked === false) {
      this.heldBack.resolve();
      await this.gate.promise;
    }
    return begun;
  }
}

// A redis-server of its own: the test counts the release channel's subscribers, and on a server
// shared with other test files theirs come and go meanwhile.
describe('a release that overtakes the "lock taken" answer (real Redis)', () => {
  let server: RedisServer;
  let holderClient: RedisClientType;
  let waiterClient: RedisClientType;
  beforeAll(async () => {
    server = await spawnRedis();
    holderClient = await connect(server.url);
    waiterClient = await connect(server.url);
  });
  afterAll(async () => {
    await holderClient?.quit();
    await waiterClient?.quit();
    await server?.stop();
  });

  test('the waiter takes the value at once instead of sleeping a poll (250 ms with a 5 s lock)', async () => {
    const keyPrefix = uniquePrefix('overtaken');
    // The waiter's process has heard releases before (its subscriber is up): the case at hand is the
    // release overtaking one answer, not the first wait of a process racing its own subscription.
    // Both memoizers subscribe when they are made (their functions take locks).
    const subscribers = async () =>
      Number(((await holderClient.pubSubNumSub(RELEASE_CHANNEL)) as Record<string, number>)[RELEASE_CHANNEL]);
    const before = await subscribers();
    const computing = deferred<void>();
    const finish = deferred<void>();
    const holder = createMemoizer({ client: holderClient, keyPrefix, lockTtl: 5000 })(async function value(
      _id: number,
    ) {
      computing.resolve();
      await finish.promise;
      return 'from the holder';
    });
    const lateStore = new LateBeginStore(new RedisStore(waiterClient));
    let waiterRan = 0;
    const waiter = createMemoizer({ store: lateStore, keyPrefix, lockTtl: 5000 })(async function value(_id: number) {
      waiterRan++;
      return 'from the waiter';
    });

    await until(async () => (await subscribers()) >= before + 2, 'both stores to subscribe to releases');

    const held = holder(1);
    await computing.promise;
    const waiting = waiter(1);
    await lateStore.heldBack.promise;
    // The holder finishes and announces its release while the waiter's answer is still held back.
    finish.resolve();
    await held;
    await sleep(30);
    const released = performance.now();
    lateStore.gate.resolve();
    expect(await waiting).toBe('from the holder');
    expect(performance.now() - released).toBeLessThan(150);
    expect(waiterRan).toBe(0);
    await holder.invalidateAll();
  });
});
