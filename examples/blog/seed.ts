import type { Db } from './database';

/** How many posts a fresh database gets. */
export const SEED_POSTS = 20_000;

// Ordered by popularity: keyword i is drawn with weight 1/(i+1), as tags are on real blogs.
const KEYWORDS = (
  'javascript typescript node.js python performance databases redis postgresql sqlite caching ' +
  'testing devops docker kubernetes security react css html web http api design architecture rust ' +
  'go linux git cloud aws observability logging monitoring concurrency async streams express ' +
  'graphql rest microservices serverless frontend backend tooling build bundlers webpack vite ' +
  'esbuild npm packaging ci refactoring debugging profiling memory networking tcp dns tls ' +
  'authentication oauth cryptography accessibility i18n mobile android ios swift kotlin java jvm ' +
  'scala c c++ wasm compilers parsers algorithms data-structures math statistics machine-learning ' +
  'data-engineering etl kafka queues search elasticsearch indexing sql nosql mongodb orm migrations ' +
  'schemas validation json yaml config cli terminal editors vim emacs vscode productivity career ' +
  'hiring interviews teams management open-source licensing documentation writing talks conferences ' +
  'books history unix shell bash awk regex unicode dates time-zones floating-point benchmarks ' +
  'load-testing scaling sharding replication consistency transactions locks distributed-systems ' +
  'consensus raft clocks retries timeouts rate-limiting backpressure error-handling resilience ' +
  'feature-flags deployments rollbacks incidents postmortems on-call sre capacity cost'
).split(' ');

const OPENERS = (
  'A gentle introduction to|What I learned from|Notes on|The hidden cost of|Rethinking|' +
  'A field guide to|Ten years of|Debugging|Why we moved away from|Getting started with|' +
  'Lessons from|The case for|Against|Inside|Measuring'
).split('|');
const SUBJECTS = (
  'caching|connection pools|schema changes|background jobs|feature flags|slow queries|' +
  'cold starts|retries|memory leaks|flaky tests|time zones|rate limits|error budgets|' +
  'code review|observability|legacy code|dependency upgrades|on-call rotations|small services|' +
  'big monoliths'
).split('|');
const CLOSERS = (
  'in production|at scale|the hard way|for small teams|on a budget|in practice|without tears|' +
  'revisited|in 2024|from first principles'
).split('|');
const WORDS = (
  'the a system request cache query server client latency throughput index table row key value ' +
  'worker process thread event loop callback promise error retry timeout deploy release test ' +
  'metric trace log user session page route handler module function result entry store memory ' +
  'disk network packet budget team review change bug fix feature design trade-off cost load'
).split(' ');

/** A small seeded PRNG (mulberry32): the same seed gives the same blog on every machine. */
function createRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function slugify(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** The fake content of one post, drawn from `random`. */
interface SeedPost {
  title: string;
  body: string;
  publishedAt: string;
  keywords: Set<string>;
}

function generatePost(random: () => number, cumulativeWeights: number[]): SeedPost {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const sentence = () => {
    const words = Array.from({ length: 8 + Math.floor(random() * 12) }, () => pick(WORDS));
    const text = words.join(' ');
    return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
  };
  const paragraph = () => Array.from({ length: 3 + Math.floor(random() * 4) }, sentence).join(' ');
  const total = cumulativeWeights.at(-1) as number;
  const keywords = new Set<string>();
  const count = 3 + Math.floor(random() * 5);
  while (keywords.size < count) {
    const r = random() * total;
    keywords.add(KEYWORDS[cumulativeWeights.findIndex((w) => r < w)] as string);
  }
  // Ten years of posts before a fixed date, so the seed does not depend on today.
  const publishedAt = new Date(Date.UTC(2025, 0, 1) - Math.floor(random() * 10 * 365 * 86_400_000));
  return {
    title: `${pick(OPENERS)} ${pick(SUBJECTS)} ${pick(CLOSERS)}`,
    body: Array.from({ length: 3 + Math.floor(random() * 3) }, paragraph).join('\n\n'),
    publishedAt: publishedAt.toISOString(),
    keywords,
  };
}

/**
 * Fills an empty database with {@link SEED_POSTS} generated posts (deterministic), in one
 * transaction. Does nothing if there are posts already.
 *
 * @returns how many posts were inserted
 */
export function seedIfEmpty(db: Db, count = SEED_POSTS): number {
  const { n } = db.prepare('SELECT COUNT(*) AS n FROM posts').get() as { n: number };
  if (n > 0) return 0;
  const random = createRandom(20_240_601);
  const cumulativeWeights: number[] = [];
  let sum = 0;
  for (let i = 0; i < KEYWORDS.length; i++) {
    sum += 1 / (i + 1);
    cumulativeWeights.push(sum);
  }
  const insertPost = db.prepare(
    'INSERT INTO posts (id, slug, title, body, published_at) VALUES (@id, @slug, @title, @body, @publishedAt)',
  );
  const insertKeyword = db.prepare('INSERT INTO post_keywords (post_id, keyword) VALUES (?, ?)');
  db.transaction(() => {
    for (let id = 1; id <= count; id++) {
      const { keywords, ...post } = generatePost(random, cumulativeWeights);
      insertPost.run({ id, slug: `${slugify(post.title)}-${id}`, ...post });
      for (const keyword of keywords) insertKeyword.run(id, keyword);
    }
  })();
  return count;
}
