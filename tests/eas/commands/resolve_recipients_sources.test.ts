import assert from "node:assert/strict";
import { CachedGalDirectory } from "../../../src/bridge/gal/cached_directory.ts";
import {
  type AvailabilityResult,
  type ContactCandidate,
  resolveRecipients,
} from "../../../src/eas/commands/resolve_recipients.ts";
import { encode } from "../../../src/wbxml/mod.ts";
import { child, childrenNamed, childText, el, textEl } from "../../../src/wbxml/tree.ts";
import { validateWithXsd } from "../../integration/eas_checks.ts";
import { fakeContext, FakeMailbox, fakeRequest } from "./folder_ops_fakes.ts";

const R = "ResolveRecipients";

function context(version = "16.1") {
  const ctx = fakeContext(new FakeMailbox(), undefined, version);
  ctx.gal = new CachedGalDirectory(() =>
    Promise.resolve([{ displayName: "Bob Builder", email: "bob@example.test" }])
  );
  const contacts: ContactCandidate[] = [
    { displayName: "Bob (private)", email: "bob@example.test" },
    { displayName: "Bobbie Home", email: "bobbie@home.test" },
  ];
  ctx.contacts = {
    search: (query, limit) =>
      Promise.resolve(
        contacts.filter((c) => `${c.displayName} ${c.email}`.toLowerCase().includes(query.toLowerCase()))
          .slice(0, limit),
      ),
  };
  const asked: string[] = [];
  const answers: Record<string, AvailabilityResult> = {
    "bob@example.test": { merged: "0220" },
    "bobbie@home.test": { failure: "unreadable" },
  };
  ctx.availability = {
    freeBusy: (address, start, end) => {
      asked.push(`${address} ${start.toISOString()} ${end.toISOString()}`);
      return Promise.resolve(answers[address] ?? { failure: "transient" });
    },
  };
  return { ctx, asked };
}

const request = (to: string[], window?: [string, string?]) =>
  fakeRequest(
    R,
    el(
      R,
      R,
      ...to.map((t) => textEl(R, "To", t)),
      el(
        R,
        "Options",
        window
          ? el(
            R,
            "Availability",
            textEl(R, "StartTime", window[0]),
            window[1] ? textEl(R, "EndTime", window[1]) : undefined,
          )
          : undefined,
      ),
    ),
  );

Deno.test("ResolveRecipients merges the user's contacts (Type 2) with the GAL (Type 1), an address in both listed once from the GAL", async () => {
  const { ctx } = context();
  const reply = await resolveRecipients(request(["bob", "bob@example.test", "bobbie@home.test"]), ctx);
  const [byName, byAddress, contactOnly] = childrenNamed(reply.body, "Response");
  assert.equal(childText(byName, "Status"), "2");
  assert.deepEqual(
    childrenNamed(byName, "Recipient").map((r) => [childText(r, "Type"), childText(r, "EmailAddress")]),
    [["1", "bob@example.test"], ["2", "bobbie@home.test"]],
  );
  assert.equal(childText(byAddress, "Status"), "1");
  assert.equal(childText(child(byAddress, "Recipient"), "Type"), "1");
  assert.equal(childText(contactOnly, "Status"), "1");
  assert.deepEqual(
    [
      childText(child(contactOnly, "Recipient"), "Type"),
      childText(child(contactOnly, "Recipient"), "DisplayName"),
    ],
    ["2", "Bobbie Home"],
  );
});

Deno.test("ResolveRecipients Availability answers MergedFreeBusy, 163 where unreadable and 162 on a transient failure", async () => {
  const { ctx, asked } = context();
  delete ctx.gal;
  ctx.contacts = {
    search: () => Promise.resolve([{ displayName: "Down", email: "down@example.test" }]),
  };
  const reply = await resolveRecipients(request(["down@example.test"], ["2030-03-18T08:00:00.000Z"]), ctx);
  assert.equal(
    childText(child(child(child(reply.body, "Response"), "Recipient"), "Availability"), "Status"),
    "162",
  );
  // No EndTime: seven days after StartTime (MS-ASCMD 2.2.3.61.1).
  assert.deepEqual(asked, ["down@example.test 2030-03-18T08:00:00.000Z 2030-03-25T08:00:00.000Z"]);

  const full = context();
  const answered = await resolveRecipients(
    request(["bob"], ["2030-03-18T08:00:00.000Z", "2030-03-18T10:00:00.000Z"]),
    full.ctx,
  );
  const recipients = childrenNamed(child(answered.body, "Response"), "Recipient");
  const availability = recipients.map((r) => child(r, "Availability"));
  assert.deepEqual(availability.map((a) => childText(a, "Status")), ["1", "163"]);
  assert.equal(childText(availability[0], "MergedFreeBusy"), "0220");
  assert.equal(child(availability[1], "MergedFreeBusy"), undefined);
  const check = await validateWithXsd(encode(answered.body!));
  assert.ok(check.valid, check.messages);
});

Deno.test("ResolveRecipients refuses an Availability window that is missing, shorter than 30 minutes or longer than 42 days", async () => {
  for (
    const window of [
      ["not a date"],
      ["2030-03-18T08:00:00.000Z", "2030-03-18T08:15:00.000Z"],
      ["2030-03-18T08:00:00.000Z", "2030-05-18T08:00:00.000Z"],
    ] as [string, string?][]
  ) {
    const { ctx, asked } = context();
    const reply = await resolveRecipients(request(["bob"], window), ctx);
    assert.equal(childText(reply.body, "Status"), "5", window.join(" "));
    assert.equal(childrenNamed(reply.body, "Response").length, 0);
    assert.deepEqual(asked, []);
  }
});

Deno.test("ResolveRecipients ignores Availability below 14.0 and survives an address book failure", async () => {
  const { ctx, asked } = context("12.1");
  ctx.contacts = { search: () => Promise.reject(new Error("address book down")) };
  const reply = await resolveRecipients(request(["bob"], ["2030-03-18T08:00:00.000Z"]), ctx);
  const response = child(reply.body, "Response");
  assert.equal(childText(response, "Status"), "1");
  assert.equal(child(child(response, "Recipient"), "Availability"), undefined);
  assert.deepEqual(asked, []);
});
