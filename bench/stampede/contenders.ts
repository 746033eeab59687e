import KeyvRedis from '@keyv/redis';
import { createCache as createDedupeCache } from 'async-cache-dedupe';
import { createCache as createCacheManager } from 'cache-manager';
import { Cacheable } from 'cacheable';
import { Redis } from 'ioredis';
import { Keyv } from 'keyv';
import { createClient } from 'redis';
import { createMemoizer, type MemoizerOptions } from '../../lib';
import type { ContenderId } from './protocol';

/** What the stampeding function returns. */
export interface Value {
  arg: string;
  pid: number;
}

export type Fn = (arg: string) => Promise<Value>;

/** One library, set up in one worker process with its own connection(s) to Redis. */
export interface Contender {
  /** A cached version of `fn` for one trial; `prefix` is fresh for every trial. */
  wrap(prefix: string, fn: Fn): Fn;
  close(): Promise<void>;
}

const TTL_SECONDS = 3600;

async function memoizeContender(url: string, lock: boolean): Promise<Contender> {
  const client = createClient({ url });
  client.on('error', (error: unknown) => console.error('stampede worker: node-redis error:', error));
  await client.connect();
  return {
    wrap(prefix, fn) {
      // `lock` is passed only to turn it off, so the default row is exactly what a user writes.
      const options: MemoizerOptions = { client, keyPrefix: prefix, ttl: '1h' };
      const memoize = createMemoizer(lock ? options : { ...options, lock: false });
      return memoize(fn, { name: 'stampede' });
    },
    async close() {
      await client.quit();
    },
  };
}

async function asyncCacheDedupeContender(url: string): Promise<Contender> {
  const client = new Redis(url, { lazyConnect: true });
  client.on('error', (error: unknown) => console.error('stampede worker: ioredis error:', error));
  await client.connect();
  return {
    wrap(_prefix, fn) {
      // Storage keys are `name~arg` with no prefix; the trial's argument is fresh instead.
      const cache = createDedupeCache({ ttl: TTL_SECONDS, storage: { type: 'redis', options: { client } } });
      const defined = cache.define('stampede', (arg: string) => fn(arg));
      return (arg) => defined.stampede(arg);
    },
    async close() {
      await client.quit();
    },
  };
}

async function cacheManagerContender(url: string): Promise<Contender> {
  const keyv = new Keyv({ store: new KeyvRedis(url) });
  keyv.on('error', (error: unknown) => console.error('stampede worker: keyv error:', error));
  const cache = createCacheManager({ stores: [keyv] });
  // @keyv/redis connects on first use: connect before the barrier.
  await keyv.get('stampede:connect');
  return {
    wrap(_prefix, fn) {
      // The key is the trial's (fresh) argument.
      return (arg) => cache.wrap(arg, () => fn(arg), TTL_SECONDS * 1000);
    },
    async close() {
      await cache.disconnect();
    },
  };
}

async function cacheableContender(url: string): Promise<Contender> {
  const secondary = new KeyvRedis(url);
  const cache = new Cacheable({ secondary, ttl: '1h' });
  cache.on('error', (error: unknown) => console.error('stampede worker: cacheable error:', error));
  await secondary.get('stampede:connect');
  return {
    wrap(_prefix, fn) {
      return async (arg) => {
        const value = await cache.getOrSet(arg, () => fn(arg), { ttl: '1h' });
        if (value === undefined) throw new Error('getOrSet resolved undefined');
        return value;
      };
    },
    async close() {
      await cache.disconnect();
    },
  };
}

/** Sets up `id` in this process: connects its client(s) and resolves when they are ready. */
export function openContender(id: ContenderId, url: string): Promise<Contender> {
  switch (id) {
    case 'memoize':
      return memoizeContender(url, true);
    case 'memoize-no-lock':
      return memoizeContender(url, false);
    case 'async-cache-dedupe':
      return asyncCacheDedupeContender(url);
    case 'cache-manager':
      return cacheManagerContender(url);
    case 'cacheable':
      return cacheableContender(url);
  }
}
