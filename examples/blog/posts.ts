import type { Db } from './database';

/** What a list of posts shows. */
export interface PostSummary {
  id: number;
  slug: string;
  title: string;
  /** ISO 8601, UTC. */
  publishedAt: string;
}

/** A whole post. */
export interface Post extends PostSummary {
  body: string;
  /** Sorted. */
  keywords: string[];
}

/** A post's related posts, with the keywords of the post they were found from. */
export interface RelatedList {
  /** The post's keywords when the list was read, sorted. */
  keywords: string[];
  /** The ten newest other posts sharing at least one of them, newest first. */
  posts: PostSummary[];
}

/** The blog's data access: the only module that knows SQL. */
export interface PostRepository {
  getBySlug(slug: string): Post | undefined;
  /** Newest first. */
  list(offset: number, limit: number): PostSummary[];
  count(): number;
  /**
   * Replaces the title and the whole keyword set, in one write transaction.
   * @returns the keywords it replaced, sorted
   */
  update(id: number, changes: { title: string; keywords: readonly string[] }): string[];
  /** @returns whether the post had the keyword */
  removeKeyword(id: number, keyword: string): boolean;
  /**
   * How many posts carry at least one of `keywords`: the related lists that invalidating their tags
   * reaches, when every list is cached.
   */
  countCarrying(keywords: readonly string[]): number;
  /**
   * The ten newest other posts sharing at least one keyword with post `id`, and the keywords they
   * were found from, read in one transaction: the expensive query worth caching.
   */
  related(id: number): RelatedList;
}

const SUMMARY = 'p.id, p.slug, p.title, p.published_at AS publishedAt';

/** A {@link PostRepository} over an open database, with its statements prepared once. */
export function createPostRepository(db: Db): PostRepository {
  const bySlug = db.prepare(`SELECT ${SUMMARY}, p.body FROM posts p WHERE p.slug = ?`);
  const keywordsOf = db.prepare('SELECT keyword FROM post_keywords WHERE post_id = ? ORDER BY keyword').pluck();
  const page = db.prepare(`SELECT ${SUMMARY} FROM posts p ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?`);
  const count = db.prepare('SELECT COUNT(*) FROM posts').pluck();
  const setTitle = db.prepare('UPDATE posts SET title = ? WHERE id = ?');
  const clearKeywords = db.prepare('DELETE FROM post_keywords WHERE post_id = ?');
  const addKeyword = db.prepare('INSERT INTO post_keywords (post_id, keyword) VALUES (?, ?)');
  const deleteKeyword = db.prepare('DELETE FROM post_keywords WHERE post_id = ? AND keyword = ?');
  const carrying = db
    .prepare('SELECT COUNT(DISTINCT post_id) FROM post_keywords WHERE keyword IN (SELECT value FROM json_each(?))')
    .pluck();
  // The shape an ORM emits for "keywords overlap": join the post's keywords to every post carrying
  // one of them, deduplicate, sort. Its cost grows with how popular the post's keywords are.
  const relatedPosts = db.prepare(`
    SELECT DISTINCT ${SUMMARY}
    FROM post_keywords mine
    JOIN post_keywords theirs ON theirs.keyword = mine.keyword AND theirs.post_id <> mine.post_id
    JOIN posts p ON p.id = theirs.post_id
    WHERE mine.post_id = ?
    ORDER BY p.published_at DESC, p.id DESC
    LIMIT 10`);

  const replace = db.transaction((id: number, title: string, keywords: readonly string[]) => {
    const replaced = keywordsOf.all(id) as string[];
    setTitle.run(title, id);
    clearKeywords.run(id);
    for (const keyword of keywords) addKeyword.run(id, keyword);
    return replaced;
  });
  // One snapshot: a list cached with keywords it was not found from would escape the invalidation
  // of an edit that replaces them.
  const related = db.transaction(
    (id: number): RelatedList => ({
      keywords: keywordsOf.all(id) as string[],
      posts: relatedPosts.all(id) as PostSummary[],
    }),
  );

  return {
    getBySlug(slug) {
      const row = bySlug.get(slug) as Omit<Post, 'keywords'> | undefined;
      return row && { ...row, keywords: keywordsOf.all(row.id) as string[] };
    },
    list: (offset, limit) => page.all(limit, offset) as PostSummary[],
    count: () => count.get() as number,
    // Immediate: the keywords it returns are the ones its write replaced, even if another worker
    // edited the post since this one loaded it.
    update: (id, { title, keywords }) => replace.immediate(id, title, keywords),
    removeKeyword: (id, keyword) => deleteKeyword.run(id, keyword).changes > 0,
    countCarrying: (keywords) => carrying.get(JSON.stringify(keywords)) as number,
    related: (id) => related(id),
  };
}
