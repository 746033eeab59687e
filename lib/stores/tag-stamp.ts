import { stampKeyOf, tagKey, tagOfKey } from '../key';
import type { TaggedValue, TagStamp } from './store';

// A tagged entry's stamp as stored next to its value: JSON `[epoch, tagKey, ...]`. The scripts of the
// Redis store read the same text (cjson), so it names the tag keys themselves, not the tags.

/**
 * How long an invalidated tag's key lives at least. On a cluster a writer reads the epoch, then
 * creates its missing tag keys with it one round trip later; the invalidation's key must outlive
 * that window, which the deadline bounds far below this.
 */
export const TAG_FLOOR_MS = 10 * 60_000;

/** A stamp read back: the epoch its computation began at, and the keys of its tags. */
export interface ParsedStamp {
  readonly epoch: number;
  readonly tagKeys: readonly string[];
}

/** The stored text of `stamp`. */
export function encodeStamp(stamp: TagStamp): string {
  return JSON.stringify([stamp.epoch, ...stamp.tags.map(tagKey)]);
}

/** The stamp in `text`, or `undefined` for anything this version did not write (an invalid entry). */
export function parseStamp(text: string): ParsedStamp | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length === 0) return undefined;
  const epoch = Number(parsed[0]);
  const tagKeys = parsed.slice(1);
  if (!Number.isSafeInteger(epoch) || !tagKeys.every((k) => typeof k === 'string' && tagOfKey(k) !== undefined)) {
    return undefined;
  }
  return { epoch, tagKeys };
}

/** The tags of a parsed stamp. */
export function tagsOf(stamp: ParsedStamp): string[] {
  return stamp.tagKeys.map((k) => tagOfKey(k) as string);
}

/**
 * The validity rule: every tag key exists and holds an epoch no later than the stamp's. A missing
 * tag key (expired, evicted, flushed) makes the entry invalid: it costs a miss, never a stale value.
 */
export function stampHolds(stamp: ParsedStamp, tagEpochs: ReadonlyArray<string | null | undefined>): boolean {
  return tagEpochs.every((e) => e !== null && e !== undefined && Number(e) <= stamp.epoch);
}

/**
 * A tagged entry read with its stamp, as a value with its tags: when the stamp parses and, given
 * `epochsOf` (which reads the stamp's tag keys), {@link stampHolds}; else `undefined`.
 * Without `epochsOf` the stamp was checked already (a script on one server).
 */
export async function validTagged(
  value: string,
  stampText: string,
  epochsOf?: (tagKeys: readonly string[]) => Promise<ReadonlyArray<string | null | undefined>>,
): Promise<TaggedValue | undefined> {
  const stamp = parseStamp(stampText);
  if (stamp === undefined) return undefined;
  if (epochsOf !== undefined && !stampHolds(stamp, await epochsOf(stamp.tagKeys))) return undefined;
  return { value, tags: tagsOf(stamp) };
}

/**
 * A tagged entry read through `readKeys` (the reads a tracking makes on its connections, so that the
 * changes of every key read are pushed), and checked: the value, its stamp and `expected` (the tag
 * keys of a fixed tags list) in one round trip; the tag keys of a stamp that names others, in a
 * second. The reads need not be one snapshot (on a cluster the tag keys are read on their own
 * masters, in parallel with the value): every key is read through the tracking, so a change of any
 * of them after its read is pushed and refuses or evicts the value; a tag invalidated before its key
 * was read fails the stamp (its epoch is then newer than the stamp's).
 */
export async function readTaggedThrough(
  readKeys: (keys: string[]) => Promise<ReadonlyArray<string | null>>,
  key: string,
  expected: readonly string[] = [],
): Promise<TaggedValue | undefined> {
  const [value, stampText, ...epochs] = await readKeys([key, stampKeyOf(key), ...expected]);
  if (value === null || value === undefined || stampText === null || stampText === undefined) return undefined;
  return validTagged(value, stampText, async (tagKeys) => {
    if (tagKeys.length === 0) return [];
    const read = new Map(expected.map((k, i) => [k, epochs[i]]));
    if (tagKeys.every((k) => read.has(k))) return tagKeys.map((k) => read.get(k));
    return readKeys([...tagKeys]);
  });
}
