// The envelope format, as the encoder writes it and the decoder reads it. An envelope starts with a
// header (library tag, format version, body kind); anything else in the store is a miss.

/** Header of a body that is plain JSON and decodes with JSON.parse alone (the fast path). */
export const PLAIN = 'cm1J';
/** Header of a body that is JSON whose `{"$":[tag, ...]}` objects stand for non-JSON values. */
export const TAGGED = 'cm1T';
/** Header of a thrown error (`cacheErrors`): a JSON array `[name, message, code?]`. */
export const ERROR = 'cm1E';
/** Header of `cm1X<freshUntil>,<computeMs>:` in base 36, then a {@link PLAIN}, {@link TAGGED} or {@link ERROR} envelope. */
export const TIMED = 'cm1X';
/** Length of every header. */
export const HEADER_LENGTH = 4;
/** The key of the objects that stand for non-JSON values in a {@link TAGGED} body. */
export const TAG = '$';
/**
 * The end mark of a top-level number. A bare number is the one JSON body whose truncation is another
 * valid body ('123' cut to '12'): JSON.parse skips the newline, and any cut removes it.
 */
export const NUMBER_END = '\n';

// BigInt parsing from decimal is superlinear in V8 (8 million digits take seconds), from hex it is
// linear. Small BigInts stay decimal, which every version reads; larger ones are written in hex.

/** Hex digits up to which a BigInt is written in decimal: 1024 bits, at most 309 decimal digits. */
export const DECIMAL_BIGINT_HEX_DIGITS = 256;
/** Decimal digits the decoder accepts in a BigInt: a few microseconds to parse. */
export const MAX_DECIMAL_BIGINT_DIGITS = 1024;
/** A BigInt written in decimal. */
export const DECIMAL_BIGINT = /^-?(0|[1-9][0-9]*)$/;

/** When a timed entry stops being fresh, and how long its value took to compute. */
export interface Freshness {
  /** Epoch milliseconds (the writer's clock) after which the value is stale. */
  freshUntil: number;
  /** How long the function took, in milliseconds (for early refresh). */
  computeMs: number;
}

/** Wraps an encoded value with its freshness, for stale-while-revalidate and early refresh. */
export function stamp(encoded: string, freshness: Freshness): string {
  const { freshUntil, computeMs } = freshness;
  return `${TIMED}${Math.round(freshUntil).toString(36)},${Math.max(0, Math.round(computeMs)).toString(36)}:${encoded}`;
}

const BASE36 = /^[0-9a-z]{1,12}$/;

// parseInt stops quietly at the first bad character; a damaged header must be a decode error instead.
function base36(digits: string): number {
  return BASE36.test(digits) ? Number.parseInt(digits, 36) : Number.NaN;
}

/** The freshness of a timed envelope and the envelope inside it, or `undefined` when its stamp is damaged. */
export function readStamp(text: string): (Freshness & { inner: string }) | undefined {
  const colon = text.indexOf(':', HEADER_LENGTH);
  const comma = text.indexOf(',', HEADER_LENGTH);
  const freshUntil = base36(text.slice(HEADER_LENGTH, comma));
  const computeMs = base36(text.slice(comma + 1, colon));
  const inner = text.slice(colon + 1);
  if (colon < 0 || comma < 0 || comma > colon || Number.isNaN(freshUntil) || Number.isNaN(computeMs)) {
    return undefined;
  }
  const header = inner.slice(0, HEADER_LENGTH);
  if (header !== PLAIN && header !== TAGGED && header !== ERROR) return undefined;
  return { freshUntil, computeMs, inner };
}
