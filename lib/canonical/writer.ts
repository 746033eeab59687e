import { createHash, type Hash, hash as oneShotHash } from 'node:crypto';

// One-shot crypto.hash arrived in Node 20.12; it skips the Hash object and is about twice as fast.
const sha256: (data: string) => string =
  typeof oneShotHash === 'function'
    ? (data) => oneShotHash('sha256', data, 'base64url')
    : (data) => createHash('sha256').update(data).digest('base64url');

/** Strings (and byte texts) at least this long go to the digest as they are, never into the text. */
export const LONG_STRING = 4096;

/** Byte runs at least this long (their base64 would be {@link LONG_STRING} long) are keyed by their digest. */
export const LONG_BYTES = 3072;

/** SHA-256 (base64url) of raw bytes: 43 characters. */
export function bytesDigest(bytes: Uint8Array): string {
  return typeof oneShotHash === 'function'
    ? oneShotHash('sha256', bytes, 'base64url')
    : createHash('sha256').update(bytes).digest('base64url');
}

/** SHA-256 (base64url) of a string's UTF-16 code units (little-endian): 43 characters. */
export function utf16Digest(value: string): string {
  return createHash('sha256').update(value, 'utf16le').digest('base64url');
}

// Text held before it goes to the digest: enough that small argument lists are hashed in one call,
// little enough that a 100,000-element argument never becomes a rope the collector must keep alive.
const CHUNK = 32_768;

/**
 * Where the canonical text of an argument list is written. A streaming writer passes its text to
 * SHA-256 in chunks as it grows, and long strings directly, so a large argument costs its hash and
 * nothing more; the digest is the same as the digest of the whole text. A keeping writer holds all
 * of it: {@link KeyWriter.text} is then the whole canonical text.
 */
export class KeyWriter {
  /** The text written and not yet passed to the digest. */
  text = '';
  #hash: Hash | undefined;

  constructor(
    /** The objects being encoded around the current value, for the cycle and depth checks. */
    readonly stack: object[],
    /** Whether the text may go to the digest as it is written. */
    readonly streams: boolean,
  ) {}

  /** A keeping writer with the same stack: for one Map entry or Set member, sorted before it is written. */
  part(): KeyWriter {
    return new KeyWriter(this.stack, false);
  }

  /** Writes `tag`, the length of `body`, `:` and `body` (a well-formed string: no pair is split). */
  counted(tag: string, body: string): void {
    if (body.length < LONG_STRING || !this.streams) {
      this.text += `${tag}${body.length}:${body}`;
      return;
    }
    this.text += `${tag}${body.length}:`;
    this.#flush().update(body);
  }

  /** Passes the text to the digest once it has grown past a chunk; called between pieces only. */
  settle(): void {
    if (this.text.length >= CHUNK && this.streams) this.#flush();
  }

  /** Whether every piece written is still in {@link KeyWriter.text}. */
  get whole(): boolean {
    return this.#hash === undefined;
  }

  /** SHA-256 (base64url) of everything written: 43 characters. Ends the writer. */
  digest(): string {
    const hash = this.#hash;
    return hash === undefined ? sha256(this.text) : hash.update(this.text).digest('base64url');
  }

  #flush(): Hash {
    const hash = this.#hash ?? createHash('sha256');
    this.#hash = hash;
    hash.update(this.text);
    this.text = '';
    return hash;
  }
}
