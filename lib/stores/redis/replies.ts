import { type MemoizeError, SerializationError, StoreError, type StoreErrorCode } from '../../errors';

// What Redis's error replies (and node-redis's own failures) mean to the cache. A reply starts with
// its code in capitals (`WRONGTYPE Operation against...`); client-side failures (`connect
// ECONNREFUSED`, `The client is closed`) do not.

/** The server answered but refuses writes: out of memory, a replica, or failing to persist. */
const REFUSAL = /^(OOM|READONLY|MISCONF)\b/;
/**
 * The server answered that it cannot serve now: an outage all the same. Not `TRYAGAIN`: that is one
 * slot caught mid-migration, and the master serves its other slots (it must not open their circuit).
 */
const NOT_SERVING = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN)\b/;
const ERROR_REPLY = /^[A-Z][A-Z_]+ /;
const WRONG_TYPE = /^WRONGTYPE\b/;
const NO_PERMISSION = /^NOPERM\b/;
const COMMAND_IN_NOPERM = /'([a-z|]+)' command/i;

function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/** How to grant what a `NOPERM` reply says is missing. */
function permissionAdvice(text: string): string {
  const command = COMMAND_IN_NOPERM.exec(text)?.[1];
  if (command !== undefined) {
    return (
      `the Redis user may not run ${command.toUpperCase()}; the cache needs GET, MGET, EVALSHA, EVAL, UNLINK and ` +
      `SCAN (ACL SETUSER <user> +get +mget +evalsha +eval +unlink +scan)`
    );
  }
  return "the Redis user may not access the cache's keys; grant its key prefixes (ACL SETUSER <user> ~<keyPrefix>:* ~<keyPrefix>#:*)";
}

/**
 * The library's error for a failed Redis `operation`: a refusal, a permission, another error reply,
 * or an outage (anything that is not a reply). A key that holds another Redis type (`WRONGTYPE`, say
 * a hash another program left) is damaged bytes: `E_DECODE`, and the caller replaces it.
 */
export function describeRedisFailure(operation: string, cause: unknown): MemoizeError {
  if (cause instanceof StoreError) return cause;
  const text = messageOf(cause);
  if (WRONG_TYPE.test(text)) {
    return new SerializationError('E_DECODE', 'cache-memoize: the key holds another Redis type', { cause });
  }
  if (NO_PERMISSION.test(text)) {
    return new StoreError(
      'E_NO_PERMISSION',
      `cache-memoize: store ${operation} failed: ${permissionAdvice(text)}: ${text}`,
      { cause },
    );
  }
  let code: StoreErrorCode = 'E_UNAVAILABLE';
  if (REFUSAL.test(text)) code = 'E_WRITE_REFUSED';
  else if (ERROR_REPLY.test(text) && !NOT_SERVING.test(text)) code = 'E_COMMAND_ERROR';
  return new StoreError(code, `cache-memoize: store ${operation} failed: ${text}`, { cause });
}

/** Whether the server said that it does not know a command (before 6.2: `CLIENT TRACKINGINFO`). */
export function isUnknownCommand(cause: unknown): boolean {
  return /^ERR unknown (sub)?command/i.test(messageOf(cause));
}

/** Whether the server refused a command by ACL (`NOPERM`). */
export function isNoPermission(cause: unknown): boolean {
  return NO_PERMISSION.test(messageOf(cause));
}

/**
 * Whether a cluster answered `TRYAGAIN`: the keys of one command sit in a slot being migrated, some
 * moved and some not yet; the same command succeeds once the migration of those keys is done.
 */
export function isTryAgain(cause: unknown): boolean {
  return /^TRYAGAIN\b/.test(messageOf(cause));
}

/** Whether a script call failed because the server does not have the script cached yet. */
export function isNoScript(cause: unknown): boolean {
  return cause instanceof Error && cause.message.startsWith('NOSCRIPT');
}

/** The text of a bulk-string reply, whatever the client's type mapping made of it. */
export function replyText(reply: unknown): string {
  return typeof reply === 'string' ? reply : Buffer.isBuffer(reply) ? reply.toString() : String(reply);
}
