import { functionPrefixOfValueKey, TAG_KEY_PREFIX } from '../key';
import type { ChangeListener } from './store';

/**
 * Routes entry changes to the listeners watching each function prefix. Only value keys are routed
 * (an entry's token, lock and waiters keys never change the cached value), and tag keys, to the
 * listeners of {@link TAG_KEY_PREFIX}.
 */
export class ChangeFeed {
  readonly #listeners = new Map<string, Set<ChangeListener>>();

  /** Registers `listener` for changes under `functionPrefix`; returns the way to remove it. */
  add(functionPrefix: string, listener: ChangeListener): () => void {
    let set = this.#listeners.get(functionPrefix);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(functionPrefix, set);
    }
    const registered = set;
    registered.add(listener);
    return () => {
      registered.delete(listener);
      if (registered.size === 0 && this.#listeners.get(functionPrefix) === registered) {
        this.#listeners.delete(functionPrefix);
      }
    };
  }

  /** The function prefixes that have listeners. */
  prefixes(): IterableIterator<string> {
    return this.#listeners.keys();
  }

  /** Delivers a change of `key` (any key of an entry, or a foreign key under a watched prefix). */
  changed(key: string): void {
    const prefix = key.startsWith(TAG_KEY_PREFIX) ? TAG_KEY_PREFIX : functionPrefixOfValueKey(key);
    if (prefix === undefined) return;
    const set = this.#listeners.get(prefix);
    if (set !== undefined) for (const listener of set) listener(key);
  }

  /** Tells the listeners of `functionPrefixes` (default: all) that anything may have changed. */
  everything(functionPrefixes: Iterable<string> = this.#listeners.keys()): void {
    for (const prefix of [...functionPrefixes]) {
      const set = this.#listeners.get(prefix);
      if (set !== undefined) for (const listener of [...set]) listener(null);
    }
  }
}
