import { TAG_EPOCH_KEY, tagKey } from '../../key';
import type { InvalidateTagsRequest, RoundTrip, TaggedValue, TagStamp } from '../store';
import { stampHolds, TAG_FLOOR_MS, validTagged } from '../tag-stamp';
import type { RedisDriver } from './driver';
import type { Script } from './scripts';
import { ENSURE_TAG, INCREMENT_EPOCH, INVALIDATE_TAGS, type RawTagged, SET_TAG } from './tag-scripts';

/** Runs a script on the slot of its first key (retrying while the slot migrates). */
export type RunScript = <Request, Result>(
  script: Script<Request, Result>,
  keys: string[],
  request: Request,
) => Promise<Result>;

function unbounded<T>(roundTrip: () => Promise<T>): Promise<T> {
  return roundTrip();
}

/**
 * The Redis store's tags: the tagged hit, the epoch, tag invalidation, and the tag keys a cluster
 * writer ensures before writing. On one server the entry scripts check stamps and ensure tag keys
 * themselves; on a cluster tag keys live in other slots, so each step is its own command here.
 */
export class RedisTags {
  constructor(
    readonly driver: RedisDriver,
    readonly run: RunScript,
    /** Whether all keys are on one server (not a cluster). */
    readonly oneServer: boolean,
  ) {}

  /**
   * A tagged entry read by {@link READ_TAGGED} as a valid value, or `undefined`: checked already on
   * one server; on a cluster its tag keys are read (in parallel, one round trip) and the rule applied.
   */
  async valid(raw: RawTagged | undefined): Promise<TaggedValue | undefined> {
    if (raw === undefined) return undefined;
    const epochsOf = (keys: readonly string[]) => Promise.all(keys.map((k) => this.driver.get(k)));
    return validTagged(raw.value, raw.stamp, this.oneServer ? undefined : epochsOf);
  }

  /** The current epoch (`'0'` before the first invalidation). */
  async epoch(): Promise<string> {
    return (await this.driver.get(TAG_EPOCH_KEY)) ?? '0';
  }

  /** One server: one atomic script. A cluster: the increment, then every tag key in parallel. */
  async invalidate({ tags, bound = unbounded }: InvalidateTagsRequest): Promise<void> {
    const keys = [...new Set(tags)].map(tagKey);
    if (keys.length === 0) return;
    if (this.oneServer) {
      await bound(() => this.run(INVALIDATE_TAGS, [TAG_EPOCH_KEY, ...keys], { floorMs: TAG_FLOOR_MS }));
      return;
    }
    const epoch = await bound(() => this.run(INCREMENT_EPOCH, [TAG_EPOCH_KEY], {}));
    await bound(() => Promise.all(keys.map((k) => this.run(SET_TAG, [k], { epoch, floorMs: TAG_FLOOR_MS }))));
  }

  /**
   * A cluster, before a tagged write: the epoch now (read after the computation), then each tag key
   * made to exist, created at that epoch if missing, and to live at least `ttlMs`. Resolves whether
   * the stamp still holds: if not, the write is refused as under a changed token.
   */
  async ensure(stamp: TagStamp, ttlMs: number, bound: RoundTrip = unbounded): Promise<boolean> {
    const epoch = await bound(() => this.epoch());
    const ensured = () => Promise.all(stamp.tags.map((t) => this.run(ENSURE_TAG, [tagKey(t)], { epoch, ttlMs })));
    const tagEpochs = await bound(ensured);
    return stampHolds({ epoch: Number(stamp.epoch), tagKeys: [] }, tagEpochs);
  }
}
