/**
 * Conditions a caller handles (ARCHITECTURE style rule 4): an EasStatusError
 * becomes an in-band Status in the command's response, an EasHttpError becomes
 * an HTTP response with the given status and headers.
 */
export class EasStatusError extends Error {
  constructor(readonly status: number, message = `Request failed with status ${status}`) {
    super(message);
    this.name = "EasStatusError";
  }
}

/** An error that the HTTP layer turns into a bare HTTP status (401, 449, 503, ...). */
export class EasHttpError extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "EasHttpError";
  }
}

/** A request the client got wrong in a way the HTTP layer answers with 400. */
export class EasRequestError extends EasHttpError {
  constructor(message: string, headers: Record<string, string> = {}) {
    super(400, message, headers);
    this.name = "EasRequestError";
  }
}
