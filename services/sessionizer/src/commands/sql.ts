/**
 * Just enough SQL lexing to find statement boundaries: string literals ('…' with backslash
 * and doubled-quote escapes), quoted identifiers ("…", `…`) and comments (--, #, /* … *\/)
 * are skipped; a `;` anywhere else ends a statement.
 */
export interface SqlShape {
  /** Index where the first statement's significant text starts (after leading comments). */
  readonly start: number;
  /** Index of the first top-level `;`, or the text length. */
  readonly end: number;
  /** Whether anything but whitespace and comments follows that `;`. */
  readonly more: boolean;
}

/** Index just past the comment starting at `i`, or -1 if none starts there. */
function skipComment(sql: string, i: number): number {
  const c = sql[i];
  if ((c === '-' && sql[i + 1] === '-') || c === '#') {
    const nl = sql.indexOf('\n', i);
    return nl === -1 ? sql.length : nl + 1;
  }
  if (c === '/' && sql[i + 1] === '*') {
    const close = sql.indexOf('*/', i + 2);
    return close === -1 ? sql.length : close + 2;
  }
  return -1;
}

/** Index just past the quoted token starting at `i`. */
function skipQuoted(sql: string, i: number): number {
  const q = sql[i];
  let j = i + 1;
  while (j < sql.length) {
    if (sql[j] === '\\') j += 2;
    else if (sql[j] === q) {
      if (sql[j + 1] === q)
        j += 2; // '' inside '…'
      else return j + 1;
    } else j += 1;
  }
  return sql.length;
}

export function sqlShape(sql: string): SqlShape {
  let i = 0;
  let start = -1;
  let end = -1;
  while (i < sql.length) {
    const c = sql[i] ?? '';
    const afterComment = skipComment(sql, i);
    if (afterComment !== -1) {
      i = afterComment;
      continue;
    }
    // whitespace, and empty statements after the first `;`
    if (/\s/.test(c) || (end !== -1 && c === ';')) {
      i += 1;
      continue;
    }
    if (end !== -1) return { start: start === -1 ? end : start, end, more: true };
    if (start === -1) start = i;
    if (c === "'" || c === '"' || c === '`') i = skipQuoted(sql, i);
    else if (c === ';') {
      end = i;
      i += 1;
    } else i += 1;
  }
  const s = start === -1 ? sql.length : start;
  return { start: s, end: end === -1 ? sql.length : end, more: false };
}

/** More than one statement (the embedded engine would run them all). */
export function hasMultipleStatements(sql: string): boolean {
  return sqlShape(sql).more;
}

/**
 * The first statement without leading comments and without its terminating `;` and trailing
 * comments: the client appends a FORMAT clause, which must land inside the statement.
 */
export function cleanSql(sql: string): string {
  const { start, end } = sqlShape(sql);
  const statement = sql.slice(start, end);
  return end === sql.length ? statement.trimEnd() : statement;
}
