import { createClient, type RedisClientType } from 'redis';
import { functionKeyPrefix, valueKey } from '../lib/key';
import { ServerTracking, type TrackingConnection } from '../lib/stores/redis/tracking';
import { connect, testRedisUrl, uniquePrefix, until } from './helpers/redis';

// The tracking of one node-redis server in reads mode (Redis's default mode): what it hears is what it
// read, on its own connection, whatever mode that connection was in before.

let client: RedisClientType;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.quit();
});

async function trackingConnection(): Promise<RedisClientType> {
  const c = createClient({ url: testRedisUrl(), RESP: 3, emitInvalidate: true } as never) as RedisClientType;
  c.on('error', () => {});
  await c.connect();
  return c;
}

async function flagsOf(connection: RedisClientType): Promise<string[]> {
  const info = (await connection.sendCommand(['CLIENT', 'TRACKINGINFO'])) as unknown;
  const flags = info instanceof Map ? info.get('flags') : (info as Record<string, unknown>).flags;
  return (flags as unknown[]).map(String);
}

test('a connection left in broadcast mode is switched to default mode before it is trusted', async () => {
  const connection = await trackingConnection();
  const prefix = functionKeyPrefix(uniquePrefix('reads-mode'), 'f');
  try {
    // An earlier session's mode: broadcast on some prefix.
    await connection.sendCommand(['CLIENT', 'TRACKING', 'OFF']);
    await connection.sendCommand(['CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', `${prefix}x`]);
    expect(await flagsOf(connection)).toContain('bcast');
    const tracking = new ServerTracking(connection as unknown as TrackingConnection, () => {}, { reads: true });
    const heard: Array<string | null> = [];
    tracking.watch(prefix, (key) => heard.push(key));
    await until(() => tracking.covers(prefix), 'tracking confirmed');
    expect(await flagsOf(connection)).toEqual(['on']);
    // Becoming covered told the watcher "anything changed" (null); only what follows counts.
    heard.length = 0;

    const read = valueKey(prefix, 'read');
    const unread = valueKey(prefix, 'unread');
    await client.set(read, 'v1');
    await client.set(unread, 'v1');
    expect(await tracking.read?.(read)).toBe('v1');
    expect(await tracking.read?.(valueKey(prefix, 'missing'))).toBeNull();
    await client.set(unread, 'v2');
    await client.set(read, 'v2');
    await until(() => heard.includes(read), 'the change of the key read');
    // Pushed in the order Redis applied the writes: the unread key's change would have come first.
    expect(heard).toEqual([read]);
    tracking.close();
  } finally {
    connection.destroy();
  }
});
