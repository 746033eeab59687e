// The public entry of value envelopes: each function's result is stored as one, and read back.

export { type Decoded, decode } from './envelope/decode';
export { encode } from './envelope/encode';
export { type Freshness, stamp } from './envelope/format';
export { MAX_VALUE_DEPTH } from './envelope/value-errors';
