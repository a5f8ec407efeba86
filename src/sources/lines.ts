/** Reading text by lines with a cap, for the sources that read text (manifests' JSON lines). */

/**
 * The lines of a text stream, each at most `max` characters: a longer line (a file with no line
 * break at all, say) fails when it passes the cap, before more of it is buffered.
 */
export async function* boundedLines(
  chunks: AsyncIterable<string>,
  max: number,
  fail: (line: number, reason: string) => never,
): AsyncGenerator<string> {
  let pending = '';
  let line = 1;
  for await (const chunk of chunks) {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', start)) {
      const text = pending + chunk.slice(start, nl);
      pending = '';
      if (text.length > max) fail(line, `is longer than ${max} characters; refused`);
      yield text.endsWith('\r') ? text.slice(0, -1) : text;
      line++;
      start = nl + 1;
    }
    pending += chunk.slice(start);
    if (pending.length > max) fail(line, `is longer than ${max} characters; refused`);
  }
  if (pending.length > 0) yield pending;
}
