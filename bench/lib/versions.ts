import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** `name version` of each package, as installed in this checkout's node_modules (`?` when absent). */
export function packageVersions(names: readonly string[]): string {
  return names
    .map((name) => {
      try {
        const file = join(__dirname, '..', '..', 'node_modules', name, 'package.json');
        return `${name} ${(JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version}`;
      } catch {
        return `${name} ?`;
      }
    })
    .join(', ');
}
