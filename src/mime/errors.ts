/**
 * The one error the MIME parser throws: input it cannot represent within its limits
 * (ARCHITECTURE style rule 4: parse failures are SyntaxError subclasses with an offset).
 *
 * @module
 */

/** A message the parser rejects; `offset` is the byte position in the input where it gave up. */
export class MimeSyntaxError extends SyntaxError {
  constructor(message: string, readonly offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = "MimeSyntaxError";
  }
}
