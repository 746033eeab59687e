export { MemoizeError, type MemoizeErrorCode, SerializationError, StoreError, type StoreErrorCode } from './errors';
export type { Memoized } from './memoize';
export { configure, createMemoizer, type Memoize, memoize } from './memoizer';
export type {
  CallEvent,
  CircuitBreakerOptions,
  DurationString,
  ErrorEvent,
  Hooks,
  MemoizeOptions,
  MemoizerOptions,
  Ttl,
} from './options';
export {
  createResilientClient,
  RESILIENT_DEFAULTS,
  type ResilientClientOptions,
  reconnectForever,
} from './resilient-client';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory';
export { type RedisCommander, type RedisLike, RedisStore, type RedisStoreOptions } from './stores/redis';
export type { Begin, Store } from './stores/store';
