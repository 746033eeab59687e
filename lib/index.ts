export { MemoizeError, type MemoizeErrorCode, SerializationError, StoreError } from './errors';
export type { Memoized } from './memoize';
export { configure, createMemoizer, type Memoize, memoize } from './memoizer';
export type {
  CallEvent,
  DurationString,
  ErrorEvent,
  Hooks,
  MemoizeOptions,
  MemoizerOptions,
  Ttl,
} from './options';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory';
export { type RedisCommander, type RedisLike, RedisStore, type RedisStoreOptions } from './stores/redis';
export type { Begin, Store } from './stores/store';
