/**
 * A program's text with its file name and line table, for turning offsets into line/column positions.
 */

/** A half-open range of UTF-16 offsets [start, end) into a Source's text. */
export interface Range {
  start: number;
  end: number;
}

/** A 1-based line and column (columns count UTF-16 code units; a tab is one column). */
export interface Position {
  line: number;
  column: number;
}

/** One program text: `name` is the file name shown in diagnostics (`stdin` for `-e` programs). */
export class Source {
  /** Offset of the first character of each line. */
  readonly lineStarts: number[];

  constructor(
    readonly name: string,
    readonly text: string,
  ) {
    this.lineStarts = [0];
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  /** The 1-based line and column of an offset (offsets past the end clamp to the end). */
  position(offset: number): Position {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: o - this.lineStarts[lo] + 1 };
  }

  /** The text of a 1-based line, without its line break. */
  lineText(line: number): string {
    const start = this.lineStarts[line - 1];
    if (start === undefined) return '';
    const next = this.lineStarts[line];
    const end = next === undefined ? this.text.length : next - 1;
    return this.text.slice(start, end).replace(/\r$/, '');
  }
}
