import { RedisStore } from '../lib/stores/redis/store';
import { storeContract } from '../lib/testing';
import { type Connected, connectTo, deployment } from './helpers/deployments';

// The exported store contract over the run's Redis Cluster (3 masters) and Sentinel group, each
// through node-redis's own object: the same semantics as over one server, including locks, release
// announcements and change tracking for the local tier.

let cluster: Connected;
let sentinel: Connected;

beforeAll(async () => {
  [cluster, sentinel] = await Promise.all([
    connectTo(deployment('node-redis cluster')),
    connectTo(deployment('node-redis sentinel')),
  ]);
});

afterAll(async () => {
  await Promise.allSettled([cluster?.close(), sentinel?.close()]);
});

storeContract('RedisStore over a node-redis cluster', () => new RedisStore(cluster.client), {
  dispose: (store) => store.close?.(),
});
storeContract('RedisStore over a node-redis sentinel', () => new RedisStore(sentinel.client), {
  dispose: (store) => store.close?.(),
});
