import { normaliseKeyword, readEditFields, validateEdit } from '../../examples/blog/edit-form';
import { escapeHtml, html } from '../../examples/blog/html';

describe('normaliseKeyword', () => {
  it.each([
    ['  Node JS ', 'node-js'],
    ['node__js', 'node-js'],
    ['C++', 'c++'],
    ['C#', 'c#'],
    ['Node.js', 'node.js'],
    ['ＲＥＤＩＳ', 'redis'],
    ['--a  -  b--', 'a-b'],
    ['<b>bold</b>', 'bboldb'],
    ['Ünïcode', 'ünïcode'],
    ['   ', ''],
  ])('%j -> %j', (raw, expected) => {
    expect(normaliseKeyword(raw)).toBe(expected);
  });
});

describe('validateEdit', () => {
  it('trims the title, deduplicates and sorts keywords, drops empty ones', () => {
    expect(validateEdit({ title: '  A   title ', keywords: 'redis, Redis ,, node js,' })).toEqual({
      ok: true,
      title: 'A title',
      keywords: ['node-js', 'redis'],
    });
  });

  it('accepts no keywords at all, and exactly 20', () => {
    expect(validateEdit({ title: 't', keywords: '' })).toEqual({ ok: true, title: 't', keywords: [] });
    const twenty = Array.from({ length: 20 }, (_, i) => `k${i}`).join(',');
    expect(validateEdit({ title: 't', keywords: twenty })).toMatchObject({ ok: true });
  });

  it('counts keywords after normalisation: duplicates do not count twice', () => {
    const keywords = Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? 'Same' : 'same')).join(',');
    expect(validateEdit({ title: 't', keywords })).toEqual({ ok: true, title: 't', keywords: ['same'] });
  });

  it('rejects an empty title, a title over 200 characters, 21 keywords, a keyword over 32 characters', () => {
    expect(validateEdit({ title: ' \n ', keywords: '' })).toEqual({
      ok: false,
      message: 'The title must not be empty.',
    });
    expect(validateEdit({ title: 'x'.repeat(201), keywords: '' })).toMatchObject({ ok: false });
    const many = Array.from({ length: 21 }, (_, i) => `k${i}`).join(',');
    expect(validateEdit({ title: 't', keywords: many })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/20/),
    });
    expect(validateEdit({ title: 't', keywords: 'x'.repeat(33) })).toMatchObject({ ok: false });
    expect(validateEdit({ title: 't', keywords: 'x'.repeat(32) })).toMatchObject({ ok: true });
  });
});

describe('readEditFields', () => {
  it('treats missing, repeated or non-string fields as empty', () => {
    expect(readEditFields(undefined)).toEqual({ title: '', keywords: '' });
    expect(readEditFields({ title: ['a', 'b'], keywords: { x: 1 } })).toEqual({ title: '', keywords: '' });
    expect(readEditFields({ title: 'a', keywords: 'b' })).toEqual({ title: 'a', keywords: 'b' });
  });
});

describe('html', () => {
  it('escapes interpolated values but not nested html, and skips undefined, null and false', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const items = ['<i>', 'b&b'];
    expect(html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>${undefined}${null}${false}${0}`.text).toBe(
      '<ul><li>&lt;i&gt;</li><li>b&amp;b</li></ul>0',
    );
  });
});
