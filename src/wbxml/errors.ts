/**
 * The only error the decoder throws: a parse failure with the byte offset
 * where it happened and what was expected there.
 */
export class WbxmlSyntaxError extends SyntaxError {
  /** Byte offset in the input where decoding failed. */
  readonly offset: number;
  /** What the decoder expected at that offset. */
  readonly expected: string;

  constructor(message: string, offset: number, expected: string) {
    super(`${message} at offset ${offset} (expected ${expected})`);
    this.name = "WbxmlSyntaxError";
    this.offset = offset;
    this.expected = expected;
  }
}
