import { createMemoizer, type Memoized, type memoizedOf } from '../lib';

// Checked by `tsc --noEmit` (part of npm test): a mistake in an option is reported at that option,
// for functions with parameters too. Each `@ts-expect-error` sits on the line of the wrong option; if
// TypeScript reported the mistake anywhere else (against the function), the directive would be unused
// and the other line an error, and the type check would fail.

type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
function assertType<T extends true>(_: T): void {}

const memoize = createMemoizer({ keyPrefix: 'types-options' });

async function findPost(id: number): Promise<{ id: number; title: string }> {
  return { id, title: `post ${id}` };
}

describe('option mistakes are reported at the option', () => {
  test('a ttl that is not a duration, for a function with parameters', () => {
    expect(() =>
      memoize(
        async function findById(id: number) {
          return id;
        },
        {
          // @ts-expect-error -- '1 hour' is not a DurationString
          ttl: '1 hour',
        },
      ),
    ).toThrow(/ttl must be/);
  });

  test('an unknown option (a typo), for a function with parameters', () => {
    expect(() =>
      memoize(
        async function findByIdTypo(id: number) {
          return id;
        },
        {
          // @ts-expect-error -- 'tll' is not an option
          tll: 60,
        },
      ),
    ).toThrow(/unknown option 'tll'/);
  });

  test('a keyArgs or shouldCache that does not fit the function', () => {
    expect(() =>
      memoize(findPost, {
        // @ts-expect-error -- id is a number: it has no length
        keyArgs: (id) => [id.length],
        name: 'findPostKeyArgs',
      }),
    ).not.toThrow();
    expect(() =>
      memoize(findPost, {
        name: 'findPostShouldCache',
        // @ts-expect-error -- the result has no rows
        shouldCache: (post) => post.rows > 0,
      }),
    ).not.toThrow();
  });

  test('the new options are typed: version, cacheErrors, errorTtl, ttlJitter', () => {
    expect(() =>
      memoize(findPost, {
        name: 'findPostVersion',
        // @ts-expect-error -- a version is a number or a string
        version: true,
      }),
    ).toThrow(/version must be/);
    expect(() =>
      memoize(findPost, {
        name: 'findPostJitter',
        // @ts-expect-error -- a fraction, not a percentage string
        ttlJitter: '10%',
      }),
    ).toThrow(/ttlJitter must be/);
    expect(() =>
      memoize(findPost, {
        name: 'findPostErrors',
        cacheErrors: (error) => error instanceof RangeError,
        // @ts-expect-error -- '30 seconds' is not a DurationString
        errorTtl: '30 seconds',
      }),
    ).toThrow(/errorTtl must be/);
  });

  test('a function of no parameters still gets its error at the option', () => {
    expect(() =>
      memoize(async function zeroArgs() {}, {
        // @ts-expect-error -- 'tll' is not an option
        tll: 60,
      }),
    ).toThrow(/unknown option 'tll'/);
  });

  test('inference still comes from the function: keyArgs and shouldCache see its types', () => {
    const f = memoize(findPost, {
      name: 'findPostInferred',
      keyArgs: (id) => [id.toFixed(0)],
      shouldCache: (post, [id]) => post.id === id,
    });
    assertType<Equal<typeof f, Memoized<[id: number], { id: number; title: string }>>>(true);
  });
});

describe('@memoized types', () => {
  test('the instance, arguments and result are inferred from the method; mistakes are at the option', () => {
    expect(() => {
      class Repo {
        constructor(readonly tenant: string) {}

        @memoize.memoized({
          instanceKey: (repo) => repo.tenant,
          keyArgs: (id) => [id.toFixed(0)],
          shouldCache: (post) => post.title.length > 0,
        })
        async find(id: number): Promise<{ title: string }> {
          return { title: `${this.tenant} ${id}` };
        }

        @memoize.memoized({
          instanceKey: false,
          // @ts-expect-error -- '1 hour' is not a DurationString
          ttl: '1 hour',
        })
        async other(): Promise<number> {
          return 1;
        }
      }
      const repo = new Repo('acme');
      assertType<
        Equal<
          ReturnType<typeof memoizedOf<[id: number], Promise<{ title: string }>>>,
          Memoized<[id: number], { title: string }>
        >
      >(true);
      assertType<
        Equal<Parameters<typeof memoizedOf<[number], Promise<string>>>[0], (...args: [number]) => Promise<string>>
      >(true);
      return repo;
    }).toThrow(/ttl must be/);
  });

  test('a sync method cannot be decorated: a memoized method returns a promise', () => {
    expect(() => {
      class Repo {
        // @ts-expect-error -- count() returns a number, not a promise
        @memoize.memoized({ instanceKey: false })
        count(): number {
          return 1;
        }
      }
      return new Repo();
    }).not.toThrow();
  });
});
