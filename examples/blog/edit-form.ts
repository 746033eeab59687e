/** Most keywords one post may carry. */
export const MAX_KEYWORDS = 20;
/** Longest keyword, after normalisation. */
export const MAX_KEYWORD_LENGTH = 32;
/** Longest title. */
export const MAX_TITLE_LENGTH = 200;

/** The edit form's fields as the user typed them, to show them again next to an error. */
export interface EditFields {
  title: string;
  /** Comma-separated. */
  keywords: string;
}

/** A valid edit, ready to save; or why it is not. */
export type EditResult = { ok: true; title: string; keywords: string[] } | { ok: false; message: string };

function field(body: unknown, name: string): string {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  // A repeated field arrives as an array; treat it as absent rather than guess.
  return typeof value === 'string' ? value : '';
}

/** Reads the edit form's fields from a parsed urlencoded body. */
export function readEditFields(body: unknown): EditFields {
  return { title: field(body, 'title'), keywords: field(body, 'keywords') };
}

/** Reads the `keyword` field of the remove-keyword form, normalised. */
export function readKeyword(body: unknown): string {
  return normaliseKeyword(field(body, 'keyword'));
}

/**
 * One keyword in its stored form: NFKC, lower case, runs of spaces as one `-`, only letters, digits
 * and `+ # . -` kept ("Node JS" and "node  js" are both `node-js`; "C++" is `c++`).
 */
export function normaliseKeyword(raw: string): string {
  return raw
    .normalize('NFKC')
    .toLowerCase()
    .trim()
    .replace(/[\s_]+/g, '-')
    .replace(/[^\p{L}\p{N}+#.-]/gu, '')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Validates an edit: a non-empty title, at most {@link MAX_KEYWORDS} distinct keywords, each not too long. */
export function validateEdit(fields: EditFields): EditResult {
  const title = fields.title.trim().replace(/\s+/g, ' ');
  if (title === '') return { ok: false, message: 'The title must not be empty.' };
  if (title.length > MAX_TITLE_LENGTH) {
    return { ok: false, message: `The title must be at most ${MAX_TITLE_LENGTH} characters long.` };
  }
  const keywords = [...new Set(fields.keywords.split(',').map(normaliseKeyword))].filter((k) => k !== '');
  if (keywords.length > MAX_KEYWORDS) {
    return { ok: false, message: `At most ${MAX_KEYWORDS} keywords, please (got ${keywords.length}).` };
  }
  const tooLong = keywords.find((k) => k.length > MAX_KEYWORD_LENGTH);
  if (tooLong !== undefined) {
    return {
      ok: false,
      message: `Keyword "${tooLong.slice(0, MAX_KEYWORD_LENGTH)}…" is longer than ${MAX_KEYWORD_LENGTH} characters.`,
    };
  }
  return { ok: true, title, keywords: keywords.sort() };
}
