import assert from "node:assert/strict";
import { SubmissionError } from "../../../src/backend/submission.ts";
import {
  SmtpAuthError,
  SmtpConnectionError,
  SmtpError,
  SmtpMessageTooLargeError,
  SmtpRecipientError,
  SmtpTemporaryError,
  toSubmissionError,
} from "../../../src/bridge/smtp/mod.ts";

Deno.test("toSubmissionError() maps each SMTP error to the failure EAS statuses use", () => {
  const cases: [unknown, string][] = [
    [new SmtpAuthError("no", { code: 535, text: "bad" }), "auth"],
    [new SmtpMessageTooLargeError("big", 100), "too-large"],
    [new SmtpTemporaryError("later", { code: 451, text: "try later" }), "temporary"],
    [new SmtpTemporaryError("full", { code: 452, enhanced: "4.2.2", text: "mailbox full" }), "quota"],
    [new SmtpError("full", { code: 552, enhanced: "5.2.2", text: "mailbox full" }), "quota"],
    [new SmtpConnectionError("down"), "temporary"],
    [new SmtpError("policy", { code: 554, text: "no" }), "rejected"],
    [new Error("unexpected"), "temporary"],
  ];
  for (const [error, failure] of cases) {
    assert.equal(toSubmissionError(error).failure, failure, String(error));
  }
});

Deno.test("toSubmissionError() keeps the refused recipients and the cause", () => {
  const cause = new SmtpRecipientError("refused", [{ recipient: "x@y.test", code: 550, text: "unknown" }]);
  const mapped = toSubmissionError(cause);
  assert.ok(mapped instanceof SubmissionError);
  assert.equal(mapped.failure, "recipient-rejected");
  assert.deepEqual(mapped.rejected, ["x@y.test"]);
  assert.equal(mapped.cause, cause);
  assert.equal(cause.code, 550);
});
