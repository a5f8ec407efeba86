/** A problem with what the user asked for (a flag, a path, a name): shown as one line, never a stack. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/**
 * `text` safe to print on one terminal line: control characters (newline, ESC, NUL, C1) written
 * as escapes (`\n`, `\e`, `\x00`), so a file name cannot cut an error line or drive the terminal.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e' };
    const code = c.charCodeAt(0);
    return named[c] ?? (code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`);
  });
}

/**
 * Whether `error` is about the input rather than a bug: an InputError, a data error naming a file
 * and a reason (SourceError, DecodeError: anything carrying a DataError), or a file-system error
 * on a path (missing, unreadable, a loop, not a folder). The CLI exits 2 for these.
 */
export function isInputProblem(error: unknown): boolean {
  if (error instanceof InputError) return true;
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { dataError?: unknown; detail?: { _tag?: unknown }; code?: unknown; path?: unknown };
  if (e.dataError !== undefined || e.detail?._tag === 'DataError') return true;
  return (
    typeof e.path === 'string' &&
    typeof e.code === 'string' &&
    ['ENOENT', 'EACCES', 'EPERM', 'ELOOP', 'ENOTDIR', 'EISDIR', 'ENAMETOOLONG', 'EROFS', 'EEXIST', 'ENOSPC', 'ENXIO', 'EINVAL'].includes(
      e.code,
    )
  );
}
