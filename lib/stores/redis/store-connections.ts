import { Releases } from '../releases';
import type { StoreNeeds, Tracking, Waiting, WaitRequest } from '../store';
import type { Closable, RedisDriver, TrackingSource } from './driver';

/**
 * The connections a {@link RedisStore} opens of its own, and their lifetime: the release listener
 * (opened once some function takes locks, once the client is open), the local tier's tracking, and
 * the waits on lock releases they serve. All of them close with the store, and with the user's
 * client; a client connected again opens anew.
 */
export class StoreConnections {
  readonly #releases = new Releases();
  #subscriber: Closable | undefined;
  #tracking: TrackingSource | undefined;
  #stopListening: (() => void) | undefined;
  #stopWaitingForOpen: (() => void) | undefined;
  #closed = false;

  constructor(readonly driver: RedisDriver) {}

  /**
   * Waits for an announced release of the entry's lock, at most `ms`. Without a way to hear
   * releases, the wait simply times out and callers poll.
   */
  waitFor(request: WaitRequest): Waiting {
    const waiting = this.#releases.waitFor(request);
    const listening = this.driver.listenForRelease?.(request.key);
    if (listening !== undefined) {
      // Listening only from now: a release announced before is heard by checking again, once.
      listening.ready?.then(() => waiting.cancel());
      waiting.promise.then(listening.stop);
    }
    return waiting;
  }

  /** The tracking for the local tier, started on first use and again after its client ended. */
  tracking(): Tracking | undefined {
    if (this.#closed) return undefined;
    // A tracking that failed for good (no CLIENT permission, an old server) stays: it says why.
    const tracking = this.#tracking;
    if (tracking === undefined || (tracking.closed && tracking.failure === undefined)) {
      const tracking = this.driver.startTracking(() => {
        if (this.#tracking === tracking) this.#tracking = undefined;
      });
      this.#tracking = tracking;
      if (tracking !== undefined) this.#listenForClose();
    }
    return this.#tracking;
  }

  /**
   * Opens the release listener as soon as some function takes locks, outside any call's deadline;
   * for a client not connected yet, once it connects (a client already closed gets none).
   */
  prepare(needs: StoreNeeds): void {
    if (!needs.locks || this.#subscriber !== undefined || this.#closed) return;
    if (!this.driver.isOpen()) {
      this.#stopWaitingForOpen ??= this.driver.onceOpen(() => {
        this.#stopWaitingForOpen = undefined;
        this.prepare(needs);
      });
      return;
    }
    this.#subscriber = this.driver.listenForReleases(this.#releases);
    this.#listenForClose();
  }

  /** The store closed: ends every connection, for good. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#stopWaitingForOpen?.();
    this.#stopWaitingForOpen = undefined;
    this.#closeConnections();
  }

  /** The user closed the client: close what hangs on it; a client connected again opens anew. */
  #closeConnections(): void {
    this.#stopListening?.();
    this.#stopListening = undefined;
    this.#subscriber?.close();
    this.#tracking?.close();
    this.#tracking = undefined;
    this.#subscriber = undefined;
  }

  #listenForClose(): void {
    this.#stopListening ??= this.driver.onClosed(() => this.#closeConnections());
  }
}
