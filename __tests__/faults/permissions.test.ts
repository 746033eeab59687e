import { createMemoizer } from '../../lib/memoizer';
import { createResilientClient } from '../../lib/stores/redis/resilient-client';
import { connect } from '../helpers/redis';
import { type RedisServer, spawnRedis } from '../helpers/redis-server';
import { untilReady } from './scenarios';

// A real redis-server with ACL users lacking what the cache needs.
let server: RedisServer;
beforeAll(async () => {
  server = await spawnRedis();
  const admin = await connect(server.url);
  await admin.sendCommand(['ACL', 'SETUSER', 'noscripts', 'on', '>pw', '~*', '+@all', '-evalsha', '-eval']);
  await admin.sendCommand(['ACL', 'SETUSER', 'otherkeys', 'on', '>pw', '~other:*', '+@all']);
  await admin.quit();
});
afterAll(async () => {
  await server.stop();
});

function userUrl(user: string): string {
  return `redis://${user}:pw@127.0.0.1:${server.port}`;
}

async function firstUse(user: string) {
  const client = createResilientClient(userUrl(user), { onConnectionError: () => {} });
  await untilReady(client);
  const errors: Error[] = [];
  const f = createMemoizer({ client, keyPrefix: 'perm' })(
    async function lookup(n: number) {
      return n * 2;
    },
    { onError: ({ error }) => errors.push(error) },
  );
  try {
    return { result: await f(21), errors };
  } finally {
    client.destroy();
  }
}

test('a user without scripts (EVAL, EVALSHA): the first call still answers and reports E_NO_PERMISSION naming the command', async () => {
  const { result, errors } = await firstUse('noscripts');
  expect(result).toBe(42);
  expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['E_NO_PERMISSION']);
  // A process's first run of a script goes as EVAL.
  expect(errors[0]!.message).toMatch(/may not run EVAL;/);
  expect(errors[0]!.message).toMatch(/ACL SETUSER <user> \+get \+mget \+evalsha \+eval \+unlink \+scan/);
  expect((errors[0]!.cause as Error).message).toMatch(/^NOPERM/);
});

test("a user without access to the cache's keys: E_NO_PERMISSION naming the key prefix grant", async () => {
  const { result, errors } = await firstUse('otherkeys');
  expect(result).toBe(42);
  expect(errors.length).toBeGreaterThan(0);
  expect(errors.every((e) => (e as { code?: string }).code === 'E_NO_PERMISSION')).toBe(true);
  expect(errors[0]!.message).toMatch(/may not access the cache's keys.*~<keyPrefix>:\*/);
});

test('with no onError hook anywhere, the failure still shows: one process warning per code', async () => {
  const client = createResilientClient(userUrl('noscripts'), { onConnectionError: () => {} });
  await untilReady(client);
  const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
  try {
    const f = createMemoizer({ client, keyPrefix: 'perm-quiet' })(async function quiet(n: number) {
      return n;
    });
    for (let i = 0; i < 5; i++) expect(await f(i)).toBe(i);
    const permission = warn.mock.calls.filter(([message]) => String(message).includes('EVALSHA'));
    expect(permission).toHaveLength(1);
    expect(String(permission[0]![0])).toMatch(/set onError to see every failure/);
  } finally {
    warn.mockRestore();
    client.destroy();
  }
});
