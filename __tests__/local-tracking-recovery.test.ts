import { randomUUID } from 'node:crypto';
import { createClient, type RedisClientType } from 'redis';
import { RedisStore } from '../lib/stores/redis/store';
import { killTracking, probe, trackingConnections, untilLocal } from './helpers/local';
import { connect, sleep, testRedisUrl, uniquePrefix, until } from './helpers/redis';
import { spawnRedis } from './helpers/redis-server';

// The local tier when its tracking cannot work or stops working: it says why (E_NO_TRACKING), never
// retries a refusal in a loop, and comes back when the connection does.

let admin: RedisClientType;
beforeAll(async () => {
  admin = await connect();
});
afterAll(async () => {
  await admin.quit();
});

/** How often `user` was refused CLIENT TRACKING (ACL LOG counts repeats; other test files' connections do not show). */
async function trackingRefusals(user: string): Promise<number> {
  const log = (await admin.sendCommand(['ACL', 'LOG', '128'])) as unknown[];
  let count = 0;
  for (const entry of log) {
    // RESP3 gives each entry as a map, RESP2 as a flat list of fields and values.
    const fields = Array.isArray(entry)
      ? Object.fromEntries(entry.flatMap((v, i) => (i % 2 === 0 ? [[String(v), entry[i + 1]]] : [])))
      : (entry as Record<string, unknown>);
    if (fields.username === user && String(fields.object).startsWith('client|tracking')) count += Number(fields.count);
  }
  return count;
}

/** A connected client of a Redis user that may not run CLIENT (so no tracking); `close` removes both. */
async function clientWithoutClientCommand(): Promise<{
  user: string;
  client: RedisClientType;
  close(): Promise<void>;
}> {
  const user = `review-${randomUUID().slice(0, 8)}`;
  await admin.sendCommand(['ACL', 'SETUSER', user, 'on', '>pw', '~*', '&*', '+@all', '-client']);
  const client: RedisClientType = createClient({
    url: testRedisUrl(),
    username: user,
    password: 'pw',
    socket: { reconnectStrategy: () => 20 },
  });
  client.on('error', () => {});
  await client.connect();
  return {
    user,
    client,
    async close() {
      await client.quit();
      await admin.sendCommand(['ACL', 'DELUSER', user]);
    },
  };
}

test('a Redis user without CLIENT: E_NO_TRACKING reaches onError, and the tracking connection does not reconnect in a loop', async () => {
  const { user, client, close } = await clientWithoutClientCommand();
  try {
    const p = probe(new RedisStore(client), uniquePrefix('acl'), { local: true });
    for (let i = 0; i < 40; i++) {
      await p.call(1);
      await sleep(25);
    }
    const refused = await trackingRefusals(user);
    // The handshake of the tracking connection (node-redis sends CLIENT TRACKING ON for emitInvalidate)
    // fails with NOPERM; node-redis treats that as a connection failure and reconnects forever.
    expect(p.errors.map((e) => e.code)).toContain('E_NO_TRACKING');
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(refused).toBeLessThanOrEqual(2);
  } finally {
    await close();
  }
}, 15_000);

test('a tracking refused for good is not started again by each local function of the store', async () => {
  const { user, client, close } = await clientWithoutClientCommand();
  try {
    const store = new RedisStore(client);
    const keyPrefix = uniquePrefix('acl-many');
    const first = probe(store, keyPrefix, { local: true });
    for (let i = 0; i < 10 && !first.errors.some((e) => e.code === 'E_NO_TRACKING'); i++) {
      await first.call(1);
      await sleep(50);
    }
    const others = Array.from({ length: 5 }, (_, i) => probe(store, `${keyPrefix}-${i}`, { local: true }));
    for (const p of others) await p.call(1);
    await sleep(300);
    expect(others.every((p) => p.errors.some((e) => e.code === 'E_NO_TRACKING'))).toBe(true);
    expect(await trackingRefusals(user)).toBeLessThanOrEqual(2);
  } finally {
    await close();
  }
}, 15_000);

test('a client closed and connected again: the local tier works again (or says why not)', async () => {
  const client: RedisClientType = createClient({ url: testRedisUrl() });
  client.on('error', () => {});
  await client.connect();
  const p = probe(new RedisStore(client), uniquePrefix('reopen'), { local: true });
  await p.call(1);
  await untilLocal(p, 1);

  await client.close();
  await client.connect();
  try {
    // The tier kept the tracking that was closed on 'end'; attach() never asks the store again.
    let local = false;
    for (let i = 0; i < 100 && !local; i++) {
      local = (await p.call(1)).kind === 'local';
      await sleep(20);
    }
    if (!local) expect(p.errors.map((e) => e.code)).toContain('E_NO_TRACKING');
    expect(local).toBe(true);
  } finally {
    await client.quit();
  }
}, 15_000);

test('a server without CLIENT (renamed away): E_NO_TRACKING once, no reconnect loop, calls read Redis', async () => {
  const server = await spawnRedis({ args: ['--rename-command', 'CLIENT', ''] });
  const client: RedisClientType = createClient({ url: server.url, socket: { reconnectStrategy: () => 20 } });
  client.on('error', () => {});
  await client.connect();
  try {
    const p = probe(new RedisStore(client), uniquePrefix('no-client-command'), { local: true });
    for (let i = 0; i < 20; i++) {
      expect((await p.call(1)).kind).not.toBe('local');
      await sleep(20);
    }
    expect(p.errors.map((e) => e.code)).toEqual(['E_NO_TRACKING']);
    const stats = String(await client.sendCommand(['INFO', 'stats']));
    // The user's client, the lock-release subscriber, and one tracking attempt.
    expect(Number(/total_connections_received:(\d+)/.exec(stats)?.[1])).toBeLessThanOrEqual(4);
  } finally {
    await client.quit();
    await server.stop();
  }
}, 15_000);

test('a tracking connection that gave up reconnecting is replaced at a later call: local hits resume', async () => {
  // The tracking connection inherits the client's reconnect strategy; this one never reconnects.
  const name = uniquePrefix('gives-up');
  const client: RedisClientType = createClient({ url: testRedisUrl(), name, socket: { reconnectStrategy: false } });
  client.on('error', () => {});
  await client.connect();
  try {
    const p = probe(new RedisStore(client), uniquePrefix('gave-up'), { local: true });
    await p.call(1);
    await untilLocal(p, 1);
    const killed = await killTracking(admin, name);
    await until(async () => (await trackingConnections(admin, name)).every((c) => c.id !== killed), 'the kill');
    await sleep(100);
    // The tier was emptied when the connection ended, and comes back on a new one.
    await untilLocal(p, 1, 5000);
    expect(p.errors).toEqual([]);
  } finally {
    await client.quit();
  }
});
