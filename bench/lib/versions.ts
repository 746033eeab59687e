import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const BENCH = join(__dirname, '..');
// The peers are installed in bench/ (bench/package.json); the Redis clients and the library's own
// dependencies in the root install. Look where Node's resolution from a bench file would find them.
const INSTALLS = [join(BENCH, 'node_modules'), join(BENCH, '..', 'node_modules')];

function installedVersion(name: string): string | undefined {
  for (const install of INSTALLS) {
    try {
      return (JSON.parse(readFileSync(join(install, name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {}
  }
  return undefined;
}

/** `name version` of each package, as a bench file would import it (`?` when absent). */
export function packageVersions(names: readonly string[]): string {
  return names.map((name) => `${name} ${installedVersion(name) ?? '?'}`).join(', ');
}
