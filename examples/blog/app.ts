import express, { type NextFunction, type Request, type Response } from 'express';
import { createMemoizer, MemoryStore, type RedisLike } from '../../lib';
import { readEditFields, readKeyword, validateEdit } from './edit-form';
import { serveMetrics } from './metrics';
import type { PostRepository } from './posts';
import { answerOf, createRelatedPosts, keywordTag, type RelatedPosts } from './related-posts';
import { type CounterClient, createStats } from './stats';
import { throttle } from './throttle';
import { editPage, indexPage, messagePage, postPage } from './views';

const PAGE_SIZE = 50;

/** What {@link createBlogApp} needs. */
export interface BlogAppOptions {
  posts: PostRepository;
  /**
   * A node-redis client, owned by the caller: the cache and the cluster-wide counters use it. It may
   * still be connecting or reconnecting (`createResilientClient`): pages are then served uncached.
   * Without one, the cache is an in-process `MemoryStore` (fine for one process only).
   */
  redis?: RedisLike & CounterClient;
  /**
   * First part of every Redis key of this app.
   * @default 'blog'
   */
  keyPrefix?: string;
  /**
   * Where cache failures are reported (at most one line per kind every 10 s); the pages are served
   * regardless.
   * @default console.warn
   */
  warn?: (message: string) => void;
}

/** An Express app plus its memoized function, for callers that write to the blog outside HTTP. */
export interface BlogApp {
  app: express.Express;
  related: RelatedPosts;
}

/**
 * Builds the blog: pages, the edit and remove-keyword forms, and `/stats`. Each call has its own
 * memoizer, so tests can build several apps in one process.
 */
export function createBlogApp(options: BlogAppOptions): BlogApp {
  const { posts, redis, keyPrefix = 'blog', warn = console.warn } = options;
  const store = redis === undefined ? 'memory' : 'redis';
  const stats = createStats({ client: redis, key: `${keyPrefix}:stats` });
  const report = throttle(warn);
  const memoize = createMemoizer({
    ...(redis === undefined ? { store: new MemoryStore() } : { client: redis }),
    keyPrefix,
    onHit: (event) => stats.record(answerOf('hit', event)),
    onMiss: (event) => stats.record(answerOf('miss', event)),
    onError: ({ error }) => report(error.code, `cache: ${error.code}: ${error.message}`),
  });
  const related = createRelatedPosts(posts, memoize, keyPrefix);
  const { getRelatedPosts } = related;

  const app = express();
  app.disable('x-powered-by');
  const form = express.urlencoded({ extended: false, limit: '16kb' });

  const findPost = (req: Request, res: Response) => {
    const post = posts.getBySlug(String(req.params.slug));
    if (post === undefined) res.status(404).send(messagePage('Not found', 'There is no post at this address.'));
    return post;
  };

  app.get('/', (req, res) => {
    const total = posts.count();
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const asked = Number.parseInt(String(req.query.page ?? '1'), 10);
    const page = Number.isSafeInteger(asked) ? Math.min(Math.max(asked, 1), pages) : 1;
    res.send(indexPage({ posts: posts.list((page - 1) * PAGE_SIZE, PAGE_SIZE), page, pages, total }));
  });

  app.get('/posts/:slug', async (req, res) => {
    const post = findPost(req, res);
    if (post === undefined) return;
    const lookup = await related.lookup(post.id, { bypassCache: req.query.nocache === '1' });
    res.set({ 'X-Worker': String(process.pid), 'X-Cache': lookup.outcome });
    res.send(postPage({ post, related: lookup, pid: process.pid, counts: stats.worker(), store }));
  });

  app.get('/posts/:slug/edit', (req, res) => {
    const post = findPost(req, res);
    if (post === undefined) return;
    res.send(editPage({ post, fields: { title: post.title, keywords: post.keywords.join(', ') } }));
  });

  app.post('/posts/:slug/edit', form, async (req, res) => {
    const post = findPost(req, res);
    if (post === undefined) return;
    const fields = readEditFields(req.body);
    const edit = validateEdit(fields);
    if (!edit.ok) {
      res.status(400).send(editPage({ post, fields, message: edit.message }));
      return;
    }
    const replaced = posts.update(post.id, edit);
    // The post can leave, enter or retitle only the related lists of posts sharing one of its old
    // or new keywords, and each list is tagged with its post's keywords: these tags reach exactly
    // those lists, its own included. Then refresh its own list, the page the editor is sent to.
    await memoize.invalidateTags([...new Set([...replaced, ...edit.keywords])].map(keywordTag));
    await getRelatedPosts.refresh(post.id);
    res.redirect(303, `/posts/${encodeURIComponent(post.slug)}`);
  });

  app.post('/posts/:slug/delete-keyword', form, async (req, res) => {
    const post = findPost(req, res);
    if (post === undefined) return;
    const keyword = readKeyword(req.body);
    if (keyword === '') {
      res.status(400).send(messagePage('Bad request', 'Say which keyword to remove.'));
      return;
    }
    if (posts.removeKeyword(post.id, keyword)) {
      // Without the keyword, this post can only leave the lists of posts that carry it: those lists
      // and its own, all tagged with it, are the only ones that can change. The next view of each
      // recomputes it.
      await memoize.invalidateTags([keywordTag(keyword)]);
    }
    res.redirect(303, `/posts/${encodeURIComponent(post.slug)}`);
  });

  app.get('/stats', async (_req, res) => {
    res.json(await stats.snapshot());
  });
  serveMetrics(app);

  app.use((_req, res) => {
    res.status(404).send(messagePage('Not found', 'There is nothing at this address.'));
  });

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    console.error(error);
    res.status(500).send(messagePage('Server error', 'Something went wrong; it has been logged.'));
  });

  return { app, related };
}
