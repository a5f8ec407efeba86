/**
 * An incremental CSV parser (RFC 4180): comma-separated fields, double-quoted fields may hold
 * commas, line breaks and doubled quotes (""), CRLF or LF line ends, a leading UTF-8 BOM dropped.
 * Pure: feed text chunks with `push`, then `end`; each record carries the 1-based line it starts on.
 * Bounded: a field, a record and the number of fields are capped (`CsvLimits`) before they are
 * buffered, so an unclosed quote followed by gigabytes fails at the cap, not out of memory.
 */

/** Caps on what the parser buffers; defaults in DEFAULT_CSV_LIMITS. */
export interface CsvLimits {
  /** Longest field, in characters. */
  readonly maxFieldChars: number;
  /** Longest record (its fields together, line breaks inside quotes included), in characters. */
  readonly maxRecordChars: number;
  /** Most fields in one record. */
  readonly maxFields: number;
}

/** 64 Ki characters a field (a path is at most 4,096 bytes on Linux), 1 Mi a record, 1,024 fields. */
export const DEFAULT_CSV_LIMITS: CsvLimits = { maxFieldChars: 65_536, maxRecordChars: 1 << 20, maxFields: 1024 };

export interface CsvRecord {
  readonly fields: string[];
  /** Line number (from 1) where the record starts. */
  readonly line: number;
}

export class CsvParser {
  private fields: string[] = [];
  private field = '';
  private quoted = false; // inside quotes
  private wasQuoted = false; // the current field was quoted
  private afterQuote = false; // just saw a quote inside quotes: either "" or the closing one
  private line = 1;
  private recordLine = 1;
  private first = true;
  private pendingCR = false;
  private recordChars = 0;

  constructor(private readonly limits: CsvLimits = DEFAULT_CSV_LIMITS) {}

  /** Parses `chunk`, returning the records it completes. Throws on text after a closing quote. */
  push(chunk: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    let i = 0;
    if (this.first && chunk.length > 0) {
      this.first = false;
      if (chunk.charCodeAt(0) === 0xfeff) i = 1;
    }
    const { maxFieldChars, maxRecordChars, maxFields } = this.limits;
    for (; i < chunk.length; i++) {
      if (this.field.length > maxFieldChars)
        throw new Error(
          `CSV line ${this.recordLine}: a field runs past ${maxFieldChars} characters${this.quoted ? ' inside quotes (an unclosed quote?)' : ''}; refused`,
        );
      if (++this.recordChars > maxRecordChars)
        throw new Error(
          `CSV line ${this.recordLine}: a record runs past ${maxRecordChars} characters${this.quoted ? ' inside quotes (an unclosed quote?)' : ''}; refused`,
        );
      const ch = chunk[i] as string;
      if (this.pendingCR) {
        this.pendingCR = false;
        if (ch === '\n') continue;
      }
      if (this.quoted) {
        if (this.afterQuote) {
          this.afterQuote = false;
          if (ch === '"') {
            this.field += '"';
            continue;
          }
          this.quoted = false; // that quote closed the field; fall through to unquoted handling
        } else {
          if (ch === '"') this.afterQuote = true;
          else {
            if (ch === '\n' || ch === '\r') this.line++;
            if (ch === '\r' && chunk[i + 1] === '\n') {
              this.field += '\r\n';
              i++;
              continue;
            }
            this.field += ch;
          }
          continue;
        }
      }
      if (ch === ',') {
        if (this.fields.length + 1 >= maxFields) throw new Error(`CSV line ${this.recordLine}: more than ${maxFields} fields; refused`);
        this.fields.push(this.field);
        this.field = '';
        this.wasQuoted = false;
      } else if (ch === '\n' || ch === '\r') {
        this.finishRecord(out);
        this.line++;
        this.recordLine = this.line;
        if (ch === '\r') this.pendingCR = true;
      } else if (ch === '"' && this.field.length === 0 && !this.wasQuoted) {
        this.quoted = true;
        this.wasQuoted = true;
      } else if (this.wasQuoted) {
        throw new Error(`CSV line ${this.line}: text after a closing quote`);
      } else this.field += ch;
    }
    return out;
  }

  /** Ends the input, returning the last record if the text did not end with a line break. Throws on an unclosed quote. */
  end(): CsvRecord[] {
    if (this.quoted && !this.afterQuote) throw new Error(`CSV line ${this.recordLine}: unclosed quote`);
    this.quoted = false;
    this.afterQuote = false;
    const out: CsvRecord[] = [];
    this.finishRecord(out);
    return out;
  }

  private finishRecord(out: CsvRecord[]): void {
    this.fields.push(this.field);
    const fields = this.fields;
    this.fields = [];
    this.field = '';
    this.wasQuoted = false;
    this.recordChars = 0;
    // Blank lines are no records.
    if (!(fields.length === 1 && fields[0] === '')) out.push({ fields, line: this.recordLine });
  }
}

/** Parses a whole CSV text (see `CsvParser`). */
export function parseCsv(text: string, limits: CsvLimits = DEFAULT_CSV_LIMITS): CsvRecord[] {
  const p = new CsvParser(limits);
  return [...p.push(text), ...p.end()];
}
