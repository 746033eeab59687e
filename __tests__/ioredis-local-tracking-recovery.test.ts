import type Redis from 'ioredis';
import { RedisStore } from '../lib/stores/redis/store';
import { type Admin, type Connection, connectAdmin } from './helpers/connections';
import { ioredisClient } from './helpers/ioredis';
import { listen, probe, trackingOf, untilLocal } from './helpers/local';
import { uniquePrefix, until } from './helpers/redis';
import { type RedisServer, spawnRedis } from './helpers/redis-server';

// The local tier over an ioredis client hears changes on two connections of the store's own: a
// control connection with CLIENT TRACKING ON REDIRECT <id>, and a listener (id <id>) subscribed
// to __redis__:invalidate. Either one dropping must empty and bypass the tier until tracking is set
// up again, redirected to whatever the listener's id is then. The server is this file's own, so that
// it can refuse new connections (maxclients) and keep a killed connection down.

let server: RedisServer;
let admin: Admin;
/** Connected before any limit, so that it can lift one. */
let config: Redis;
beforeAll(async () => {
  server = await spawnRedis();
  admin = await connectAdmin(server.url);
  config = await ioredisClient(server.url);
});
afterAll(async () => {
  config.disconnect();
  await admin.close();
  await server.stop();
});

/** The control connection (tracking on, flag `t`) and the listener it redirects to, of clients named `name`. */
async function trackingPair(name: string): Promise<{ control: Connection; listener: Connection | undefined }[]> {
  const mine = (await admin.list()).filter((c) => c.name === name);
  return mine
    .filter((c) => (c.flags ?? '').includes('t'))
    .map((control) => ({ control, listener: mine.find((c) => c.id === control.redir) }));
}

/** Keeps new connections out (the ones open stay), so that a killed connection stays down. */
async function refuseNewConnections(): Promise<() => Promise<void>> {
  await config.config('SET', 'maxclients', '1');
  return async () => {
    await config.config('SET', 'maxclients', '10000');
  };
}

test.each(['listener', 'control'] as const)(
  'the %s connection killed: the tier is emptied and bypassed; a write made meanwhile is seen; local hits resume, redirected to the live listener',
  async (which) => {
    const name = uniquePrefix(`io-recover-${which}`).replace(/-/g, '_');
    // Quick reconnections, so that the test waits for the refusal it controls and not for a backoff.
    const options = { connectionName: name, retryStrategy: () => 50 };
    const ca: Redis = await ioredisClient(server.url, options);
    const cb: Redis = await ioredisClient(server.url, { connectionName: `${name}_b` });
    const keyPrefix = uniquePrefix('io-recover');
    const source = { version: 1 };
    const pa = probe(new RedisStore(ca), keyPrefix, { local: true, lock: false }, source);
    const pb = probe(new RedisStore(cb), keyPrefix, {}, source);
    try {
      await pa.call(1);
      const v1 = await untilLocal(pa, 1);
      const heard = listen(pa.store, pa.functionPrefix);
      const [before] = await trackingPair(name);
      expect(before?.listener).toBeDefined();
      const victim = (which === 'listener' ? before?.listener : before?.control) as Connection;

      const letIn = await refuseNewConnections();
      try {
        await config.client('KILL', 'ID', victim.id as string);
        await until(() => heard.heard.includes(null), 'the drop to be heard');
        expect(trackingOf(pa.store).covers(pa.functionPrefix)).toBe(false);
        const during = await pa.call(1);
        expect(during.kind).toBe('store');
        expect(during.value).toEqual(v1);
        // Written while nobody hears changes for A.
        source.version = 2;
        await pb.f.refresh(1);
        for (let i = 0; i < 3; i++) {
          const r = await pa.call(1);
          expect(r.kind).toBe('store');
          expect(r.value.version).toBe(2);
        }
      } finally {
        await letIn();
      }
      expect((await untilLocal(pa, 1, 5000)).version).toBe(2);
      // One pair again, the new connection in place of the killed one, redirected to the live listener.
      const after = await trackingPair(name);
      expect(after).toHaveLength(1);
      const [pair] = after;
      expect(pair?.listener).toBeDefined();
      expect(which === 'listener' ? pair?.listener?.id : pair?.control.id).not.toBe(victim.id);
      heard.stop();
    } finally {
      ca.disconnect();
      cb.disconnect();
    }
  },
);
