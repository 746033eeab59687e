import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../helpers/redis';
import { type RedisServer, spawnRedis } from '../helpers/redis-server';

// The README's Quick start is examples/quick-start.ts: the test runs the file as a reader would
// (`npx tsx examples/quick-start.ts`) against a redis-server of its own, and checks that the README
// shows that file and what it prints.

const ROOT = join(__dirname, '..', '..');
const FILE = 'examples/quick-start.ts';
const RUN_MS = 45_000;

let redis: RedisServer;

beforeAll(async () => {
  redis = await spawnRedis();
});

afterAll(async () => {
  await redis?.stop();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the quick start in its own process, with the Redis URL in the variable it documents. */
function runQuickStart(url: string): Promise<Run> {
  // The application's REDIS_URL is never handed to it: only the quick start's own variable.
  const { REDIS_URL: _ignored, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', FILE], {
    cwd: ROOT,
    env: { ...env, CACHE_MEMOIZE_REDIS_URL: url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${FILE} did not exit within ${RUN_MS} ms; stdout:\n${stdout}\nstderr:\n${stderr}`));
    }, RUN_MS);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The body of the first fenced block of `language` after the heading `heading` in README.md. */
function readmeBlock(heading: string, language: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.indexOf(`\n${heading}\n`);
  if (section === -1) throw new Error(`README.md has no '${heading}' heading`);
  const open = readme.indexOf(`\n\`\`\`${language}\n`, section);
  if (open === -1) throw new Error(`README.md has no \`\`\`${language} block after '${heading}'`);
  const start = open + `\n\`\`\`${language}\n`.length;
  const end = readme.indexOf('\n```\n', start - 1);
  return readme.slice(start, end + 1);
}

const FIRST_RUN = [
  '  db: related posts of 42 (100 ms)',
  '  miss: getRelatedPosts(42) ran the function',
  'first call: [ 43, 44, 45 ]',
  '  hit: getRelatedPosts(42) came from Redis',
  'second call: [ 43, 44, 45 ]',
  '  db: related posts of 42 (100 ms)',
  '  miss: getRelatedPosts(42) ran the function',
  'after invalidate: [ 43, 44, 45 ]',
  '  db: related posts of 42 (100 ms)',
  '  miss: getRelatedPosts(42) ran the function',
  'refresh: [ 43, 44, 45 ]',
  '  hit: getRelatedPosts(42) came from Redis',
  'after refresh: [ 43, 44, 45 ]',
];

test(
  'runs as written: a miss, a hit, a miss after invalidate, a refresh, a hit; a second process starts with a hit',
  async () => {
    const first = await runQuickStart(redis.url);
    expect(first).toEqual({ code: 0, stdout: `${FIRST_RUN.join('\n')}\n`, stderr: '' });

    // Its entry is in the Redis it was given, so another process finds it.
    const client = await connect(redis.url);
    try {
      const keys = await client.keys('quick-start:getRelatedPosts:{*');
      expect(keys.length).toBeGreaterThan(0);
    } finally {
      await client.quit();
    }
    const second = await runQuickStart(redis.url);
    expect(second.code).toBe(0);
    expect(second.stdout.split('\n').slice(0, 2)).toEqual([
      '  hit: getRelatedPosts(42) came from Redis',
      'first call: [ 43, 44, 45 ]',
    ]);
  },
  2 * RUN_MS + 10_000,
);

test("the README's Quick start is the file, and shows what its first run prints", () => {
  expect(readmeBlock('## Quick start', 'ts')).toBe(readFileSync(join(ROOT, FILE), 'utf8'));
  expect(readmeBlock('## Quick start', 'text')).toBe(`${FIRST_RUN.join('\n')}\n`);
});
