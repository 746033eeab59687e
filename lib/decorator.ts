import type { Memoized } from './memoize';
import { instanceKeyOf } from './option-values';
import type { MemoizeOptions } from './options';
import { STANDS_FOR } from './registry';

// The class-method decorator (TC39 / TypeScript 5): one memoized function per decorated method, made
// when the first instance is constructed (its class's name is part of the default name), with the
// instance as its first argument. Each instance gets its own `find` with the controls bound to it.

/**
 * Options of {@link memoized}: those of `memoize()`, with `keyArgs` and `shouldCache` called with the
 * instance as `this`, plus `instanceKey`.
 */
export interface MemoizedOptions<This, A extends unknown[], R>
  extends Omit<MemoizeOptions<A, R>, 'keyArgs' | 'shouldCache'> {
  /**
   * What tells instances apart in keys: two instances whose `instanceKey` differs never share an
   * entry. Required on instance methods; `false` says every instance shares entries (a stateless
   * service). Static methods share by default.
   * @example `instanceKey: (repo) => repo.tenant`
   */
  instanceKey?: ((self: This) => unknown) | false;
  /**
   * Rewrites the arguments before keying; called with the instance as `this`.
   * @example `keyArgs(user, page) { return [user.id, page]; }`
   */
  keyArgs?: (this: This, ...args: A) => unknown[];
  /**
   * Decides whether a result is stored (see `memoize()`'s `shouldCache`); called with the instance as `this`.
   * @example `shouldCache: (rows) => rows.length > 0`
   */
  shouldCache?: (this: This, result: R, args: A) => boolean | PromiseLike<boolean>;
}

/** A standard decorator of an async method; the method becomes a memoized one. */
export type MemoizedDecorator<This, A extends unknown[], R extends Promise<unknown>> = (
  method: (this: This, ...args: A) => R,
  context: ClassMethodDecoratorContext<This, (this: This, ...args: A) => R>,
) => (this: This, ...args: A) => R;

/** How a memoizer memoizes the function that stands for one decorated method. */
type MemoizeFunction = (fn: (...args: never[]) => unknown, options: MemoizeOptions) => Memoized<unknown[], unknown>;

/**
 * The decorator {@link MemoizedOptions} describe, memoizing through `memoize`.
 * @throws TypeError at class definition for a private method, an instance method without
 * `instanceKey`, or an `instanceKey` that is neither a function nor `false`.
 */
export function decoratorOf<This, A extends unknown[], R extends Promise<unknown>>(
  memoize: MemoizeFunction,
  options: MemoizedOptions<This, A, Awaited<R>> = {},
): MemoizedDecorator<This, A, R> {
  return (method, context) => {
    const methodName = String(context.name);
    if (context.kind !== 'method' || context.private) {
      throw new TypeError(`cache-memoize: @memoized decorates public methods; ${methodName} is not one`);
    }
    const { instanceKey: rawInstanceKey, keyArgs, shouldCache, ...rest } = options;
    const instanceKey = instanceKeyOf(rawInstanceKey, methodName, context.static);
    let memo: Memoized<unknown[], unknown> | undefined;

    // The class whose prototype (or, static, which) holds this decorated method: its name names keys.
    function ownerName(self: object): string | undefined {
      for (let p: object | null = context.static ? self : Object.getPrototypeOf(self); p !== null; ) {
        if (Object.getOwnPropertyDescriptor(p, methodName)?.value === replacement) {
          const owner = (context.static ? p : (p as { constructor?: unknown }).constructor) as { name?: unknown };
          return typeof owner?.name === 'string' && owner.name !== '' ? owner.name : undefined;
        }
        p = Object.getPrototypeOf(p) as object | null;
      }
      return undefined;
    }

    function memoOf(self: This): Memoized<unknown[], unknown> {
      if (memo !== undefined) return memo;
      const owner = ownerName(self as object);
      const target = (instance: This, ...args: A) => method.apply(instance, args);
      Object.defineProperty(target, STANDS_FOR, { value: method });
      Object.defineProperty(target, 'name', { value: methodName });
      memo = memoize(target as never, {
        ...(rest as MemoizeOptions),
        name: rest.name ?? (owner === undefined ? methodName : `${owner}.${methodName}`),
        keyArgs: keyArgsOf(instanceKey, keyArgs as never, methodName) as never,
        shouldCache:
          shouldCache === undefined
            ? undefined
            : (result: unknown, [self, ...args]: unknown[]) =>
                shouldCache.call(self as This, result as never, args as A),
      });
      return memo;
    }

    const replacement = function (this: This, ...args: A): R {
      return memoOf(this)(this, ...args) as R;
    };
    context.addInitializer(function (this: This) {
      // A subclass that overrides the method without the decorator keeps its own.
      if ((this as Record<string, unknown>)[methodName] !== replacement) return;
      Object.defineProperty(this, methodName, {
        value: controlsFor(memoOf(this), this, method, methodName),
        writable: true,
        configurable: true,
      });
    });
    return replacement;
  };
}

/** The key arguments of the standing-in function, whose first argument is the instance. */
function keyArgsOf<This>(
  instanceKey: ((self: This) => unknown) | undefined,
  keyArgs: ((this: This, ...args: never[]) => unknown[]) | undefined,
  methodName: string,
): (self: This, ...args: never[]) => unknown[] {
  const rewrite = (self: This, args: never[]): unknown[] => {
    if (keyArgs === undefined) return args;
    const rewritten = keyArgs.apply(self, args);
    if (!Array.isArray(rewritten)) {
      throw new TypeError(`cache-memoize: keyArgs of ${methodName} must return an array, got ${typeof rewritten}`);
    }
    return rewritten;
  };
  if (instanceKey === undefined) return (self, ...args) => rewrite(self, args);
  return (self, ...args) => [instanceKey(self), ...rewrite(self, args)];
}

/** The method as one instance sees it: calls and controls with the instance bound in. */
function controlsFor<This>(
  memo: Memoized<unknown[], unknown>,
  self: This,
  method: (...args: never[]) => unknown,
  methodName: string,
): Memoized<unknown[], unknown> {
  const bound = ((...args: unknown[]) => memo(self, ...args)) as Memoized<unknown[], unknown>;
  bound.invalidate = (...args) => memo.invalidate(self, ...args);
  bound.refresh = (...args) => memo.refresh(self, ...args);
  bound.invalidateAll = () => memo.invalidateAll();
  bound.keyFor = (...args) => memo.keyFor(self, ...args);
  Object.defineProperty(bound, 'original', { value: method, enumerable: true });
  Object.defineProperty(bound, 'name', { value: methodName });
  return bound;
}

/**
 * A decorated method, read from its instance (`repo.find`), typed with its controls: TypeScript
 * cannot change a method's declared type, so `repo.find.invalidate` needs this in TypeScript.
 *
 * @throws TypeError when `method` has no controls (not decorated, or read from the prototype)
 * @example `await memoizedOf(repo.find).invalidate(42);`
 */
export function memoizedOf<A extends unknown[], R>(method: (...args: A) => R): Memoized<A, Awaited<R>> {
  const m = method as Partial<Memoized<A, Awaited<R>>>;
  if (typeof m.invalidate !== 'function' || typeof m.refresh !== 'function') {
    throw new TypeError(
      'cache-memoize: memoizedOf() needs a memoized function, or a method decorated with @memoized read ' +
        'from its instance (repo.find)',
    );
  }
  return method as unknown as Memoized<A, Awaited<R>>;
}
