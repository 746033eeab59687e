import type { Closable } from './driver';
import { type Announcement, BROADCAST, shardedReleaseChannel } from './scripts';

/** What hears each entry's releases on its own sharded channel. */
export interface ShardedListener extends Closable {
  listen(channel: string): { ready: Promise<void> | undefined; stop(): void };
}

/**
 * How a cluster's lock releases travel, for every client family: on the one broadcast channel until
 * the masters are known to speak sharded pub/sub, then on each entry's sharded channel, announced and
 * heard alike.
 */
export class ReleaseRouting {
  #sharded: ShardedListener | undefined;

  /**
   * Hears releases with `broadcast` now; once `speaks` says yes, with the listener `sharded()` opens
   * instead (`undefined`: stay on the broadcast channel).
   */
  follow(broadcast: Closable, speaks: Promise<boolean>, sharded: () => ShardedListener | undefined): Closable {
    let closed = false;
    speaks.then((yes) => {
      if (!yes || closed) return;
      const listener = sharded();
      if (listener === undefined) return;
      this.#sharded = listener;
      broadcast.close();
    });
    return {
      close: () => {
        closed = true;
        broadcast.close();
        this.#sharded?.close();
        this.#sharded = undefined;
      },
    };
  }

  /** How the release of the entry at `key` is announced. */
  announcement(key: string): Announcement {
    return this.#sharded === undefined ? BROADCAST : { command: 'SPUBLISH', channel: shardedReleaseChannel(key) };
  }

  /** Listens for the release of the entry at `key` on its sharded channel, once releases travel there. */
  listen(key: string): { ready: Promise<void> | undefined; stop(): void } | undefined {
    return this.#sharded?.listen(shardedReleaseChannel(key));
  }
}
