import assert from "node:assert/strict";
import {
  el,
  encode,
  fromXml,
  opaqueEl,
  textEl,
  toXml,
  type WbxmlElement,
  WbxmlSyntaxError,
} from "../../src/wbxml/mod.ts";

const tree: WbxmlElement = el(
  "Settings",
  "Settings",
  el("Settings", "DevicePassword", el("Settings", "Set", textEl("Settings", "Password", "p<&>w"))),
  el(
    "AirSync",
    "ApplicationData",
    textEl("Email", "Subject", "Hi & bye"),
    el("AirSyncBase", "Body", textEl("AirSyncBase", "Type", 1), textEl("AirSyncBase", "Data", "secret body")),
    opaqueEl("Email2", "ConversationId", new Uint8Array([0, 1, 2, 250])),
    opaqueEl("AirSyncBase", "FileReference", new Uint8Array([104, 105])),
  ),
);

Deno.test("toXml() writes wbxml2xml's namespace form and fromXml() reads it back", () => {
  const xml = toXml(tree);
  assert.match(xml, /^<\?xml version="1.0" encoding="utf-8"\?>\n<!DOCTYPE ActiveSync/);
  assert.match(xml, /<Settings xmlns="Settings:">/);
  assert.match(xml, /<ApplicationData xmlns="AirSync:">/);
  assert.match(xml, /<Subject xmlns="Email:">Hi &amp; bye<\/Subject>/);
  assert.match(xml, /<ConversationId xmlns="Email2:">AAEC\+g==<\/ConversationId>/);
  assert.match(xml, /<FileReference xmlns="AirSyncBase:" opaque="base64">aGk=<\/FileReference>/);
  assert.deepEqual(fromXml(xml), tree);
  assert.deepEqual(fromXml(toXml(tree, { indent: "" })), tree);
});

Deno.test("toXml() redacts passwords and bodies when asked, and renders raw bytes", () => {
  const xml = toXml(encode(tree), { redact: true });
  assert.doesNotMatch(xml, /p&lt;|secret body/);
  assert.match(xml, /<Password><!-- redacted 5 bytes --><\/Password>/);
  assert.match(xml, /<Data><!-- redacted 11 bytes --><\/Data>/);
  assert.match(toXml(tree), /secret body/);
});

Deno.test("toXml() can write libwbxml's names", () => {
  const xml = toXml(el("Calendar", "Timezone"), { names: "libwbxml", prolog: false });
  assert.equal(xml, `<TimeZone xmlns="Calendar:"/>\n`);
});

Deno.test("fromXml() reports malformed XML as WbxmlSyntaxError with an offset", () => {
  const bad: [string, RegExp][] = [
    [`<Sync xmlns="AirSync:"><Collections></Sync>`, /End tag "Sync" does not match "Collections"/],
    [`<Sync xmlns="AirSync:">`, /"Sync" is not closed/],
    [`<Sync>`, /No namespace for "Sync"/],
    [`<Sync xmlns="Bogus:"/>`, /Unknown namespace "Bogus:"/],
    [`<Bogus xmlns="AirSync:"/>`, /Unknown tag "Bogus" in namespace "AirSync"/],
    [`<Sync xmlns="AirSync:" foo="1"/>`, /Unsupported attribute "foo"/],
    [`<Sync xmlns="AirSync:">text<Status/></Sync>`, /Mixed content/],
    [`<Mime xmlns="ComposeMail:">***</Mime>`, /Invalid base64/],
    [`<Sync xmlns="AirSync:"/><Sync xmlns="AirSync:"/>`, /More than one root/],
    [`<Status xmlns="AirSync:">&bogus;</Status>`, /Unknown entity/],
  ];
  for (const [xml, pattern] of bad) {
    assert.throws(
      () => fromXml(xml),
      (e: unknown) => e instanceof WbxmlSyntaxError && pattern.test(e.message),
      xml,
    );
  }
});
