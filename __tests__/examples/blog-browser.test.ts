import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { type Db, openDatabase } from '../../examples/blog/database';
import { createPostRepository, type Post, type PostRepository } from '../../examples/blog/posts';
import { seedIfEmpty } from '../../examples/blog/seed';
import { type RedisServer, spawnRedis } from '../helpers/redis-server';
import {
  cacheHit,
  exited,
  fromEveryWorker,
  type RunningCluster,
  startCluster,
  unexpectedStderr,
} from './blog-cluster-helpers';

// The running cluster example, driven through its pages in Debian's headless chromium.
const WORKERS = 3;
// Enough posts for popular and rare keywords, few enough to seed in well under a second.
const POSTS = 2000;
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(__dirname, '..', '..', 'artifacts', 'blog-post-page.png');

let dataDir: string;
let profileDir: string;
let db: Db;
let posts: PostRepository;
let redis: RedisServer;
let cluster: RunningCluster;
let profile: BrowserContext;
let browser: Browser;
let base: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'blog-browser-'));
  db = openDatabase(dataDir);
  seedIfEmpty(db, POSTS);
  posts = createPostRepository(db);
  redis = await spawnRedis();
  cluster = await startCluster(
    { WORKERS: String(WORKERS), REDIS_URL: redis.url, DATA_DIR: dataDir, KEY_PREFIX: 'blog-browser' },
    `${WORKERS} workers listening`,
  );
  base = `http://127.0.0.1:${cluster.port}`;
  profileDir = mkdtempSync(join(tmpdir(), 'blog-browser-profile-'));
  profile = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
    ],
  });
  const launched = profile.browser();
  if (launched === null) throw new Error('chromium started without a browser object');
  browser = launched;
}, 60_000);

afterAll(async () => {
  await profile?.close();
  await cluster?.kill();
  await redis?.stop();
  db?.close();
  for (const dir of [dataDir, profileDir]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** What a post page shows: its keywords, its related posts, and the footer's worker and cache outcome. */
interface PostView {
  keywords: string[];
  related: string[];
  worker: string;
  cache: string;
  footer: string;
}

async function read(page: Page): Promise<PostView> {
  const footer = page.locator('footer.served');
  const slugs = await page
    .locator('ol.related a')
    .evaluateAll((links) => links.map((link) => link.getAttribute('href') ?? ''));
  const keywords = await page
    .locator('.keywords input[name=keyword]')
    .evaluateAll((inputs) => inputs.map((input) => input.getAttribute('value') ?? ''));
  return {
    keywords,
    related: slugs.map((href) => decodeURIComponent(href.slice('/posts/'.length))),
    worker: (await footer.getAttribute('data-worker')) ?? '',
    cache: (await footer.getAttribute('data-cache')) ?? '',
    footer: ((await footer.textContent()) ?? '').replace(/\s+/g, ' ').trim(),
  };
}

/** Opens `post` in `page` and reads it. */
async function open(page: Page, post: Post): Promise<PostView> {
  await page.goto(`${base}${href(post)}`);
  return read(page);
}

/**
 * A page in a new browser context, whose connections a worker other than `worker` serves: the
 * cluster's primary hands each new connection to the next worker, and a context has connections of
 * its own. Returns the page and every view of `post` it took, the last one from another worker.
 */
async function pageElsewhere(post: Post, worker: string): Promise<{ page: Page; views: PostView[] }> {
  const views: PostView[] = [];
  for (let attempt = 0; attempt < 4 * WORKERS; attempt++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    views.push(await open(page, post));
    if (views.at(-1)?.worker !== worker) return { page, views };
    await context.close();
  }
  throw new Error(`only worker ${worker} served ${post.slug}`);
}

const href = (post: Post) => `/posts/${encodeURIComponent(post.slug)}`;
const related = (post: Post) => posts.related(post.id).posts.map((p) => p.slug);

/** `post` as the database holds it now. */
function fresh(post: Post): Post {
  const now = posts.getBySlug(post.slug);
  if (now === undefined) throw new Error(`post ${post.slug} is gone`);
  return now;
}

/** The newest post, other than `except`, that `test` accepts. */
function newest(test: (post: Post) => boolean, ...except: Post[]): Post {
  for (let offset = 0; offset < POSTS; offset += 100) {
    for (const summary of posts.list(offset, 100)) {
      const post = posts.getBySlug(summary.slug) as Post;
      if (!except.some((e) => e.id === post.id) && test(post)) return post;
    }
  }
  throw new Error('no such post in the seed');
}

/**
 * Requests `post` through the shared port until every worker has served it from its local tier,
 * so that each worker holds its list in memory, with no round trip to Redis.
 */
async function holdInEveryWorker(post: Post): Promise<void> {
  const local = new Set<string>();
  for (let round = 0; round < 10 && local.size < WORKERS; round++) {
    for (const [worker, replies] of await fromEveryWorker(cluster, href(post), WORKERS)) {
      for (const reply of replies) expect(cacheHit(reply) || reply.headers['x-cache'] === 'miss').toBe(true);
      if (replies.some((reply) => reply.headers['x-cache'] === 'local')) local.add(worker);
    }
  }
  expect(local.size).toBe(WORKERS);
}

it('an edit through the form reaches the lists sharing a keyword in every worker, and no other list', async () => {
  // A is the newest post, so it heads the related list of every post sharing a keyword with it.
  const a = newest(() => true);
  const shares = (post: Post, keywords: readonly string[]) => post.keywords.some((k) => keywords.includes(k));
  // B shares no keyword with A; the edit gives A the rarest of B's.
  const b = newest((post) => !shares(post, a.keywords), a);
  const keyword = [...b.keywords].sort((x, y) => posts.countCarrying([x]) - posts.countCarrying([y]))[0] as string;
  // D has A in its list through A's old keywords; C shares no keyword with A, old or new.
  const d = newest((post) => shares(post, a.keywords) && !post.keywords.includes(keyword), a);
  const c = newest((post) => !shares(post, [...a.keywords, keyword]) && related(post).length > 0, a, b);
  expect(related(d)[0]).toBe(a.slug);
  expect(related(b)).not.toContain(a.slug);

  // Open A from the index, in the browser.
  const page = await profile.newPage();
  await page.goto(base);
  await page
    .locator(`a[href="${href(a)}"]`)
    .first()
    .click();
  await page.waitForURL(`${base}${href(a)}`);
  const opened = await read(page);
  expect(opened.keywords).toEqual(a.keywords);
  expect(opened.related).toEqual(related(a));
  expect(opened.cache).toBe('miss');
  expect(opened.footer).toMatch(
    new RegExp(
      `^Served by worker ${opened.worker} · related posts: cache miss \\(the query ran\\) in \\d+\\.\\d\\d ms`,
    ),
  );
  expect(opened.footer).toMatch(/This worker so far: \d+ local hits?, \d+ Redis hits?, \d+ miss(es)?$/);

  // The lists of B, C and D as they are before the edit, held in every worker's local tier.
  for (const post of [b, c, d]) await holdInEveryWorker(post);

  // Edit A's keywords through the form: the save redirects to A, whose list is hot again.
  await page.getByRole('link', { name: 'edit', exact: true }).click();
  await page.getByLabel('Keywords').fill(keyword);
  await Promise.all([page.waitForURL(`${base}${href(a)}`), page.getByRole('button', { name: 'Save' }).click()]);
  const edited = await read(page);
  expect(edited.keywords).toEqual([keyword]);
  expect(edited.related).toEqual(related(fresh(a)));
  expect(edited.related).toContain(b.slug);
  expect(edited.cache).toMatch(/^(hit|local)$/);
  rmSync(SCREENSHOT, { force: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  expect(statSync(SCREENSHOT).size).toBeGreaterThan(0);

  // B now shares a keyword with A: a worker other than the one that served A shows A in B's list.
  const elsewhere = await pageElsewhere(b, edited.worker);
  const shownB = elsewhere.views.at(-1) as PostView;
  expect(shownB.worker).not.toBe(edited.worker);
  for (const shown of elsewhere.views) expect(shown.related).toEqual(related(b));
  expect(shownB.related[0]).toBe(a.slug);
  expect(elsewhere.views[0]?.cache).toBe('miss');

  // D lost A, which no longer carries D's keywords.
  const shownD = await open(elsewhere.page, d);
  expect(shownD.related).not.toContain(a.slug);
  expect(shownD.related).toEqual(related(d));
  expect(shownD.cache).toBe('miss');

  // C shares no keyword with A, old or new: its list was not invalidated.
  const shownC = await open(elsewhere.page, c);
  expect(shownC.related).toEqual(related(c));
  expect(shownC.cache).toMatch(/^(hit|local)$/);
  await elsewhere.page.context().close();
  await page.close();
}, 60_000);

it('shuts down cleanly', async () => {
  const before = cluster.stderr().length;
  process.kill(-(cluster.child.pid as number), 'SIGTERM');
  expect(await exited(cluster.child)).toBe(0);
  expect(cluster.stderr().slice(before)).toBe('');
  expect(unexpectedStderr(cluster.stderr())).toEqual([]);
});
