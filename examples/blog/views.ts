import { html, type SafeHtml } from './html';
import type { Post, PostSummary } from './posts';
import type { Outcome, RelatedLookup } from './related-posts';
import type { Counts } from './stats';

const STYLE = `
body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
a { color: #0b5cad; } time, .muted { color: #666; font-size: .9em; }
.keywords { margin: 1em 0; } .keywords form { display: inline; } .keywords button { font-size: .8em; margin-right: .5em; }
.error { background: #fde8e8; border: 1px solid #e0a0a0; padding: .5rem 1rem; }
label { display: block; margin: 1rem 0; } input[type=text] { width: 100%; }
footer.served { margin-top: 3rem; padding-top: .5rem; border-top: 1px solid #ddd; color: #555; font-size: .85em; }
`;

function layout(title: string, content: SafeHtml, footer?: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${title}</title><style>${STYLE}</style></head>
<body>
<nav><a href="/">All posts</a> · <a href="/stats">/stats</a></nav>
<main>${content}</main>
${footer}
</body>
</html>
`.text;
}

function postHref(post: PostSummary): string {
  return `/posts/${encodeURIComponent(post.slug)}`;
}

function postLink(post: PostSummary): SafeHtml {
  return html`<a href="${postHref(post)}">${post.title}</a> <time>${post.publishedAt.slice(0, 10)}</time>`;
}

/** The home page: newest posts, a page at a time. */
export function indexPage(view: { posts: PostSummary[]; page: number; pages: number; total: number }): string {
  const { posts, page, pages, total } = view;
  return layout(
    'Blog',
    html`<h1>Blog</h1>
<p class="muted">${total.toLocaleString('en')} posts. Open one: its related posts come from the shared cache.
Page ${page} of ${pages}.</p>
<ul>${posts.map((post) => html`<li>${postLink(post)}</li>`)}</ul>
<p>${page > 1 && html`<a href="/?page=${page - 1}">newer</a> `}${page < pages && html`<a href="/?page=${page + 1}">older</a>`}</p>`,
  );
}

const OUTCOME_TEXT: Record<Outcome, string> = {
  local: 'local hit',
  hit: 'cache hit',
  miss: 'cache miss (the query ran)',
  shared: 'joined a query already running in this worker',
  bypass: 'cache bypassed (?nocache=1)',
};

const count = (n: number, what: string, plural = `${what}s`) => `${n.toLocaleString('en')} ${n === 1 ? what : plural}`;

/**
 * One post with its related posts, and a footer saying which worker served it, how that worker got
 * the related posts, and how it has answered them so far.
 */
export function postPage(view: {
  post: Post;
  related: RelatedLookup;
  pid: number;
  /** This worker's counts, this request included. */
  counts: Counts;
  store: 'redis' | 'memory';
}): string {
  const { post, related, pid, counts, store } = view;
  const href = postHref(post);
  const answered = [
    count(counts.localHits, 'local hit'),
    count(counts.hits, store === 'redis' ? 'Redis hit' : 'store hit'),
    count(counts.misses, 'miss', 'misses'),
  ].join(', ');
  const keywords = post.keywords.map(
    (keyword) =>
      html`<form method="post" action="${href}/delete-keyword"><input type="hidden" name="keyword" value="${keyword}"><button title="remove this keyword">${keyword} ×</button></form>`,
  );
  return layout(
    post.title,
    html`<article>
<h1>${post.title}</h1>
<p><time>${post.publishedAt.slice(0, 10)}</time> · <a href="${href}/edit">edit</a></p>
<div class="keywords">${keywords.length > 0 ? keywords : html`<span class="muted">no keywords</span>`}</div>
${post.body.split('\n\n').map((paragraph) => html`<p>${paragraph}</p>`)}
</article>
<section>
<h2>Related posts</h2>
${
  related.posts.length > 0
    ? html`<ol class="related">${related.posts.map((p) => html`<li>${postLink(p)}</li>`)}</ol>`
    : html`<p class="muted">No other post shares a keyword with this one.</p>`
}
</section>`,
    html`<footer class="served" data-worker="${pid}" data-cache="${related.outcome}">Served by worker <strong>${pid}</strong> · related posts: <strong>${OUTCOME_TEXT[related.outcome]}</strong> in ${related.durationMs.toFixed(2)} ms · <a href="${href}?nocache=1">uncached</a><br>
This worker so far: <span class="counts">${answered}</span></footer>`,
  );
}

/** The edit form, with the fields as typed and, after a rejected submit, why. */
export function editPage(view: { post: Post; fields: { title: string; keywords: string }; message?: string }): string {
  const { post, fields, message } = view;
  return layout(
    `Edit: ${post.title}`,
    html`<h1>Edit <a href="${postHref(post)}">${post.title}</a></h1>
${message !== undefined && html`<p class="error" role="alert">${message}</p>`}
<form method="post" action="${postHref(post)}/edit">
<label>Title <input type="text" name="title" value="${fields.title}"></label>
<label>Keywords, comma-separated (at most 20) <input type="text" name="keywords" value="${fields.keywords}"></label>
<button>Save</button>
</form>`,
  );
}

/** A short page for 400, 404 and 500 answers. */
export function messagePage(title: string, message: string): string {
  return layout(title, html`<h1>${title}</h1><p>${message}</p>`);
}
