import { createClient, type RedisClientType } from 'redis';
import { configure, createMemoizer, memoize } from '../lib';
import { type Admin, type Connection, connectAdmin, describeConnections, isSubscriber } from './helpers/connections';
import { sleep, uniquePrefix } from './helpers/redis';
import { type RedisServer, spawnRedis } from './helpers/redis-server';

// With a Redis store and the lock on, the connection that hears lock releases (a second connection
// subscribed to the release channel) is set up with the store, before and outside any call: the
// first caller that waits for a holder must not be the one that pays for (or races) the subscription.
// With the lock off everywhere, no such connection is opened at all.
//
// The server is this file's own, so CLIENT LIST shows only this file's connections.

let server: RedisServer;
let admin: Admin;
beforeAll(async () => {
  server = await spawnRedis();
  admin = await connectAdmin(server.url);
});
afterAll(async () => {
  await admin.close();
  await server.stop();
});

let known: Set<string>;
let clients: RedisClientType[] = [];
beforeEach(async () => {
  known = await admin.ids();
});
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
});

async function userClient(): Promise<RedisClientType> {
  const client: RedisClientType = createClient({ url: server.url });
  client.on('error', () => {});
  await client.connect();
  clients.push(client);
  return client;
}

/** The connections opened since the test began that are subscribed, once there is one; fails after `ms`. */
async function subscriberWithin(ms: number): Promise<Connection[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const opened = await admin.newSince(known);
    const subscribers = opened.filter(isSubscriber);
    if (subscribers.length > 0) return subscribers;
    if (Date.now() > deadline) {
      throw new Error(
        `no subscribed connection within ${ms} ms of setting up the store, before any call; ` +
          `connections opened since the test began: ${describeConnections(opened)}`,
      );
    }
    await sleep(20);
  }
}

async function target(id: number): Promise<{ id: number }> {
  return { id };
}

test('createMemoizer({ client }) and memoize(fn): the release listener is subscribed before any call', async () => {
  const client = await userClient();
  const memoizeHere = createMemoizer({ client, keyPrefix: uniquePrefix('listener') });
  memoizeHere(target);
  expect((await subscriberWithin(2000)).length).toBe(1);
});

test('memoize(fn) first, configure({ client }) after: the release listener is subscribed before any call', async () => {
  memoize(target, { keyPrefix: uniquePrefix('listener') });
  const client = await userClient();
  configure({ client });
  expect((await subscriberWithin(2000)).length).toBe(1);
});

test('with lock: false on every function (set on each, or on the memoizer), no subscribed connection is opened, even after calls', async () => {
  const client = await userClient();
  const perFunction = createMemoizer({ client, keyPrefix: uniquePrefix('listener') });
  const f = perFunction(target, { lock: false });
  const g = perFunction(
    async function other(id: number) {
      return { id, other: true };
    },
    { lock: false },
  );
  const onMemoizer = createMemoizer({ client: await userClient(), keyPrefix: uniquePrefix('listener'), lock: false });
  const h = onMemoizer(target);
  for (const call of [f, f, g, h, h]) await call(1);
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline) {
    const subscribers = (await admin.newSince(known)).filter(isSubscriber);
    expect(describeConnections(subscribers)).toBe('(none)');
    await sleep(100);
  }
});

test('a client already closed gets no release listener: nothing outlives the client it belongs to', async () => {
  const client = await userClient();
  await client.close();
  clients = clients.filter((c) => c !== client);
  createMemoizer({ client, keyPrefix: uniquePrefix('listener') })(target);
  await sleep(500);
  expect(describeConnections(await admin.newSince(known))).toBe('(none)');
});

test('a client not connected yet: the listener is subscribed once it connects, before any call', async () => {
  const client: RedisClientType = createClient({ url: server.url });
  client.on('error', () => {});
  createMemoizer({ client, keyPrefix: uniquePrefix('listener') })(target);
  await sleep(200);
  expect(describeConnections(await admin.newSince(known))).toBe('(none)');
  await client.connect();
  clients.push(client);
  expect((await subscriberWithin(2000)).length).toBe(1);
});
