import type { RedisClientType } from 'redis';
import { memoizedOf } from '../lib/decorator';
import { createMemoizer, type Memoize } from '../lib/memoizer';
import { connect, uniquePrefix } from './helpers/redis';

// The class-method decorator, and registering the same code again (bound per instance, or after a
// module is evaluated again), against a real redis-server.

let client: RedisClientType;
let memoize: Memoize;
let prefix: string;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.quit();
});
beforeEach(() => {
  prefix = uniquePrefix('decorator');
  memoize = createMemoizer({ client, keyPrefix: prefix });
});

/** A repository class as a module defines it; calling this again is the module evaluated again. */
function defineRepo(m: Memoize, calls: string[]) {
  class PostRepo {
    constructor(readonly tenant: string) {}

    @m.memoized({ ttl: '1h', instanceKey: (repo: PostRepo) => repo.tenant })
    async find(id: number): Promise<string> {
      calls.push(`${this.tenant}:${id}`);
      return `${this.tenant} post ${id} v${calls.length}`;
    }
  }
  return PostRepo;
}

describe('@memoized', () => {
  test('instances of different tenants never share entries; each caches its own', async () => {
    const calls: string[] = [];
    const PostRepo = defineRepo(memoize, calls);
    const a = new PostRepo('acme');
    const b = new PostRepo('globex');
    expect(await a.find(42)).toBe('acme post 42 v1');
    expect(await b.find(42)).toBe('globex post 42 v2');
    expect(await a.find(42)).toBe('acme post 42 v1');
    expect(await new PostRepo('acme').find(42)).toBe('acme post 42 v1');
    expect(calls).toEqual(['acme:42', 'globex:42']);
    const keyA = memoizedOf(a.find).keyFor(42);
    expect(keyA).not.toBe(memoizedOf(b.find).keyFor(42));
    expect(keyA.startsWith(`${prefix}:PostRepo.find:{`)).toBe(true);
    expect(await client.exists([keyA, memoizedOf(b.find).keyFor(42)])).toBe(2);
  });

  test('repo.find.invalidate and repo.find.refresh act on that instance only', async () => {
    const calls: string[] = [];
    const PostRepo = defineRepo(memoize, calls);
    const a = new PostRepo('acme');
    const b = new PostRepo('globex');
    await a.find(1);
    await b.find(1);
    await (a.find as unknown as { invalidate(id: number): Promise<void> }).invalidate(1);
    expect(await client.exists(memoizedOf(a.find).keyFor(1))).toBe(0);
    expect(await client.exists(memoizedOf(b.find).keyFor(1))).toBe(1);
    expect(await a.find(1)).toBe('acme post 1 v3');
    expect(await memoizedOf(b.find).refresh(1)).toBe('globex post 1 v4');
    expect(await b.find(1)).toBe('globex post 1 v4');
    expect(await a.find(1)).toBe('acme post 1 v3');
  });

  test('a detached method stays bound to its instance', async () => {
    const PostRepo = defineRepo(memoize, []);
    const { find } = new PostRepo('acme');
    expect(await find(7)).toBe('acme post 7 v1');
  });

  test('an instance method without instanceKey is a TypeError when the class is defined', () => {
    expect(() => {
      class Repo {
        @memoize.memoized({ ttl: 60 })
        async find(id: number): Promise<number> {
          return id;
        }
      }
      return Repo;
    }).toThrow(/@memoized on find needs instanceKey: .*instanceKey: false to share entries/);
    expect(() => {
      class Repo {
        @memoize.memoized({ instanceKey: 'tenant' as never })
        async find(id: number): Promise<number> {
          return id;
        }
      }
      return Repo;
    }).toThrow(/instanceKey must be a function of the instance or false; got "tenant"$/);
  });

  test('instanceKey: false shares entries between instances', async () => {
    let runs = 0;
    class Clock {
      constructor(readonly label: string) {}
      @memoize.memoized({ instanceKey: false })
      async at(n: number): Promise<number> {
        runs++;
        return n;
      }
    }
    await new Clock('a').at(1);
    await new Clock('b').at(1);
    expect(runs).toBe(1);
  });

  test('static methods share entries, and carry the controls', async () => {
    let runs = 0;
    class Settings {
      readonly loaded = new Set<string>();
      @memoize.memoized({ ttl: 60 })
      static async load(section: string): Promise<string> {
        runs++;
        return `${section}${runs}`;
      }
    }
    expect(await Settings.load('db')).toBe('db1');
    expect(await Settings.load('db')).toBe('db1');
    expect(await memoizedOf(Settings.load).refresh('db')).toBe('db2');
    expect(memoizedOf(Settings.load).keyFor('db').startsWith(`${prefix}:Settings.load:{`)).toBe(true);
  });

  test('a subclass that overrides the method without the decorator keeps its own', async () => {
    const PostRepo = defineRepo(memoize, []);
    class Uncached extends PostRepo {
      override async find(id: number): Promise<string> {
        return `fresh ${id}`;
      }
    }
    const repo = new Uncached('acme');
    expect(await repo.find(1)).toBe('fresh 1');
    expect(() => memoizedOf(repo.find)).toThrow(/memoizedOf\(\) needs a memoized function/);
  });

  test('the class evaluated again (a dev reload) registers again and reads the same entries', async () => {
    const calls: string[] = [];
    const First = defineRepo(memoize, calls);
    await new First('acme').find(3);
    const Reloaded = defineRepo(memoize, calls);
    expect(await new Reloaded('acme').find(3)).toBe('acme post 3 v1');
    expect(calls).toEqual(['acme:3']);
  });

  test('another method under the same class and method name is still a collision', async () => {
    const PostRepo = defineRepo(memoize, []);
    await new PostRepo('acme').find(1);
    const Other = (() => {
      class PostRepo {
        @memoize.memoized({ instanceKey: false })
        async find(id: number): Promise<string> {
          return `other ${id}`;
        }
      }
      return PostRepo;
    })();
    expect(() => new Other()).toThrow(
      new RegExp(`another function is already memoized as '${prefix}:PostRepo\\.find' \\(its source text differs\\)`),
    );
  });
});

describe('registering the same code again', () => {
  test('a function bound per instance is memoized once per instance, named without "bound "', async () => {
    class Repo {
      readonly find;
      constructor(readonly tenant: string) {
        this.find = memoize(this.load.bind(this), { keyArgs: (id) => [tenant, id] });
      }
      async load(id: number): Promise<string> {
        return `${this.tenant}:${id}`;
      }
    }
    const a = new Repo('acme');
    const b = new Repo('globex');
    expect(await a.find(1)).toBe('acme:1');
    expect(await b.find(1)).toBe('globex:1');
    expect(a.find.keyFor(1).startsWith(`${prefix}:load:{`)).toBe(true);
    expect(a.find.keyFor(1)).not.toBe(b.find.keyFor(1));
  });

  test('a module evaluated again memoizes its function again under the same name', async () => {
    let runs = 0;
    // What evaluating `export const load = memoize(async function load(id) {...})` again produces.
    const evaluateModule = () =>
      memoize(async function load(id: number) {
        runs++;
        return id * 2;
      });
    expect(await evaluateModule()(2)).toBe(4);
    expect(await evaluateModule()(2)).toBe(4);
    expect(runs).toBe(1);
  });

  test('a function with other source text under a taken name is a TypeError', () => {
    memoize(async function load(id: number) {
      return id;
    });
    expect(() =>
      memoize(async function load(id: number) {
        return id + 1;
      }),
    ).toThrow(/another function is already memoized as '.*:load' \(its source text differs\); .*a version$/);
    expect(() =>
      memoize(
        async function load(id: number) {
          return id + 1;
        },
        { version: 2 },
      ),
    ).not.toThrow();
  });
});
