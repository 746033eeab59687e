import type { RedisClientType } from 'redis';
import { MemoryStore } from '../../lib/stores/memory';
import { RedisStore } from '../../lib/stores/redis';
import type { Begin, Store } from '../../lib/stores/store';

/** Both real stores, for tests that must hold for each. The Redis one needs a connected client. */
export function bothStores(client: () => RedisClientType): Array<[string, () => Store]> {
  return [
    ['RedisStore', () => new RedisStore(client())],
    ['MemoryStore', () => new MemoryStore()],
  ];
}

/** Counts the calls that reach a real store; it changes nothing. */
export class CountingStore implements Store {
  readonly calls = { get: 0, begin: 0, set: 0, delete: 0, rotate: 0, deleteMatching: 0 };
  constructor(readonly inner: Store) {}
  get(key: string): Promise<string | null | undefined> {
    this.calls.get++;
    return this.inner.get(key);
  }
  begin(key: string, tokenTtlMs: number): Promise<Begin> {
    this.calls.begin++;
    return this.inner.begin(key, tokenTtlMs);
  }
  set(key: string, token: string, value: string, ttlMs: number, tokenTtlMs: number): Promise<boolean> {
    this.calls.set++;
    return this.inner.set(key, token, value, ttlMs, tokenTtlMs);
  }
  delete(key: string): Promise<void> {
    this.calls.delete++;
    return this.inner.delete(key);
  }
  rotate(key: string, tokenTtlMs: number): Promise<string> {
    this.calls.rotate++;
    return this.inner.rotate(key, tokenTtlMs);
  }
  deleteMatching(prefix: string): Promise<number> {
    this.calls.deleteMatching++;
    return this.inner.deleteMatching(prefix);
  }
}
