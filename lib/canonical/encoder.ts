import type { KeyWriter } from './writer';

/**
 * The canonical text encoder, as the modules it calls back (instance keying) receive it: handed in
 * by the encoder rather than imported, so that no module imports the one that imports it.
 */
export interface CanonicalEncoder {
  /** Writes the text of any value; a {@link KeyError} for what cannot be part of a key. */
  value(value: unknown, w: KeyWriter): void;
  /** Writes the text of an object, its cycle and depth checks included. */
  object(value: object, w: KeyWriter): void;
  /** Writes the text of a string. */
  string(value: string, w: KeyWriter): void;
}
