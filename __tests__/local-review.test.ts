import { randomUUID } from 'node:crypto';
import { createClient, type RedisClientType } from 'redis';
import { RedisStore } from '../lib/stores/redis';
import { probe, untilLocal } from './helpers/local';
import { connect, sleep, testRedisUrl, uniquePrefix } from './helpers/redis';

// Review of the local tier (issue 6): cases where the tier silently stops working or never reports.

let admin: RedisClientType;
beforeAll(async () => {
  admin = await connect();
});
afterAll(async () => {
  await admin.quit();
});

async function connectionsReceived(): Promise<number> {
  const info = String(await admin.sendCommand(['INFO', 'stats']));
  return Number(/total_connections_received:(\d+)/.exec(info)?.[1]);
}

test('a Redis user without CLIENT: E_NO_TRACKING reaches onError, and the tracking connection does not reconnect in a loop', async () => {
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
  try {
    const p = probe(new RedisStore(client), uniquePrefix('acl'), { local: true });
    const before = await connectionsReceived();
    for (let i = 0; i < 40; i++) {
      await p.call(1);
      await sleep(25);
    }
    const opened = (await connectionsReceived()) - before;
    // The handshake of the tracking connection (node-redis sends CLIENT TRACKING ON for emitInvalidate)
    // fails with NOPERM; node-redis treats that as a connection failure and reconnects forever.
    expect(p.errors.map((e) => e.code)).toContain('E_NO_TRACKING');
    expect(opened).toBeLessThanOrEqual(2);
  } finally {
    await client.quit();
    await admin.sendCommand(['ACL', 'DELUSER', user]);
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
