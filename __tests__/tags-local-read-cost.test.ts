import { createClient, type RedisClientType } from 'redis';
import { TAG_KEY_PREFIX, tagKey } from '../lib/key';
import { createMemoizer } from '../lib/memoizer';
import { RedisStore } from '../lib/stores/redis/store';
import { type CountedServer, countedServer } from './helpers/command-stats';
import { listen } from './helpers/local';
import { until } from './helpers/redis';

// What the local tier of a tagged function costs to read an entry it may keep, on one node-redis
// server (reads mode: it reads on its tracking connection, so that the changes of every key it read
// are pushed to it), counted by the server itself on a server of this file's own. With a fixed tags
// list the value, its stamp and the tag keys are one MGET (one round trip, invariant 7); a stamp
// naming other tag keys than the list (a tags function, or an entry written under another list)
// takes a second. Either way, the invalidation of a tag read there evicts the value kept.

let counted: CountedServer;
let writer: RedisClientType;
beforeAll(async () => {
  counted = await countedServer();
  writer = (await createClient({ url: counted.server.url }).connect()) as RedisClientType;
});
afterAll(async () => {
  await writer?.quit();
  await counted?.close();
});

let n = 0;

type Tags = readonly string[] | ((result: { id: number }, id: number) => readonly string[]);

/** One process's `f`, with `local` or not, counting its runs and its local hits. */
function processWith(client: RedisClientType, keyPrefix: string, tags: Tags, local: boolean) {
  const seen = { runs: 0, localHits: 0 };
  const store = new RedisStore(client);
  const memoize = createMemoizer({ store, keyPrefix });
  const f = memoize(
    async (id: number) => {
      seen.runs++;
      return { id };
    },
    {
      name: 'f',
      local,
      tags: tags as readonly string[],
      onHit: (event) => {
        if (event.local === true) seen.localHits++;
      },
    },
  );
  return { store, memoize, f, seen };
}

/**
 * A reader with `local` and a writer without, sharing `f`'s entries; the reader's tracking is on
 * (its reads from now on may be kept), and entry 1 was written by the writer.
 */
async function setUp(readerTags: Tags, writerTags: Tags) {
  const keyPrefix = `read-cost-${++n}`;
  const reader = processWith(counted.client, keyPrefix, readerTags, true);
  const other = processWith(writer, keyPrefix, writerTags, false);
  await other.f(0);
  // A hit, so that the reader's first read starts its tier's tracking.
  await reader.f(0);
  const functionPrefix = reader.f.keyFor(0).slice(0, reader.f.keyFor(0).indexOf('{'));
  await until(() => reader.store.tracking()?.covers(functionPrefix) === true, 'tracking on');
  await other.f(1);
  return { reader, other };
}

/** Calls `f(1)` in the reader until it is not a local hit: the kept value was evicted. */
async function untilEvicted(reader: ReturnType<typeof processWith>): Promise<void> {
  await until(async () => {
    const before = reader.seen.localHits;
    await reader.f(1);
    return reader.seen.localHits === before;
  }, 'the kept value evicted');
}

test('with a fixed tags list, an entry the tier may keep is read in one round trip, and its tags are followed', async () => {
  const { reader, other } = await setUp(['a', 'b', 'c'], ['a', 'b', 'c']);
  expect(await counted.commandsDuring(() => reader.f(1))).toEqual({ mget: 1 });
  expect(reader.seen.runs).toBe(0);
  // Kept: the next call is answered here.
  expect(await counted.commandsDuring(() => reader.f(1))).toEqual({});
  expect(reader.seen.localHits).toBe(1);
  // Only the tag key changes: its push, heard because it was read in that one MGET, evicts.
  await other.memoize.invalidateTags(['c']);
  await untilEvicted(reader);
  expect(reader.seen.runs + other.seen.runs).toBe(3);
});

test('a tags function reads the tag keys its entry names in a second round trip', async () => {
  const tags = (_result: { id: number }, id: number) => [`t${id}`];
  const { reader, other } = await setUp(tags, tags);
  expect(await counted.commandsDuring(() => reader.f(1))).toEqual({ mget: 2 });
  expect(await counted.commandsDuring(() => reader.f(1))).toEqual({});
  await other.memoize.invalidateTags(['t1']);
  await untilEvicted(reader);
});

test('an entry whose stamp names other tags than the fixed list is checked against its own, and followed', async () => {
  // Another deployment's list for the same function: the entry carries x, not a.
  const { reader, other } = await setUp(['a'], ['x']);
  expect(await counted.commandsDuring(() => reader.f(1))).toEqual({ mget: 2 });
  expect(await counted.commandsDuring(() => reader.f(1))).toEqual({});
  // A change of a (read, not carried) does not evict it, once its push has arrived; a change of x does.
  const heard = listen(reader.store, TAG_KEY_PREFIX);
  await other.memoize.invalidateTags(['a']);
  await until(() => heard.heard.includes(tagKey('a')), 'the push of tag a');
  heard.stop();
  expect(await counted.commandsDuring(() => reader.f(1))).toEqual({});
  await other.memoize.invalidateTags(['x']);
  await untilEvicted(reader);
});

test('an entry whose tag was invalidated after it was written is a miss, read in one round trip', async () => {
  const { reader, other } = await setUp(['a', 'b'], ['a', 'b']);
  await other.memoize.invalidateTags(['b']);
  const runs = reader.seen.runs;
  expect(await counted.commandsDuring(() => reader.f(1))).toMatchObject({ mget: 1 });
  expect(reader.seen.runs).toBe(runs + 1);
});
