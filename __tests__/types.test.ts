import { createClient, createCluster, createSentinel } from 'redis';
import { configure, createMemoizer, type Memoized, RedisStore } from '../lib';

// Most of this file is checked by `tsc --noEmit` (part of npm test): a type error fails the run.

type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
function assertType<T extends true>(_: T): void {}

describe('types', () => {
  test('client, cluster and sentinel objects are accepted without casts', () => {
    // Created, never connected: nothing here touches the network.
    const client = createClient({ url: 'redis://127.0.0.1:1' });
    const cluster = createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:1' }] });
    const sentinel = createSentinel({ name: 'mymaster', sentinelRootNodes: [{ host: '127.0.0.1', port: 1 }] });
    expect(new RedisStore(client)).toBeInstanceOf(RedisStore);
    expect(new RedisStore(cluster)).toBeInstanceOf(RedisStore);
    expect(new RedisStore(sentinel)).toBeInstanceOf(RedisStore);
    expect(() => createMemoizer({ client: cluster })).not.toThrow();
    expect(() => configure({ client })).not.toThrow();
  });

  test('a memoized function keeps the parameter and result types of the original', () => {
    const memoize = createMemoizer({ keyPrefix: 'types' });
    const f = memoize(async function typed(id: number, label?: string) {
      return { id, label };
    });
    const g = memoize(function syncTyped(flag: boolean) {
      return flag ? 1 : 'one';
    });
    assertType<Equal<Parameters<typeof f>, [id: number, label?: string]>>(true);
    assertType<Equal<ReturnType<typeof f>, Promise<{ id: number; label: string | undefined }>>>(true);
    assertType<Equal<ReturnType<typeof g>, Promise<1 | 'one'>>>(true);
    assertType<
      Equal<typeof f.refresh, (id: number, label?: string) => Promise<{ id: number; label: string | undefined }>>
    >(true);
    const check: Memoized<[boolean], 1 | 'one'> = g;
    expect(check.keyFor(true)).toMatch(/^types:syncTyped:\{/);
  });
});
