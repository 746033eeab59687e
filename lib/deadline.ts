import { performance } from 'node:perf_hooks';

/** Something pending that must give up at `expiresAt` (a `performance.now()` time) unless settled first. */
export interface Timed {
  readonly expiresAt: number;
  /**
   * Set by whoever settles first: the operation itself (through {@link DeadlineQueue.settle}, so
   * the queue knows when nothing is left to watch), or the queue when the deadline passes.
   */
  settled: boolean;
  /** Called once by the queue when the deadline passed first; `settled` is already `true`. */
  expire(): void;
}

// A timer a little early by the clock's rounding must still expire what is due.
const SLACK_MS = 1;
// A timer this late (or half a deadline, if longer) says the event loop was blocked.
const BLOCKED_MS = 20;
const COMPACT_AFTER = 1024;

/**
 * Deadlines of one length, kept in the order they were set, so they also expire in that order.
 * One timer serves the whole queue and is armed only while something is pending: adding a deadline
 * costs an array push, not a `setTimeout` per operation, which matters on the hit path. When the
 * last pending item settles, the timer stops at once: a process whose calls are over (its client
 * closed) is not kept alive for up to a deadline more.
 */
export class DeadlineQueue {
  readonly #items: (Timed | undefined)[] = [];
  #head = 0;
  /** Items added and not settled yet. */
  #pending = 0;
  #timer: NodeJS.Timeout | undefined;
  /** When the armed timer should fire (a `performance.now()` time). */
  #due = 0;
  /** The last check found the event loop blocked and gave pending operations one more while. */
  #graced = false;

  constructor(
    /** The length of every deadline in this queue, in milliseconds. */
    readonly ms: number,
  ) {}

  /** The `expiresAt` for an operation starting now. */
  expiresAt(startedAt = performance.now()): number {
    return startedAt + this.ms;
  }

  /** Watches `item` until it settles or its deadline passes. Its `expiresAt` must come from this queue. */
  add(item: Timed): void {
    this.#dropSettled();
    this.#items.push(item);
    this.#pending++;
    if (this.#timer === undefined) this.#arm(this.ms);
  }

  /**
   * Settles `item`, which this queue watches and which is not settled yet: its operation answered
   * (or failed) before its deadline. Once no item is pending, the timer stops.
   */
  settle(item: Timed): void {
    item.settled = true;
    if (--this.#pending > 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#graced = false;
    this.#items.length = 0;
    this.#head = 0;
  }

  /** How many deadlines are being watched (settled ones may linger until the next check). */
  get size(): number {
    return this.#items.length - this.#head;
  }

  #dropSettled(): void {
    const items = this.#items;
    while (this.#head < items.length && (items[this.#head] as Timed).settled) items[this.#head++] = undefined;
    if (this.#head === items.length) {
      items.length = 0;
      this.#head = 0;
    } else if (this.#head > COMPACT_AFTER && this.#head * 2 > items.length) {
      items.splice(0, this.#head);
      this.#head = 0;
    }
  }

  // Ref'd on purpose: a store whose promise holds no handle of its own must still see its calls
  // fail open. The timer runs only while deadlines are pending.
  #arm(ms: number): void {
    const wait = Math.max(1, Math.ceil(ms));
    this.#due = performance.now() + wait;
    this.#timer = setTimeout(this.#check, wait);
  }

  // After the event loop was blocked, timers run before the poll phase reads replies that already
  // arrived; expiring then would time out a healthy store. The check phase comes after poll. And a
  // timer that fires a long while late means the process itself was blocked: commands queued before
  // it may not even have been written (a client writes a long pipeline over several turns of the
  // loop), so pending operations get one more while, as long as the block, up to one deadline.
  readonly #check = (): void => {
    const late = performance.now() - this.#due;
    if (!this.#graced && late > Math.max(BLOCKED_MS, this.ms / 2)) {
      this.#graced = true;
      this.#arm(Math.min(late, this.ms));
      return;
    }
    this.#graced = false;
    setImmediate(this.#expireDue);
  };

  readonly #expireDue = (): void => {
    // A timer armed since the check (the queue emptied, then an add) is replaced by the one below.
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = performance.now();
    const items = this.#items;
    while (this.#head < items.length) {
      const item = items[this.#head] as Timed;
      if (!item.settled && item.expiresAt - now > SLACK_MS) break;
      // Off the queue before expire() runs: it may add new deadlines to this queue.
      items[this.#head++] = undefined;
      if (!item.settled) {
        item.settled = true;
        this.#pending--;
        item.expire();
      }
    }
    this.#dropSettled();
    // expire() may have armed a timer for a later deadline; the head's may be sooner.
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const next = items[this.#head];
    // expire() ran callers' code synchronously: measure from now, not from the start of the check.
    if (next !== undefined) this.#arm(next.expiresAt - performance.now());
  };
}

const queues = new Map<number, DeadlineQueue>();

/** The process-wide queue for deadlines of `ms` milliseconds (functions with equal timeouts share one). */
export function deadlineQueue(ms: number): DeadlineQueue {
  let queue = queues.get(ms);
  if (queue === undefined) {
    queue = new DeadlineQueue(ms);
    queues.set(ms, queue);
  }
  return queue;
}
