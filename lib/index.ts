export { MemoizeError, type MemoizeErrorCode, SerializationError, StoreError, type StoreErrorCode } from './errors';
export type { Memoized } from './memoize';
export { configure, createMemoizer, invalidateTags, type Memoize, memoize } from './memoizer';
export type {
  CallEvent,
  CircuitBreakerOptions,
  DurationString,
  EarlyRefreshOptions,
  ErrorEvent,
  Hooks,
  LocalOptions,
  MemoizeOptions,
  MemoizerOptions,
  Ttl,
} from './options';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory';
export type { RedisLike } from './stores/redis/drivers';
export {
  createResilientClient,
  RESILIENT_DEFAULTS,
  type ResilientClientOptions,
  reconnectForever,
} from './stores/redis/resilient-client';
export { RedisStore, type RedisStoreOptions } from './stores/redis/store';
export type {
  Begin,
  BeginRequest,
  ChangeListener,
  DeleteMatchingRequest,
  InvalidateTagsRequest,
  LockRequest,
  ReleaseRequest,
  RotateRequest,
  RoundTrip,
  Store,
  StoreNeeds,
  TaggedValue,
  TagStamp,
  Tracking,
  Waiting,
  WaitRequest,
  WriteRequest,
} from './stores/store';
