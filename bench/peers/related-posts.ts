/** One entry of the cached value. */
export interface RelatedPost {
  id: number;
  slug: string;
  title: string;
  publishedAt: string;
}

/** The cached value: ten related posts, as a blog would store them (dates as ISO strings). */
export function relatedPosts(postId: number): RelatedPost[] {
  return Array.from({ length: 10 }, (_, i) => {
    const id = postId * 10 + i + 1;
    return {
      id,
      slug: `how-we-cache-things-part-${id}`,
      title: `How we cache things, part ${id}`,
      publishedAt: new Date(Date.UTC(2024, i, 1 + (id % 28), 9, 30)).toISOString(),
    };
  });
}
