import type { RedisClientType } from 'redis';
import { connect } from './redis';
import { type RedisServer, spawnRedis } from './redis-server';

/** A server of one test file's own and two connections to it, standing for two processes. */
export interface PausableServer {
  readonly server: RedisServer;
  readonly client: RedisClientType;
  readonly other: RedisClientType;
}

/**
 * Registers the file's hooks for a server its tests may pause (SIGSTOP): spawned before all tests,
 * resumed after each, stopped after all. The fields are set once the file's `beforeAll` ran.
 */
export function pausableServer(): PausableServer {
  const own = {} as { server: RedisServer; client: RedisClientType; other: RedisClientType };
  beforeAll(async () => {
    own.server = await spawnRedis();
    [own.client, own.other] = await Promise.all([connect(own.server.url), connect(own.server.url)]);
  });
  afterAll(async () => {
    own.server?.resume();
    await Promise.allSettled([own.client?.quit(), own.other?.quit()]);
    await own.server?.stop();
  });
  afterEach(() => own.server.resume());
  return own;
}
