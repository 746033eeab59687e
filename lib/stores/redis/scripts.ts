import { createHash, randomUUID } from 'node:crypto';
import type { Begin, BeginRequest, RotateRequest, WriteRequest } from '../store';
import { encodeStamp } from '../tag-stamp';
import { replyText } from './replies';

/**
 * How `begin` treats a value that landed meanwhile: `''` untagged (return it); `check` tagged, on one
 * server (return it only if its stamp holds, read inside the script); `raw` tagged, on a cluster
 * (return it with its stamp, checked by the store); `skip` (a cluster's stamp did not hold: treat it
 * as missing, but mark the lock as waited for).
 */
export type TagMode = '' | 'check' | 'raw' | 'skip';

/** What `begin` found, with a landed value's stamp (tagged modes). */
export type StoreBegin = Begin & { stamp?: string };

/**
 * The store's Lua scripts, each as data: its source, how a request becomes its arguments, and how its
 * reply becomes a result. No caller knows an argument position. Every entry script gets the entry's
 * five keys, all in one hash slot: value, token, lock, waiters mark, stamp (`entryKeysOf`); on one
 * server (not a cluster) also the function's entry index and the tag epoch, then a write's tag keys
 * (`KEYS[6]`, `KEYS[7]`, `KEYS[8...]`), which the scripts then maintain themselves.
 */
export interface Script<Request, Result> {
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
  /** The script's ARGV for `request`. */
  arguments(request: Request): string[];
  /** The script's reply as a result; throws on a reply this version did not write. */
  parseReply(reply: unknown): Result;
}

/** The pub/sub channel on which lock releases are announced; the message is the entry's value key. */
export const RELEASE_CHANNEL = 'cache-memoize:released';

/**
 * How a release is announced: `PUBLISH` on {@link RELEASE_CHANNEL} (one server, or a cluster without
 * sharded pub/sub, which relays it to every node), or `SPUBLISH` on the entry's own channel, which
 * carries the entry's hash tag so that it lives in the entry's slot (a cluster of Redis 7 or later).
 */
export interface Announcement {
  readonly command: 'PUBLISH' | 'SPUBLISH';
  readonly channel: string;
}

/** The default announcement: one channel for every entry. */
export const BROADCAST: Announcement = { command: 'PUBLISH', channel: RELEASE_CHANNEL };

/** The sharded channel of one entry's releases: in the entry's slot, heard only by its master. */
export function shardedReleaseChannel(valueKey: string): string {
  return `${RELEASE_CHANNEL}:${valueKey.slice(valueKey.lastIndexOf('{'))}`;
}

/** Makes a script: the shared Lua functions, then `body`. */
export function script<Request, Result>(
  name: string,
  body: string,
  args: (request: Request) => string[],
  parseReply: (reply: unknown) => Result,
): Script<Request, Result> {
  const source = `${PRELUDE}\n${body}`;
  return {
    name,
    source,
    sha1: createHash('sha1').update(source).digest('hex'),
    arguments: args,
    parseReply,
  };
}

/** A lifetime as a script argument: `'0'` means "no expiry" (PX must be a positive integer). */
export function lifetime(ms: number): string {
  return ms === Number.POSITIVE_INFINITY ? '0' : String(Math.max(1, Math.ceil(ms)));
}

/** How long past its score an entry index member is pruned: room for writes the score has not followed. */
export const INDEX_PRUNE_MS = 60_000;

const PRELUDE = `
local function set_token(t, ttl)
  if ttl == '0' then redis.call('SET', KEYS[2], t) else redis.call('SET', KEYS[2], t, 'PX', ttl) end
end
local function release(lock_token, publish, channel)
  if lock_token ~= '' and redis.call('GET', KEYS[3]) == lock_token then
    -- The lock is there: a second key deleted is the mark of someone waiting for it.
    if redis.call('DEL', KEYS[3], KEYS[4]) == 2 then redis.call(publish, channel, KEYS[1]) end
  end
end
-- A tagged entry's stamp holds: every tag key exists with an epoch no later than the stamp's.
local function tags_valid(stamp)
  local ok, s = pcall(cjson.decode, stamp)
  if not ok or type(s) ~= 'table' then return false end
  local e = tonumber(s[1])
  if not e then return false end
  for i = 2, #s do
    local v = tonumber(redis.call('GET', s[i]))
    if not v or v > e then return false end
  end
  return true
end
-- A tag key exists (created at epoch e if missing) and lives at least ttl ('0': forever). It is
-- given twice that, so that the writes of the next ttl need not extend it: each extension is a
-- change that client tracking pushes, evicting the tag's values from every local tier.
local function ensure_tag(k, e, ttl)
  if ttl == '0' then
    if not redis.call('SET', k, e, 'NX') then redis.call('PERSIST', k) end
    return
  end
  local twice = string.format('%d', 2 * tonumber(ttl))
  if not redis.call('SET', k, e, 'NX', 'PX', twice) then
    local p = redis.call('PTTL', k)
    if p >= 0 and p < tonumber(ttl) then redis.call('PEXPIRE', k, twice) end
  end
end
-- The entry index: member scored by when its token expires (server time); expired ones pruned.
local function index_add(index, member, ttl)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local score = '+inf'
  if ttl ~= '0' then score = string.format('%d', now + tonumber(ttl)) end
  redis.call('ZADD', index, 'GT', score, member)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. string.format('%d', now - ${INDEX_PRUNE_MS}))
end`;

/**
 * A miss, before computing: the value if one landed meanwhile; else the entry's token (created if
 * missing) and the lock request's outcome. A caller that finds the lock taken marks it as waited for.
 */
export const BEGIN = script<{ begin: BeginRequest; tagMode: TagMode }, StoreBegin>(
  'begin',
  `-- ARGV: new token, token ttl, lock token ('' = no lock), lock ttl, ignore value ('1'/'0'), tag mode
if ARGV[5] ~= '1' and ARGV[6] ~= 'skip' then
  local v = redis.call('GET', KEYS[1])
  if v then
    if ARGV[6] == '' then return {1, v} end
    local s = redis.call('GET', KEYS[5])
    if ARGV[6] == 'raw' then return {1, v, s or ''} end
    if s and tags_valid(s) then return {1, v, s} end
  end
end
local t = redis.call('GET', KEYS[2])
if not t then
  t = ARGV[1]
  set_token(t, ARGV[2])
  if KEYS[6] then index_add(KEYS[6], KEYS[1], ARGV[2]) end
end
if ARGV[3] == '' then return {0, t, -1} end
if redis.call('SET', KEYS[3], ARGV[3], 'NX', 'PX', ARGV[4]) then return {0, t, 1} end
if ARGV[5] ~= '1' then redis.call('SET', KEYS[4], '1', 'PX', ARGV[4]) end
return {0, t, 0, redis.call('GET', KEYS[3])}`,
  ({ begin: { tokenTtlMs, lock, ignoreValue = false }, tagMode }) => [
    randomUUID(),
    lifetime(tokenTtlMs),
    lock?.token ?? '',
    lock === undefined ? '0' : lifetime(lock.ttlMs),
    ignoreValue ? '1' : '0',
    tagMode,
  ],
  (reply) => {
    if (!Array.isArray(reply) || reply.length < 2) throw new Error(`unexpected begin reply ${String(reply)}`);
    if (Number(reply[0]) === 1) {
      return reply.length > 2
        ? { value: replyText(reply[1]), stamp: replyText(reply[2]) }
        : { value: replyText(reply[1]) };
    }
    const token = replyText(reply[1]);
    const locked = Number(reply[2]);
    if (locked === -1) return { token };
    return locked === 1 ? { token, locked: true } : { token, locked: false, holder: replyText(reply[3]) };
  },
);

/**
 * The conditional write: only under the entry's current token; releases the writer's lock either way.
 * It extends the token to outlive the value, and on one server raises the entry's index score with
 * it, unless the token was set less than half the index's pruning margin ago (its remaining life
 * says so, in the server's own time): token and score are set together, so the index then keeps the
 * entry past the value's end as it is, and the token may end before the value by at most that half
 * margin (a computation writing under it after that is refused, as after any new token: nothing
 * stale is written).
 */
export const WRITE = script<{ write: WriteRequest; announcement: Announcement }, boolean>(
  'write',
  `-- ARGV: token, value, ttl, token ttl, lock token ('' = none), publish command, channel, stamp ('' = none)
local written = 0
local valid = true
if ARGV[8] ~= '' and KEYS[7] and redis.call('GET', KEYS[2]) == ARGV[1] then
  -- One server: the tag keys are made to exist here, atomically with the current epoch; a stamp
  -- that no longer holds is not written (the write is refused, as under a changed token).
  local e = redis.call('GET', KEYS[7]) or '0'
  for i = 8, #KEYS do ensure_tag(KEYS[i], e, ARGV[3]) end
  valid = tags_valid(ARGV[8])
end
if valid and redis.call('GET', KEYS[2]) == ARGV[1] then
  if ARGV[3] == '0' then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
  if ARGV[8] == '' then
    redis.call('DEL', KEYS[5])
  elseif ARGV[3] == '0' then
    redis.call('SET', KEYS[5], ARGV[8])
  else
    redis.call('SET', KEYS[5], ARGV[8], 'PX', ARGV[3])
  end
  -- The token is made to live as the values' lifetime now says (none: ARGV[4] '0'), with its index
  -- score, unless it already does: no expiry for values without one, or set recently.
  local left = redis.call('PTTL', KEYS[2])
  local extend
  if ARGV[4] == '0' then extend = left ~= -1 else extend = left == -1 or left < tonumber(ARGV[4]) - ${INDEX_PRUNE_MS / 2} end
  if extend then
    if ARGV[4] == '0' then redis.call('PERSIST', KEYS[2]) else redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
    if KEYS[6] then index_add(KEYS[6], KEYS[1], ARGV[4]) end
  end
  written = 1
end
release(ARGV[5], ARGV[6], ARGV[7])
return written`,
  ({ write: { token, value, ttlMs, tokenTtlMs, lockToken, stamp }, announcement }) => [
    token,
    value,
    lifetime(ttlMs),
    lifetime(tokenTtlMs),
    lockToken ?? '',
    announcement.command,
    announcement.channel,
    stamp === undefined ? '' : encodeStamp(stamp),
  ],
  (reply) => Number(reply) === 1,
);

/** Lets a lock go if it still holds the caller's token, announcing it when someone waits. */
export const RELEASE = script<{ lockToken: string; announcement: Announcement }, void>(
  'release',
  `-- ARGV: lock token, publish command, channel
release(ARGV[1], ARGV[2], ARGV[3])
return 1`,
  ({ lockToken, announcement }) => [lockToken, announcement.command, announcement.channel],
  () => undefined,
);

/** Deletes the value under a new token (damaged bytes, `refresh`); with a lock, takes it unconditionally. */
export const ROTATE = script<RotateRequest, string>(
  'rotate',
  `-- ARGV: new token, token ttl, lock token ('' = none), lock ttl
redis.call('DEL', KEYS[1], KEYS[5])
set_token(ARGV[1], ARGV[2])
if KEYS[6] then index_add(KEYS[6], KEYS[1], ARGV[2]) end
if ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4]) end
return ARGV[1]`,
  ({ tokenTtlMs, lock }) => [
    randomUUID(),
    lifetime(tokenTtlMs),
    lock?.token ?? '',
    lock === undefined ? '0' : lifetime(lock.ttlMs),
  ],
  (reply) => replyText(reply),
);
