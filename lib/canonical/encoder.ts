/**
 * The canonical text encoder, as the modules it calls back (instance keying) receive it: handed in
 * by the encoder rather than imported, so that no module imports the one that imports it.
 */
export interface CanonicalEncoder {
  /** The text of any value; a {@link KeyError} for what cannot be part of a key. */
  value(value: unknown, stack: object[]): string;
  /** The text of an object, its cycle and depth checks included. */
  object(value: object, stack: object[]): string;
  /** The text of a string. */
  string(value: string): string;
}
