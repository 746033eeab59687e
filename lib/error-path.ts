const PATH_END_LENGTH = 60;

/** A path for an error message (`.a[0].b`), with the middle of a very deep one left out. */
export function shortPath(path: string): string {
  if (path.length <= 3 * PATH_END_LENGTH) return path;
  return `${path.slice(0, PATH_END_LENGTH)}…${path.slice(-PATH_END_LENGTH)}`;
}
