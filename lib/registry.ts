import { createHash } from 'node:crypto';

// Which function a memoizer's `keyPrefix:name` (with its version) stands for. Two functions that
// share an id share their entries, so a different function under a taken id is refused; the same code
// registered again (a module evaluated again, the same method bound to another instance, a decorated
// class defined again) is not a collision.

/** Set on a function that stands for another: the registry compares the code of the one it names. */
export const STANDS_FOR: unique symbol = Symbol('cache-memoize.standsFor');

/** The code a function runs, as the registry compares it: a digest of its source text. */
function codeOf(fn: unknown): string {
  const target = (fn as { [STANDS_FOR]?: unknown })[STANDS_FOR] ?? fn;
  // A bound function's source is `function () { [native code] }`: bound functions all compare equal.
  return createHash('sha256').update(Function.prototype.toString.call(target)).digest('base64url');
}

/** The functions one memoizer made, by id; it keeps digests, never the functions themselves. */
export class NameRegistry {
  readonly #codes = new Map<string, string>();

  /**
   * Claims `id` for `fn`.
   * @throws TypeError when a function with other source text holds `id`.
   */
  claim(id: string, fn: unknown): void {
    const code = codeOf(fn);
    const held = this.#codes.get(id);
    if (held !== undefined && held !== code) {
      throw new TypeError(
        `cache-memoize: another function is already memoized as '${id}' (its source text differs); ` +
          'give this one a different name or keyPrefix, or a version',
      );
    }
    this.#codes.set(id, code);
  }
}
