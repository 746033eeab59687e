import Redis, { Cluster } from 'ioredis';
import Redis6, { Cluster as Cluster6 } from 'ioredis6';
import Valkey, { Cluster as ValkeyCluster } from 'iovalkey';
import { configure, createMemoizer } from '../lib';
import { RedisStore } from '../lib/stores/redis/store';

// Which objects the Redis store takes: ioredis 5 and 6 and iovalkey, Redis (also with sentinels) and
// Cluster, next to node-redis's; anything else is a TypeError at new RedisStore() and configure()
// that names what is accepted, and so is an ioredis object the cache would silently go wrong on.
// Every object is made with lazyConnect: nothing here needs a server.

const node = { host: '127.0.0.1', port: 1 };

interface Closable {
  disconnect(): void;
}

test.each<[string, () => Closable]>([
  ['an ioredis 5 Redis', () => new Redis({ lazyConnect: true })],
  ['an ioredis 5 Redis with sentinels', () => new Redis({ lazyConnect: true, sentinels: [node], name: 'mymaster' })],
  ['an ioredis 5 Cluster', () => new Cluster([node], { lazyConnect: true })],
  ['an ioredis 6 Redis', () => new Redis6({ lazyConnect: true })],
  ['an ioredis 6 Cluster', () => new Cluster6([node], { lazyConnect: true })],
  ['an iovalkey Redis', () => new Valkey({ lazyConnect: true })],
  ['an iovalkey Cluster', () => new ValkeyCluster([node], { lazyConnect: true })],
])('%s is accepted by new RedisStore(), createMemoizer() and configure()', (_name, make) => {
  const client = make();
  try {
    expect(() => new RedisStore(client as never)).not.toThrow();
    expect(() => createMemoizer({ client: client as never })).not.toThrow();
    expect(() => configure({ client: client as never })).not.toThrow();
  } finally {
    client.disconnect();
  }
});

test.each<[string, unknown]>([
  ['an empty object', {}],
  ['a URL', 'redis://127.0.0.1:6379'],
  ['an object with get and eval only', { get: async () => null, eval: async () => null }],
])('%s is a TypeError naming the node-redis and ioredis/iovalkey objects accepted', (_name, client) => {
  const accepted =
    /node-redis client, cluster or sentinel object .* or an ioredis or iovalkey Redis or Cluster object \(new Redis\(\), new Redis\(\{ sentinels \}\), new Cluster\(\)\)/;
  expect(() => new RedisStore(client as never)).toThrow(accepted);
  expect(() => createMemoizer({ client: client as never })).toThrow(TypeError);
  expect(() => configure({ client: client as never })).toThrow(accepted);
});

test('an ioredis client with a keyPrefix is refused: the cache’s SCAN, tracking and releases would miss its keys', () => {
  const client = new Redis({ lazyConnect: true, keyPrefix: 'app:' });
  try {
    expect(() => new RedisStore(client)).toThrow(/keyPrefix "app:".*client\.duplicate\(\{ keyPrefix: '' \}\)/);
  } finally {
    client.disconnect();
  }
});

test('an ioredis cluster reading from replicas is refused: it could serve a value after invalidate()', () => {
  const cluster = new Cluster([node], { lazyConnect: true, scaleReads: 'slave' });
  try {
    expect(() => new RedisStore(cluster)).toThrow(/reads from replicas \(scaleReads\)/);
  } finally {
    cluster.disconnect();
  }
});
