/** Escaping for untrusted text (class names, file names, paths) in the HTML report. */

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '\u2028': '&#8232;',
  '\u2029': '&#8233;',
};

/** Text and attribute values: & < > " ' escaped (and U+2028/2029, as character references). */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'\u2028\u2029]/g, (c) => ENTITIES[c] ?? c);
}

/**
 * JSON safe inside a <script> element: < > & and U+2028 / U+2029 become \uXXXX escapes, so no
 * string can close the tag, open a comment, or break a JS parser that predates ES2019.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Library source inlined in a <script> element: no `</script` or `<!--` can end or confuse it. */
export function scriptSource(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}
