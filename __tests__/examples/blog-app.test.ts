import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClientType } from 'redis';
import request from 'supertest';
import { createBlogApp } from '../../examples/blog/app';
import { type Db, openDatabase } from '../../examples/blog/database';
import { createPostRepository, type PostRepository, type PostSummary } from '../../examples/blog/posts';
import { seedIfEmpty } from '../../examples/blog/seed';
import { createResilientClient } from '../../lib';
import { connect, uniquePrefix } from '../helpers/redis';
import { freePort, type RedisServer, spawnRedis } from '../helpers/redis-server';

let dataDir: string;
let db: Db;
let posts: PostRepository;
let redis: RedisClientType;
let server: RedisServer;
const prefixes: string[] = [];
let nextPost = 0;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'blog-app-'));
  db = openDatabase(dataDir);
  seedIfEmpty(db);
  posts = createPostRepository(db);
  // A redis-server of its own: tag invalidations by other test files move the shared server's tag
  // epoch, and a tagged write whose new tag key was made at a later epoch than its computation began
  // at is refused (by design), which would turn this file's expected hits into misses.
  server = await spawnRedis();
  redis = await connect(server.url);
});

afterAll(async () => {
  for (const prefix of prefixes) {
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await redis.unlink(keys);
    }
  }
  await redis.close();
  await server.stop();
  db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A fresh app (own key prefix) over the shared database and Redis. */
function blog(options: { redis?: RedisClientType | null } = {}) {
  const keyPrefix = uniquePrefix('blog');
  prefixes.push(keyPrefix);
  const warn = jest.fn();
  const client = options.redis === null ? undefined : (options.redis ?? redis);
  return { ...createBlogApp({ posts, redis: client, keyPrefix, warn }), warn };
}

/** A post no other test touches (tests edit the database they share). */
function freshPost(): PostSummary {
  const post = posts.list(100 + nextPost++, 1)[0];
  if (post === undefined) throw new Error('the seed has too few posts');
  return post;
}

const href = (post: PostSummary) => `/posts/${encodeURIComponent(post.slug)}`;
const relatedSlugs = (page: string) =>
  [...(/<ol class="related">(.*?)<\/ol>/s.exec(page)?.[1] ?? '').matchAll(/href="\/posts\/([^"]+)"/g)].map((m) =>
    decodeURIComponent(m[1] as string),
  );

describe('pages', () => {
  it('renders the index with links to posts, a page at a time', async () => {
    const { app } = blog();
    const first = await request(app).get('/').expect(200).expect('Content-Type', /html/);
    const newest = posts.list(0, 1)[0] as PostSummary;
    expect(first.text).toContain(`href="${href(newest)}"`);
    expect(first.text).toContain('20,000 posts');
    expect(first.text.match(/href="\/posts\//g)).toHaveLength(50);
    const second = await request(app).get('/?page=2').expect(200);
    expect(second.text).toContain(`href="${href(posts.list(50, 1)[0] as PostSummary)}"`);
    const junk = await request(app).get('/?page=abc').expect(200);
    expect(junk.text).toContain('Page 1 of 400');
  });

  it('renders a post with its related posts and a footer: miss, then a Redis hit, then local hits', async () => {
    const { app } = blog();
    const post = freshPost();
    const first = await request(app).get(href(post)).expect(200);
    expect(first.headers['x-cache']).toBe('miss');
    expect(first.text).toContain(`<h1>${post.title}</h1>`);
    const expected = posts.related(post.id).posts.map((p) => p.slug);
    expect(expected).toHaveLength(10);
    expect(relatedSlugs(first.text)).toEqual(expected);
    expect(first.text).toMatch(
      new RegExp(`Served by worker <strong>${process.pid}</strong> · related posts: <strong>cache miss`),
    );

    // The local tier keeps only values read from Redis: the second view is a Redis hit.
    const second = await request(app).get(href(post)).expect(200);
    expect(second.headers['x-cache']).toBe('hit');
    expect(second.text).toMatch(/related posts: <strong>cache hit<\/strong> in \d+\.\d\d ms/);
    expect(relatedSlugs(second.text)).toEqual(expected);

    // Then this process's local tier answers, once its tracking connection is up.
    let views = 2;
    let page = second;
    while (page.headers['x-cache'] !== 'local' && views < 20) {
      page = await request(app).get(href(post)).expect(200);
      views++;
      expect(page.headers['x-cache']).toMatch(/^(hit|local)$/);
    }
    expect(page.text).toMatch(/related posts: <strong>local hit<\/strong> in \d+\.\d\d ms/);
    const redisHits = `${views - 2} Redis hit${views - 2 === 1 ? '' : 's'}`;
    expect(page.text).toContain(`This worker so far: <span class="counts">1 local hit, ${redisHits}, 1 miss</span>`);
    expect(relatedSlugs(page.text)).toEqual(expected);
  });

  it('bypasses the cache with ?nocache=1, without counting it', async () => {
    const { app } = blog();
    const post = freshPost();
    const page = await request(app)
      .get(`${href(post)}?nocache=1`)
      .expect(200);
    expect(page.headers['x-cache']).toBe('bypass');
    expect(relatedSlugs(page.text)).toEqual(posts.related(post.id).posts.map((p) => p.slug));
    const stats = await request(app).get('/stats').expect(200);
    expect(stats.body.worker).toEqual({ localHits: 0, hits: 0, misses: 0 });
  });

  it('reports this worker and the cluster-wide counts at /stats', async () => {
    const { app } = blog();
    const post = freshPost();
    const seen: Record<string, number> = { local: 0, hit: 0, miss: 0 };
    for (let i = 0; i < 6; i++) {
      const page = await request(app).get(href(post)).expect(200);
      const outcome = String(page.headers['x-cache']);
      seen[outcome] = (seen[outcome] ?? 0) + 1;
    }
    expect(seen.miss).toBe(1);
    const counts = { localHits: seen.local, hits: seen.hit, misses: seen.miss };
    const { body } = await request(app).get('/stats').expect(200).expect('Content-Type', /json/);
    expect(body).toEqual({ pid: process.pid, store: 'redis', worker: counts, cluster: counts });
  });

  it('answers 404 with a page for unknown posts and addresses', async () => {
    const { app } = blog();
    const missing = await request(app).get('/posts/no-such-post').expect(404).expect('Content-Type', /html/);
    expect(missing.text).toContain('Not found');
    await request(app).get('/posts/no-such-post/edit').expect(404);
    await request(app).post('/posts/no-such-post/edit').type('form').send({ title: 'x' }).expect(404);
    await request(app).post('/posts/no-such-post/delete-keyword').type('form').send({ keyword: 'x' }).expect(404);
    await request(app).get('/nowhere').expect(404);
  });
});

describe('editing', () => {
  function edit(app: Parameters<typeof request>[0], post: PostSummary, fields: object) {
    return request(app)
      .post(`${href(post)}/edit`)
      .type('form')
      .send(fields);
  }

  it('shows the edit form filled with the post', async () => {
    const { app } = blog();
    const post = freshPost();
    const keywords = posts.getBySlug(post.slug)?.keywords ?? [];
    const form = await request(app)
      .get(`${href(post)}/edit`)
      .expect(200);
    expect(form.text).toContain(`name="title" value="${post.title}"`);
    expect(form.text).toContain(`name="keywords" value="${keywords.join(', ')}"`);
  });

  it.each([
    ['an empty title', { title: '   ', keywords: 'redis' }, 'The title must not be empty.'],
    ['a missing title', { keywords: 'redis' }, 'The title must not be empty.'],
    [
      'more than 20 keywords',
      { title: 'Fine', keywords: Array.from({ length: 21 }, (_, i) => `k${i}`).join(',') },
      'At most 20 keywords, please (got 21).',
    ],
    [
      'a keyword over 32 characters',
      { title: 'Fine', keywords: `redis, ${'x'.repeat(33)}` },
      'longer than 32 characters',
    ],
  ])('rejects %s with 400, the form and the message, saving nothing', async (_, fields, message) => {
    const { app } = blog();
    const post = freshPost();
    const before = posts.getBySlug(post.slug);
    const response = await edit(app, post, fields).expect(400);
    expect(response.text).toContain(message);
    expect(response.text).toContain('<form method="post"');
    if ('keywords' in fields) expect(response.text).toContain(`name="keywords" value="${fields.keywords}"`);
    expect(posts.getBySlug(post.slug)).toEqual(before);
  });

  it('normalises keywords before saving them', async () => {
    const { app } = blog();
    const post = freshPost();
    await edit(app, post, { title: '  Tidy   title ', keywords: ' Node JS , REDIS,redis,, C++ ,Ünïcode_Tag' })
      .expect(303)
      .expect('Location', href(post));
    expect(posts.getBySlug(post.slug)).toMatchObject({
      title: 'Tidy title',
      keywords: ['c++', 'node-js', 'redis', 'ünïcode-tag'],
    });
  });

  it('saving returns the keywords the write replaced, the ones whose tags an edit invalidates', () => {
    const post = freshPost();
    const before = posts.getBySlug(post.slug)?.keywords;
    expect(posts.update(post.id, { title: post.title, keywords: ['replaced-first'] })).toEqual(before);
    // A second save replaces what the first wrote, whatever the page it came from showed.
    expect(posts.update(post.id, { title: post.title, keywords: ['replaced-second'] })).toEqual(['replaced-first']);
  });

  it('escapes everything it outputs: a <script> title shows as text', async () => {
    const { app } = blog();
    const post = freshPost();
    const title = '<script>alert("x")</script> & co';
    await edit(app, post, { title, keywords: 'escaping-test' }).expect(303);
    const page = await request(app).get(href(post)).expect(200);
    expect(page.text).not.toContain('<script>');
    expect(page.text).toContain('<h1>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co</h1>');
    const form = await request(app)
      .get(`${href(post)}/edit`)
      .expect(200);
    expect(form.text).toContain('value="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co"');
    const rejected = await edit(app, post, { title: '', keywords: '"><script>' }).expect(400);
    expect(rejected.text).toContain('value="&quot;&gt;&lt;script&gt;"');
  });

  it('after an edit, the post is hot with its new related list, other posts see the change, unrelated lists stay cached', async () => {
    const { app } = blog();
    const [a, b] = [freshPost(), freshPost()];
    const keywordsOf = (post: PostSummary) => posts.getBySlug(post.slug)?.keywords ?? [];
    const touched = new Set([...keywordsOf(a), ...keywordsOf(b), 'only-a-and-b']);
    let c = freshPost();
    while (keywordsOf(c).some((k) => touched.has(k))) c = freshPost();
    // Cache the three lists as they are now.
    for (const post of [a, b, c]) await request(app).get(href(post)).expect(200);

    await edit(app, b, { title: b.title, keywords: 'only-a-and-b' }).expect(303);
    await edit(app, a, { title: 'A, edited', keywords: 'Only A and B' }).expect(303);

    const pageA = await request(app).get(href(a)).expect(200);
    expect(pageA.headers['x-cache']).toBe('hit');
    expect(pageA.text).toContain('only-a-and-b ×');
    expect(relatedSlugs(pageA.text)).toEqual([b.slug]);
    // b's list was cached before a had the keyword: the edit of a must have dropped it.
    const pageB = await request(app).get(href(b)).expect(200);
    expect(relatedSlugs(pageB.text)).toEqual([a.slug]);
    expect(pageB.text).toContain('A, edited');
    // c shares no keyword with a or b, old or new: the edits' tags did not reach its list.
    const pageC = await request(app).get(href(c)).expect(200);
    expect(pageC.headers['x-cache']).toBe('hit');
  });
});

describe('removing a keyword', () => {
  it('invalidates the post and every post carrying the keyword, and nothing else', async () => {
    const { app } = blog();
    const [a, b, c] = [freshPost(), freshPost(), freshPost()];
    posts.update(a.id, { title: a.title, keywords: ['shared-ab'] });
    posts.update(b.id, { title: b.title, keywords: ['shared-ab'] });
    for (const post of [a, b, c]) await request(app).get(href(post)).expect(200);

    await request(app)
      .post(`${href(a)}/delete-keyword`)
      .type('form')
      .send({ keyword: 'Shared AB' })
      .expect(303)
      .expect('Location', href(a));

    const pageA = await request(app).get(href(a)).expect(200);
    expect(pageA.headers['x-cache']).toBe('miss');
    expect(pageA.text).not.toContain('shared-ab ×');
    expect(pageA.text).toContain('No other post shares a keyword with this one.');
    const pageB = await request(app).get(href(b)).expect(200);
    expect(pageB.headers['x-cache']).toBe('miss');
    expect(relatedSlugs(pageB.text)).toEqual([]);
    const pageC = await request(app).get(href(c)).expect(200);
    expect(pageC.headers['x-cache']).toBe('hit');
  });

  it('answers 400 without a keyword', async () => {
    const { app } = blog();
    const post = freshPost();
    await request(app)
      .post(`${href(post)}/delete-keyword`)
      .type('form')
      .send({ keyword: ' , ' })
      .expect(400);
  });
});

describe('without Redis', () => {
  it('caches in process with the MemoryStore', async () => {
    const { app } = blog({ redis: null });
    const post = freshPost();
    expect((await request(app).get(href(post))).headers['x-cache']).toBe('miss');
    expect((await request(app).get(href(post))).headers['x-cache']).toBe('hit');
    const third = await request(app).get(href(post));
    expect(third.headers['x-cache']).toBe('local');
    expect(third.text).toContain('This worker so far: <span class="counts">1 local hit, 1 store hit, 1 miss</span>');
    const counts = { localHits: 1, hits: 1, misses: 1 };
    const { body } = await request(app).get('/stats').expect(200);
    expect(body).toMatchObject({ store: 'memory', worker: counts, cluster: counts });
  });

  it('still serves pages when Redis fails, uncached, and says so through warn', async () => {
    // A client whose server is gone: it keeps reconnecting, and the cache is skipped meanwhile.
    const broken = createResilientClient(`redis://127.0.0.1:${await freePort()}`, { onConnectionError: () => {} });
    try {
      const { app, warn } = blog({ redis: broken });
      const post = freshPost();
      for (let i = 0; i < 2; i++) {
        const page = await request(app).get(href(post)).expect(200);
        expect(relatedSlugs(page.text)).toEqual(posts.related(post.id).posts.map((p) => p.slug));
      }
      // Both requests failed to read the cache; the second report is held back.
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^cache: E_UNAVAILABLE/));
      const { body } = await request(app).get('/stats').expect(200);
      expect(body).toMatchObject({ store: 'redis', worker: { localHits: 0, hits: 0, misses: 2 }, cluster: null });
    } finally {
      broken.destroy();
    }
  });
});
