/**
 * `npm run check:package`: tries the package as a new user would. It packs it (`npm pack`, which
 * builds), reads the tarball, installs it with `redis` into an empty folder and checks:
 *
 * - the tarball: LICENSE, README, the entry points, and a file behind every `sources` entry of every
 *   source map and declaration map;
 * - a CommonJS consumer (`require`) and an ESM consumer (named `import`s from the CommonJS build),
 *   each of `cache-memoize` and `cache-memoize/testing`, memoizing a function over a MemoryStore;
 * - that a stack trace through the library maps back to the shipped sources (`--enable-source-maps`);
 * - TypeScript consumers (`tsc --noEmit`, moduleResolution node16 and bundler) of the entry points
 *   and of the README's quick start, pasted as it stands;
 * - when redis-server is on PATH: the quick start run with `npx tsx`, as a CommonJS and as a
 *   `"type": "module"` project, against a redis-server this script starts.
 *
 * Installs with `--prefer-offline`, at the versions of this repository's lockfile, so a machine
 * that ran `npm ci` here installs from its npm cache. `CHECK_PACKAGE_KEEP=1` keeps the folder.
 */
import { type ChildProcess, execFileSync, execSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { freePort } from '../__tests__/helpers/redis-server';

const ROOT = join(__dirname, '..');
const QUICK_START = join(ROOT, 'examples', 'quick-start.ts');

/** Versions the consumer installs: the ones this repository's lockfile pins (already in the npm cache). */
function lockedVersion(name: string): string {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (version === undefined) throw new Error(`package-lock.json has no ${name}`);
  return version;
}

function run(command: string, cwd: string): string {
  return execSync(command, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function node(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(process.execPath, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`check:package: ${what}`);
}

function ok(what: string): void {
  console.log(`ok  ${what}`);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((file) => join(dir, file))
    .filter((file) => statSync(file).isFile());
}

/** Packs into `dir`; returns the tarball's path. */
function pack(dir: string): string {
  const [packed] = JSON.parse(run(`npm pack --json --pack-destination ${JSON.stringify(dir)}`, ROOT)) as {
    filename: string;
  }[];
  check(packed !== undefined, 'npm pack reported no tarball');
  return join(dir, packed.filename);
}

function checkTarball(tarball: string, dir: string): void {
  const unpacked = join(dir, 'unpacked');
  mkdirSync(unpacked);
  execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
  const pkg = join(unpacked, 'package');
  const files = filesUnder(pkg).map((file) => relative(pkg, file).split('\\').join('/'));
  for (const needed of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']) {
    check(files.includes(needed), `the tarball has no ${needed}`);
  }
  for (const needed of ['dist/testing/index.js', 'dist/testing/index.d.ts', 'lib/index.ts']) {
    check(files.includes(needed), `the tarball has no ${needed}`);
  }
  const stray = files.filter(
    (file) => !/^(dist|lib)\//.test(file) && !['LICENSE', 'README.md', 'package.json'].includes(file),
  );
  check(stray.length === 0, `the tarball holds files outside dist/ and lib/: ${stray.join(', ')}`);
  const license = readFileSync(join(pkg, 'LICENSE'), 'utf8');
  check(
    /^MIT License/.test(license) && license.includes('cache-memoize contributors'),
    'LICENSE is not the MIT license',
  );
  const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as Record<string, unknown>;
  check(manifest.license === 'MIT', 'package.json license is not MIT');
  check(typeof manifest.repository === 'object' && manifest.repository !== null, 'package.json has no repository');

  // Every output names its map, and every source a map names is in the tarball.
  const outputs = files.filter((file) => file.startsWith('dist/') && /\.(js|d\.ts)$/.test(file));
  for (const output of outputs) {
    check(files.includes(`${output}.map`), `${output} has no map`);
    const text = readFileSync(join(pkg, output), 'utf8');
    check(text.includes(`sourceMappingURL=${output.split('/').pop()}.map`), `${output} does not name its map`);
    const map = JSON.parse(readFileSync(join(pkg, `${output}.map`), 'utf8')) as { sources: string[] };
    for (const source of map.sources) {
      const target = relative(pkg, join(dirname(join(pkg, output)), source))
        .split('\\')
        .join('/');
      check(files.includes(target), `${output}.map names ${source}, which is not in the tarball`);
    }
  }
  const js = outputs.filter((file) => file.endsWith('.js')).length;
  ok(
    `tarball: ${files.length} files; LICENSE, repository; ${js} source maps and ${outputs.length - js} declaration maps resolve to lib/`,
  );
}

const CONSUMER_CODE = `
const cm = require('cache-memoize');
const { storeContract } = require('cache-memoize/testing');
const assert = require('node:assert');
for (const name of ['memoize', 'configure', 'createMemoizer', 'MemoryStore', 'RedisStore', 'createResilientClient',
  'reconnectForever', 'RESILIENT_DEFAULTS', 'MemoizeError', 'StoreError', 'SerializationError']) {
  assert.ok(cm[name] !== undefined, name + ' is not exported');
}
assert.equal(typeof storeContract, 'function');
`;

const MEMOIZE_CHECK = `
const memoizer = createMemoizer({ store: new MemoryStore() });
let runs = 0;
const double = memoizer(async function double(x) { runs++; return x * 2; });
assert.equal(await double(21), 42);
assert.equal(await double(21), 42);
assert.equal(runs, 1, 'the second call was not a hit');
await double.invalidate(21);
assert.equal(await double(21), 42);
assert.equal(runs, 2, 'invalidate did not drop the entry');
`;

function checkCommonJs(consumer: string): void {
  writeFileSync(
    join(consumer, 'consumer.cjs'),
    `${CONSUMER_CODE}
const { createMemoizer, MemoryStore } = cm;
(async () => {
${MEMOIZE_CHECK}
  console.log('commonjs');
})().catch((error) => { console.error(error); process.exitCode = 1; });
`,
  );
  check(node(['consumer.cjs'], consumer).trim() === 'commonjs', 'the CommonJS consumer failed');
  ok("CommonJS consumer: require('cache-memoize') and 'cache-memoize/testing'; miss, hit, invalidate");
}

function checkEsm(consumer: string): void {
  writeFileSync(
    join(consumer, 'consumer.mjs'),
    `import assert from 'node:assert';
import { configure, createMemoizer, memoize, MemoryStore, RedisStore, StoreError } from 'cache-memoize';
import everything from 'cache-memoize';
import { storeContract } from 'cache-memoize/testing';
assert.equal(typeof configure, 'function');
assert.equal(typeof memoize, 'function');
assert.equal(typeof RedisStore, 'function');
assert.equal(typeof StoreError, 'function');
assert.equal(everything.memoize, memoize);
assert.equal(typeof storeContract, 'function');
${MEMOIZE_CHECK}
console.log('esm');
`,
  );
  check(node(['consumer.mjs'], consumer).trim() === 'esm', 'the ESM consumer failed');
  ok(
    "ESM consumer: import { memoize, ... } from 'cache-memoize' (named exports of the CommonJS build) and 'cache-memoize/testing'",
  );
}

function checkSourceMaps(consumer: string): void {
  writeFileSync(
    join(consumer, 'stack.cjs'),
    `try { require('cache-memoize').createResilientClient(''); } catch (error) { console.log(error.stack); }\n`,
  );
  const stack = node(['--enable-source-maps', 'stack.cjs'], consumer);
  const frame = join('node_modules', 'cache-memoize', 'lib', 'stores', 'redis', 'resilient-client.ts');
  check(stack.includes(frame), `a stack through the library does not name ${frame}:\n${stack}`);
  ok(`source maps: a stack trace names ${frame}`);
}

const TS_CONSUMER = `import { createMemoizer, type Memoized, MemoryStore, memoize, type Store } from 'cache-memoize';
import { storeContract } from 'cache-memoize/testing';

const store: Store = new MemoryStore();
const sessions = createMemoizer({ store, ttl: '5m' });
export const double: Memoized<[number], number> = sessions(async function double(x: number) {
  return x * 2;
});
export const later: Promise<number> = double(21);
export const contract: typeof storeContract = storeContract;
// @ts-expect-error ttl is a number of seconds or a duration string such as '1h'
memoize(async function wrong(x: number) { return x; }, { ttl: '1 hour' });
`;

function checkTypeScript(consumer: string): void {
  const tsc = join(consumer, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const [label, resolution, module] of [
    ['node16', 'node16', 'node16'],
    ['bundler', 'bundler', 'esnext'],
  ] as const) {
    const dir = join(consumer, `ts-${label}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'consumer.ts'), TS_CONSUMER);
    cpSync(QUICK_START, join(dir, 'quick-start.ts'));
    if (label === 'node16') {
      // Under node16 a .mts file is an ES module: the same code, importing the CommonJS build.
      writeFileSync(join(dir, 'consumer.mts'), TS_CONSUMER);
    }
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022',
        module,
        moduleResolution: resolution,
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
      },
      include: ['*.ts', '*.mts'],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    try {
      node([tsc, '--noEmit', '-p', 'tsconfig.json'], dir);
    } catch (error) {
      throw new Error(`check:package: tsc (${label}) failed:\n${(error as { stdout?: string }).stdout ?? error}`);
    }
    ok(`TypeScript consumer, moduleResolution ${label}: the entry points and the README's quick start compile`);
  }
}

function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Whether a Redis answers PING on `port`. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(200, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

async function startRedis(): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const deadline = Date.now() + 5000;
  while (!(await answers(port))) {
    if (Date.now() > deadline) {
      server.kill();
      throw new Error('check:package: the redis-server it started does not answer');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url: `redis://127.0.0.1:${port}`, process: server };
}

async function checkQuickStart(consumer: string): Promise<void> {
  if (!hasRedisServer()) {
    console.log('--  quick start not run: redis-server is not on PATH');
    return;
  }
  const redis = await startRedis();
  try {
    for (const type of ['commonjs', 'module'] as const) {
      const dir = join(consumer, `quick-start-${type}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, type }));
      cpSync(QUICK_START, join(dir, 'quick-start.ts'));
      const { REDIS_URL: _ignored, ...rest } = process.env;
      const env = { ...rest, CACHE_MEMOIZE_REDIS_URL: redis.url };
      const tsx = join(consumer, 'node_modules', 'tsx', 'dist', 'cli.mjs');
      const output = node([tsx, 'quick-start.ts'], dir, env);
      check(output.includes('after refresh: [ 43, 44, 45 ]'), `the quick start (${type}) printed:\n${output}`);
      ok(`quick start, pasted into a "type": "${type}" project: npx tsx quick-start.ts runs`);
    }
  } finally {
    redis.process.kill();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'cache-memoize-package-'));
  let passed = false;
  try {
    const tarball = pack(dir);
    checkTarball(tarball, dir);

    const consumer = join(dir, 'consumer');
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    const deps = ['redis', 'typescript', '@types/node', 'tsx'].map((name) => `${name}@${lockedVersion(name)}`);
    run(`npm install --prefer-offline --no-audit --no-fund ${JSON.stringify(tarball)} ${deps.join(' ')}`, consumer);
    ok(`installed the tarball with ${deps.join(', ')} into an empty folder`);

    checkCommonJs(consumer);
    checkEsm(consumer);
    checkSourceMaps(consumer);
    checkTypeScript(consumer);
    await checkQuickStart(consumer);
    passed = true;
    console.log(`check:package passed in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    if (passed && process.env.CHECK_PACKAGE_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
    else console.log(`left in ${dir}`);
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
