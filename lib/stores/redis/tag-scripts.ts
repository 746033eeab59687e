import { SIDE_OF_LUA } from '../../key';
import { replyText } from './replies';
import { lifetime, script } from './scripts';

// The scripts of tags and of the entry index, as data like those of `scripts.ts` (whose shared Lua
// functions they use). On a cluster each touches keys of one slot only; on one server, scripts read
// keys they were not given (tag keys named in a stamp), which only a cluster forbids.

/** A tagged entry's value and stamp, or `undefined`. */
export interface RawTagged {
  readonly value: string;
  readonly stamp: string;
}

function rawTagged(reply: unknown): RawTagged | undefined {
  if (!Array.isArray(reply) || reply.length < 2) return undefined;
  return { value: replyText(reply[0]), stamp: replyText(reply[1]) };
}

/** The tagged hit: the value and its stamp; with `check` (one server), only if the stamp holds. */
export const READ_TAGGED = script<{ check: boolean }, RawTagged | undefined>(
  'read-tagged',
  `-- ARGV: check the stamp here ('1'/'0')
local v = redis.call('GET', KEYS[1])
if not v then return false end
local s = redis.call('GET', KEYS[5])
if not s then return false end
if ARGV[1] == '1' and not tags_valid(s) then return false end
return {v, s}`,
  ({ check }) => [check ? '1' : '0'],
  rawTagged,
);

const SET_TAG_LUA = `
-- A tag key := max(its epoch, e), living at least as long as it would have, and at least floor.
local function set_tag(k, e, floor)
  local cur = tonumber(redis.call('GET', k))
  local p = redis.call('PTTL', k)
  if not cur or cur < e then redis.call('SET', k, e, 'KEEPTTL') end
  if p == -2 or (p >= 0 and p < tonumber(floor)) then redis.call('PEXPIRE', k, floor) end
end`;

/** One server: increments the epoch and sets every tag key to it, atomically. KEYS: epoch, tag keys. */
export const INVALIDATE_TAGS = script<{ floorMs: number }, void>(
  'invalidate-tags',
  `${SET_TAG_LUA}
-- ARGV: floor ttl
local e = redis.call('INCR', KEYS[1])
for i = 2, #KEYS do set_tag(KEYS[i], e, ARGV[1]) end
return e`,
  ({ floorMs }) => [lifetime(floorMs)],
  () => undefined,
);

/** A cluster: sets one tag key (KEYS[1]) to an epoch the store incremented before. */
export const SET_TAG = script<{ epoch: string; floorMs: number }, void>(
  'set-tag',
  `${SET_TAG_LUA}
-- ARGV: epoch, floor ttl
set_tag(KEYS[1], tonumber(ARGV[1]), ARGV[2])
return 1`,
  ({ epoch, floorMs }) => [epoch, lifetime(floorMs)],
  () => undefined,
);

/** A cluster: makes one tag key (KEYS[1]) exist before a tagged write, created at `epoch` if missing. */
export const ENSURE_TAG = script<{ epoch: string; ttlMs: number }, string>(
  'ensure-tag',
  `-- ARGV: epoch (read after the computation), ttl; returns the tag's epoch
ensure_tag(KEYS[1], ARGV[1], ARGV[2])
return redis.call('GET', KEYS[1])`,
  ({ epoch, ttlMs }) => [epoch, lifetime(ttlMs)],
  (reply) => replyText(reply),
);

/** A cluster: adds (or keeps longer) a value key (ARGV) in its function's index (KEYS[1]). */
export const INDEX_ADD = script<{ member: string; tokenTtlMs: number }, void>(
  'index-add',
  `-- ARGV: value key, token ttl
index_add(KEYS[1], ARGV[1], ARGV[2])
return 1`,
  ({ member, tokenTtlMs }) => [member, lifetime(tokenTtlMs)],
  () => undefined,
);

/** One page of an index: value keys and their scores, and how many members the index holds. */
export interface IndexPage {
  readonly members: Array<[member: string, score: string]>;
  readonly remaining: number;
}

/**
 * A cluster: removes the members of the page before (their entries deleted) unless a new token
 * re-scored them meanwhile, then reads the next page. KEYS: the index.
 */
export const INDEX_PAGE = script<{ count: number; done: ReadonlyArray<readonly [string, string]> }, IndexPage>(
  'index-page',
  `-- ARGV: page size, then member and score of each deleted entry
for i = 2, #ARGV, 2 do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) == ARGV[i + 1] then redis.call('ZREM', KEYS[1], ARGV[i]) end
end
return {redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES'), redis.call('ZCARD', KEYS[1])}`,
  ({ count, done }) => [String(count), ...done.flat()],
  (reply) => {
    const [flat, remaining] = reply as [unknown[], unknown];
    const members: Array<[string, string]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) members.push([replyText(flat[i]), replyText(flat[i + 1])]);
    return { members, remaining: Number(remaining) };
  },
);

/** What one page of {@link DELETE_PAGE} did. */
export interface DeletedPage {
  readonly entries: number;
  readonly keys: number;
  readonly remaining: number;
}

/**
 * One server: deletes the entries of one index page (each value key, and its side keys with the
 * suffixes: `deletedKeysOf`) and removes them from the index, in one step. KEYS: the index.
 */
export const DELETE_PAGE = script<{ count: number; suffixes: readonly string[] }, DeletedPage>(
  'delete-page',
  `-- ARGV: page size, then the suffixes of an entry's side keys
local members = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #members == 0 then return {0, 0, 0} end
local keys = {}
for _, m in ipairs(members) do
  keys[#keys + 1] = m
  ${SIDE_OF_LUA.replaceAll('\n', '\n  ')}
  for i = 2, #ARGV do keys[#keys + 1] = side .. ARGV[i] end
end
local n = redis.call('UNLINK', unpack(keys))
redis.call('ZREM', KEYS[1], unpack(members))
return {#members, n, redis.call('ZCARD', KEYS[1])}`,
  ({ count, suffixes }) => [String(count), ...suffixes],
  (reply) => {
    const [entries, keys, remaining] = (reply as unknown[]).map(Number) as [number, number, number];
    return { entries, keys, remaining };
  },
);

/** A cluster: increments the tag epoch (KEYS[1]) and resolves the new one. */
export const INCREMENT_EPOCH = script<Record<string, never>, string>(
  'increment-epoch',
  `return redis.call('INCR', KEYS[1])`,
  () => [],
  (reply) => replyText(reply),
);
