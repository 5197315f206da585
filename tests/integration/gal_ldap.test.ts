import assert from "node:assert/strict";
import { LDAP_GAL_SETTINGS } from "../../src/bridge/gal/ldap_source.ts";
import { child, childrenNamed, childText, el, textEl } from "../../src/wbxml/tree.ts";
import { startSlapd } from "../harness/_slapd.ts";
import { validateWithXsd } from "./eas_checks.ts";
import { validateFindXml } from "./find_xsd.ts";
import { type Box, startBox } from "./fixture.ts";

const S = "Search";
const F = "Find";

function galSearch(query: string, range: string, picture = false) {
  return el(
    S,
    "Search",
    el(
      S,
      "Store",
      textEl(S, "Name", "GAL"),
      textEl(S, "Query", query),
      el(
        S,
        "Options",
        textEl(S, "Range", range),
        picture ? el(S, "Picture", textEl(S, "MaxSize", 10_000), textEl(S, "MaxPictures", 5)) : undefined,
      ),
    ),
  );
}

function useLdap(box: Box, slapd: { url: string; baseDn: string; bindDn: string; bindPassword: string }) {
  const settings = box.server.store.settings;
  settings.set(LDAP_GAL_SETTINGS.url, slapd.url);
  settings.set(LDAP_GAL_SETTINGS.baseDn, slapd.baseDn);
  settings.set(LDAP_GAL_SETTINGS.bindDn, slapd.bindDn);
  settings.set(LDAP_GAL_SETTINGS.bindPassword, slapd.bindPassword);
}

Deno.test("GAL from LDAP: Search and Find over TLS page the seeded people, send the photo, and Find searches the mailbox", async () => {
  const slapd = await startSlapd({ people: 300 });
  const box = await startBox();
  try {
    useLdap(box, slapd);
    const client = box.client("alice");
    const ada = slapd.people[0]!;
    const first = await client.command("Search", galSearch("lovelace", "0-9", true));
    assert.equal(first.status, 200);
    const store = child(child(first.body, "Response"), "Store");
    assert.equal(childText(store, "Status"), "1");
    // Family names change every ten people and repeat every hundred: 30 of 300 are Lovelaces.
    assert.equal(childText(store, "Total"), "30");
    assert.equal(childText(store, "Range"), "0-9");
    const results = childrenNamed(store, "Result").map((r) => child(r, "Properties"));
    assert.equal(results.length, 10);
    const adaProps = results.find((p) => childText(p, "EmailAddress", "GAL") === ada.mail)!;
    assert.equal(childText(adaProps, "DisplayName", "GAL"), ada.displayName);
    assert.equal(childText(adaProps, "Company", "GAL"), "Example");
    const picture = child(adaProps, "Picture", "GAL");
    assert.equal(childText(picture, "Status", "GAL"), "1");
    assert.equal(childText(picture, "Data", "GAL"), btoa(String.fromCharCode(...ada.jpegPhoto!)));
    const check = await validateWithXsd(first.raw);
    assert.ok(check.valid, check.messages);

    const later = await client.command("Search", galSearch("lovelace", "25-40"));
    const page = child(child(later.body, "Response"), "Store");
    assert.equal(childText(page, "Range"), "25-29");
    assert.equal(childrenNamed(page, "Result").length, 5);

    const found = await client.command(
      "Find",
      el(
        F,
        "Find",
        textEl(F, "SearchId", "gal-1"),
        el(
          F,
          "ExecuteSearch",
          el(
            F,
            "GalSearchCriterion",
            el(F, "Query", textEl(F, "FreeText", ada.uid)),
            el(F, "Options", textEl(F, "Range", "0-4")),
          ),
        ),
      ),
    );
    assert.equal(found.status, 200);
    const response = child(found.body, "Response", F);
    assert.equal(childText(response, "Status", F), "1");
    const hit = child(childrenNamed(response, "Result", F)[0], "Properties", F);
    assert.equal(childText(hit, "EmailAddress", "GAL"), ada.mail);
    const findCheck = await validateFindXml(found.body!);
    assert.ok(findCheck.valid, findCheck.messages);

    const resolved = await client.command(
      "ResolveRecipients",
      el(
        "ResolveRecipients",
        "ResolveRecipients",
        textEl("ResolveRecipients", "To", ada.mail),
        el("ResolveRecipients", "Options", textEl("ResolveRecipients", "CertificateRetrieval", 2)),
      ),
    );
    const recipient = child(child(resolved.body, "Response"), "Recipient");
    assert.equal(
      childText(child(recipient, "Certificates"), "Certificate"),
      btoa(String.fromCharCode(...ada.certificate!)),
    );

    await box.mailstore.deliver(
      "alice",
      "From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nCc: carol@example.test\r\nSubject: Budget plan\r\n" +
        "Date: Mon, 16 Nov 2026 10:00:00 +0000\r\nMessage-ID: <budget@example.test>\r\n\r\nThe budget is attached in spirit.\r\n",
    );
    const mail = await client.command(
      "Find",
      el(
        F,
        "Find",
        textEl(F, "SearchId", "mail-1"),
        el(
          F,
          "ExecuteSearch",
          el(
            F,
            "MailBoxSearchCriterion",
            el(F, "Query", textEl("AirSync", "Class", "Email"), textEl(F, "FreeText", "budget")),
            el(F, "Options", textEl(F, "Range", "0-9"), el(F, "DeepTraversal")),
          ),
        ),
      ),
    );
    const mailResponse = child(mail.body, "Response", F);
    assert.equal(childText(mailResponse, "Store", "ItemOperations"), "Mailbox");
    assert.equal(childText(mailResponse, "Total", F), "1");
    const result = childrenNamed(mailResponse, "Result", F)[0];
    assert.match(childText(result, "ServerId", "AirSync") ?? "", /^\w+:\d+$/);
    const props = child(result, "Properties", F);
    assert.equal(childText(props, "Subject", "Email"), "Budget plan");
    assert.equal(childText(props, "DisplayCc", F), "carol@example.test");
    assert.match(childText(props, "Preview", F) ?? "", /^The budget is attached in spirit\./);
    const mailCheck = await validateFindXml(mail.body!);
    assert.ok(mailCheck.valid, mailCheck.messages);
  } finally {
    await box.stop();
    await slapd.stop();
  }
});

Deno.test("GAL from a 5,000-entry LDAP directory answers from the cache well under a second", async () => {
  const slapd = await startSlapd({ people: 5000 });
  const box = await startBox();
  try {
    useLdap(box, slapd);
    const client = box.client("alice");
    // The first request also pays for the TLS handshake and the IMAP login: a FolderSync takes them.
    const warmUp = await client.command(
      "FolderSync",
      el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
    );
    assert.equal(warmUp.status, 200);
    let started = performance.now();
    const cold = await client.command("Search", galSearch("hopper", "0-9"));
    const coldMs = performance.now() - started;
    assert.equal(childText(child(child(cold.body, "Response"), "Store"), "Total"), "100");
    started = performance.now();
    const warm = await client.command("Search", galSearch("p49", "0-9"));
    const warmMs = performance.now() - started;
    const store = child(child(warm.body, "Response"), "Store");
    assert.equal(childText(store, "Total"), "100");
    console.log(
      `GAL over 5,000 LDAP entries: first search (LDAP load) ${coldMs.toFixed(0)} ms, cached ${
        warmMs.toFixed(1)
      } ms`,
    );
    // A generous bound against a regression to reloading per request; the real figure is printed above.
    assert.ok(warmMs < 5000, `cached GAL search took ${warmMs} ms`);
  } finally {
    await box.stop();
    await slapd.stop();
  }
});
