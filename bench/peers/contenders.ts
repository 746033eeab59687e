import KeyvRedis from '@keyv/redis';
import { createCache as createDedupeCache } from 'async-cache-dedupe';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis';
import { createCache as createCacheManager } from 'cache-manager';
import { Redis } from 'ioredis';
import { Keyv } from 'keyv';
import { createMemoizer, type MemoizerOptions } from '../../lib';
import type { BenchClient } from '../lib/redis-client';
import { type RelatedPost, relatedPosts } from './related-posts';

/** The libraries compared on the hit and miss paths. */
export type ContenderId =
  | 'memoize'
  | 'memoize-local'
  | 'memoize-ioredis'
  | 'async-cache-dedupe'
  | 'cache-manager'
  | 'bentocache-l2'
  | 'bentocache-tiered';

/** How each contender is named in the report and the chart. */
export const LABELS: Readonly<Record<ContenderId, string>> = {
  memoize: 'cache-memoize',
  'memoize-local': 'cache-memoize { local: true }',
  'memoize-ioredis': 'cache-memoize (ioredis client)',
  'async-cache-dedupe': 'async-cache-dedupe (redis storage, ioredis)',
  'cache-manager': 'cache-manager wrap + @keyv/redis',
  'bentocache-l2': 'bentocache getOrSet (Redis L2 only)',
  'bentocache-tiered': 'bentocache getOrSet (memory L1 + Redis L2 + bus)',
};

/** One library's cached `getRelatedPosts`, with its own connection(s) unless noted. */
export interface Contender {
  readonly id: ContenderId;
  readonly label: string;
  /** Whether hits are answered in this process (a memory tier in front of Redis). */
  readonly local: boolean;
  /** The cached lookup; the value is {@link relatedPosts}`(postId)`. */
  call(postId: number): Promise<RelatedPost[]>;
  /** How many times the wrapped function has run: a hit must not move it, a miss must. */
  computed(): number;
  close(): Promise<void>;
}

/** Where contenders keep their entries. */
export interface Setup {
  url: string;
  /** The node-redis client cache-memoize shares with the raw baselines, as an app would. */
  client: BenchClient;
  /** Unique to this run: every key a contender writes contains it, so cleanup can find them all. */
  tag: string;
}

const TTL_MS = 3_600_000;

type Body = (postId: number) => Promise<RelatedPost[]>;

function counted(): { body: Body; computed: () => number } {
  let runs = 0;
  return {
    body: async (postId) => {
      runs++;
      return relatedPosts(postId);
    },
    computed: () => runs,
  };
}

function memoizeContender(setup: Setup, local: boolean): Contender {
  const id = local ? 'memoize-local' : 'memoize';
  const { body, computed } = counted();
  // `local` is passed only to turn it on, so the plain row is exactly what a user writes.
  const options: MemoizerOptions = { client: setup.client, keyPrefix: `${setup.tag}-${id}`, ttl: '1h' };
  const memoize = createMemoizer(local ? { ...options, local: true } : options);
  const getRelatedPosts = memoize(body, { name: 'getRelatedPosts' });
  return { id, label: LABELS[id], local, call: getRelatedPosts, computed, close: async () => {} };
}

/** cache-memoize over an ioredis client of its own, with the options the README recommends. */
async function memoizeIoredisContender(setup: Setup): Promise<Contender> {
  const { body, computed } = counted();
  const redis = new Redis(setup.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  redis.on('error', (error: unknown) => console.error('cache-memoize ioredis error:', error));
  await redis.connect();
  const memoize = createMemoizer({ client: redis, keyPrefix: `${setup.tag}-memoize-ioredis`, ttl: '1h' });
  const getRelatedPosts = memoize(body, { name: 'getRelatedPosts' });
  return {
    id: 'memoize-ioredis',
    label: LABELS['memoize-ioredis'],
    local: false,
    call: getRelatedPosts,
    computed,
    async close() {
      await redis.quit();
    },
  };
}

async function asyncCacheDedupeContender(setup: Setup): Promise<Contender> {
  const { body, computed } = counted();
  const redis = new Redis(setup.url, { lazyConnect: true });
  redis.on('error', (error: unknown) => console.error('async-cache-dedupe ioredis error:', error));
  await redis.connect();
  // Keys are `name~arg`: the run tag goes into the name.
  const name = `${setup.tag}-getRelatedPosts`;
  const cache = createDedupeCache({ ttl: TTL_MS / 1000, storage: { type: 'redis', options: { client: redis } } });
  const defined = cache.define(name, body);
  const cached = defined[name] as Body;
  return {
    id: 'async-cache-dedupe',
    label: LABELS['async-cache-dedupe'],
    local: false,
    call: (postId) => cached(postId),
    computed,
    async close() {
      await redis.quit();
    },
  };
}

async function cacheManagerContender(setup: Setup): Promise<Contender> {
  const { body, computed } = counted();
  const keyv = new Keyv({ store: new KeyvRedis(setup.url) });
  keyv.on('error', (error: unknown) => console.error('cache-manager keyv error:', error));
  const cache = createCacheManager({ stores: [keyv] });
  // @keyv/redis connects on first use.
  await keyv.get(`${setup.tag}:connect`);
  return {
    id: 'cache-manager',
    label: LABELS['cache-manager'],
    local: false,
    call: (postId) => cache.wrap(`${setup.tag}:getRelatedPosts:${postId}`, () => body(postId), TTL_MS),
    computed,
    async close() {
      await cache.disconnect();
    },
  };
}

async function bentocacheContender(setup: Setup, tiered: boolean): Promise<Contender> {
  const id = tiered ? 'bentocache-tiered' : 'bentocache-l2';
  const { body, computed } = counted();
  const { hostname, port } = new URL(setup.url);
  const connection = { host: hostname, port: Number(port) };
  const l2 = bentostore().useL2Layer(redisDriver({ connection }));
  const store = tiered
    ? bentostore()
        .useL1Layer(memoryDriver({ maxItems: 100_000 }))
        .useL2Layer(redisDriver({ connection }))
        .useBus(redisBusDriver({ connection }))
    : l2;
  const bento = new BentoCache({ default: 'cache', prefix: `${setup.tag}-${id}`, stores: { cache: store } });
  // Connects the drivers (and subscribes the bus) before the first measured call.
  await bento.get({ key: 'connect' });
  return {
    id,
    label: LABELS[id],
    local: tiered,
    call: (postId) => bento.getOrSet({ key: `getRelatedPosts:${postId}`, factory: () => body(postId), ttl: '1h' }),
    computed,
    async close() {
      await bento.disconnectAll();
    },
  };
}

/** Sets up every contender, in report order, against `setup`; skipped ones say why. */
export async function openContenders(setup: Setup): Promise<Contender[]> {
  return [
    memoizeContender(setup, false),
    memoizeContender(setup, true),
    await memoizeIoredisContender(setup),
    await asyncCacheDedupeContender(setup),
    await cacheManagerContender(setup),
    await bentocacheContender(setup, false),
    await bentocacheContender(setup, true),
  ];
}
