import assert from "node:assert/strict";
import { contactFromVcard, vcardFromContact } from "../../../src/bridge/dav/vcard_map.ts";
import { parseComponents, prop, props } from "../../../src/bridge/dav/ical.ts";
import { decodeImage, encodeJpeg } from "../../../src/image/resize_photo.ts";
import { CONTACT_PICTURE_MAX_BYTES } from "../../../src/image/limits.ts";

const CARD30 = [
  "BEGIN:VCARD",
  "VERSION:3.0",
  "UID:c1",
  "FN:Jane Q. Doe",
  "N:Doe;Jane;Q.;Dr.;PhD",
  "NICKNAME:JD",
  "ORG:Example Inc.;R&D",
  "TITLE:Engineer",
  "X-MS-OFFICELOCATION:B-12",
  "BDAY:1980-04-05",
  "X-ANNIVERSARY:2005-06-07",
  "X-SPOUSE:John",
  "X-ASSISTANT:Ann",
  "X-MANAGER:Max",
  "X-MS-CHILD:Kid One",
  "X-MS-CHILD:Kid Two",
  "EMAIL;TYPE=INTERNET,WORK:jane@work.example",
  "EMAIL;TYPE=INTERNET,HOME,PREF:jane@home.example",
  "EMAIL;TYPE=INTERNET:third@example.com",
  "EMAIL;TYPE=INTERNET:fourth@example.com",
  "TEL;TYPE=CELL:+1 555 0100",
  "TEL;TYPE=WORK,VOICE:+1 555 0101",
  "TEL;TYPE=WORK,VOICE:+1 555 0102",
  "TEL;TYPE=HOME:+1 555 0103",
  "TEL;TYPE=WORK,FAX:+1 555 0104",
  "TEL;TYPE=HOME,FAX:+1 555 0105",
  "TEL;TYPE=PAGER:+1 555 0106",
  "TEL;TYPE=CAR:+1 555 0107",
  "TEL;TYPE=X-ASSISTANT:+1 555 0108",
  "ADR;TYPE=WORK:;;1 Main St;Springfield;IL;62701;USA",
  "ADR;TYPE=HOME:;;2 Home Rd\\, Apt 3;Shelbyville;IL;62565;USA",
  "URL:https://jane.example",
  "X-JABBER:jane@jabber.example",
  "NOTE:Met at conf\\nsecond line",
  "CATEGORIES:Friends,VIP",
  "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQ",
  "X-CUSTOM:untouched",
  "END:VCARD",
  "",
].join("\r\n");

Deno.test("contactFromVcard() maps names, phones, emails, addresses and the rest of a 3.0 card", () => {
  const { contact } = contactFromVcard(CARD30);
  assert.deepEqual(contact, {
    lastName: "Doe",
    firstName: "Jane",
    middleName: "Q.",
    title: "Dr.",
    suffix: "PhD",
    companyName: "Example Inc.",
    department: "R&D",
    fileAs: "Jane Q. Doe",
    nickName: "JD",
    jobTitle: "Engineer",
    officeLocation: "B-12",
    webPage: "https://jane.example",
    spouse: "John",
    assistantName: "Ann",
    managerName: "Max",
    birthday: new Date(Date.UTC(1980, 3, 5, 12)),
    anniversary: new Date(Date.UTC(2005, 5, 7, 12)),
    email1Address: "jane@home.example",
    email2Address: "jane@work.example",
    email3Address: "third@example.com",
    imAddress: "jane@jabber.example",
    mobilePhoneNumber: "+1 555 0100",
    businessFaxNumber: "+1 555 0104",
    homeFaxNumber: "+1 555 0105",
    pagerNumber: "+1 555 0106",
    carPhoneNumber: "+1 555 0107",
    assistantPhoneNumber: "+1 555 0108",
    businessPhoneNumber: "+1 555 0101",
    business2PhoneNumber: "+1 555 0102",
    homePhoneNumber: "+1 555 0103",
    businessAddressStreet: "1 Main St",
    businessAddressCity: "Springfield",
    businessAddressState: "IL",
    businessAddressPostalCode: "62701",
    businessAddressCountry: "USA",
    homeAddressStreet: "2 Home Rd, Apt 3",
    homeAddressCity: "Shelbyville",
    homeAddressState: "IL",
    homeAddressPostalCode: "62565",
    homeAddressCountry: "USA",
    body: { type: 1, estimatedDataSize: 23, truncated: false, data: "Met at conf\nsecond line" },
    categories: ["Friends", "VIP"],
    children: ["Kid One", "Kid Two"],
    picture: "/9j/4AAQ",
  });
});

Deno.test("contactFromVcard() reads vCard 4.0 forms (data: photo, ANNIVERSARY, RELATED, IMPP, tel: URIs)", () => {
  const { contact } = contactFromVcard(
    "BEGIN:VCARD\nVERSION:4.0\nFN:A\nN:B;A;;;\nANNIVERSARY:20100102\nRELATED;TYPE=spouse;VALUE=text:Sam\n" +
      "RELATED;TYPE=child;VALUE=text:Kim\nIMPP:xmpp:a@b\nTEL;VALUE=uri;TYPE=cell:tel:+4912\n" +
      "PHOTO:data:image/jpeg;base64,AAEC\nEND:VCARD\n",
  );
  assert.equal(contact.anniversary?.toISOString(), "2010-01-02T12:00:00.000Z");
  assert.equal(contact.spouse, "Sam");
  assert.deepEqual(contact.children, ["Kim"]);
  assert.equal(contact.imAddress, "xmpp:a@b");
  assert.equal(contact.mobilePhoneNumber, "+4912");
  assert.equal(contact.picture, "AAEC");
});

Deno.test("vcardFromContact() changes only what the phone changed and keeps the rest", () => {
  const { contact } = contactFromVcard(CARD30);
  const edited = { ...contact, mobilePhoneNumber: "+1 555 9999", jobTitle: "Lead" };
  delete (edited as Record<string, unknown>).pagerNumber;
  const out = vcardFromContact(edited, CARD30);
  const card = parseComponents(out.vcf)[0]!;
  const tels = props(card, "TEL").map((p) => p.value);
  assert.ok(tels.includes("+1 555 9999"));
  assert.ok(!tels.includes("+1 555 0106"), "dropped pager removed");
  assert.equal(props(card, "EMAIL").length, 4, "the fourth email the phone never saw is kept");
  assert.equal(prop(card, "X-CUSTOM")!.value, "untouched");
  assert.equal(prop(card, "TITLE")!.value, "Lead");
  assert.deepEqual(props(card, "TEL").find((p) => p.value === "+1 555 9999")!.params, { TYPE: ["CELL"] });
  assert.deepEqual(contactFromVcard(out.vcf).contact, { ...edited });
});

Deno.test("vcardFromContact() creates a 3.0 card with FN, N, typed properties and escaping", () => {
  const out = vcardFromContact(
    {
      firstName: "Ann",
      lastName: "Lee, Jr",
      email1Address: '"Ann Lee" <ann@example.com>',
      homeAddressStreet: "5 Road; Unit 2",
      homeAddressCity: "Town",
      birthday: new Date(Date.UTC(1990, 0, 31, 23)),
      picture: "AAEC",
    },
    undefined,
    "new-uid",
  );
  assert.match(out.vcf, /^BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Lee\\, Jr\r\n/);
  assert.match(out.vcf, /\r\nN:Lee\\, Jr;Ann;;;\r\n/);
  assert.match(out.vcf, /\r\nEMAIL;TYPE=INTERNET:ann@example.com\r\n/);
  assert.match(out.vcf, /\r\nADR;TYPE=HOME:;;5 Road\\; Unit 2;Town;;;\r\n/);
  assert.match(out.vcf, /\r\nBDAY:1990-02-01\r\n/);
  assert.match(out.vcf, /\r\nPHOTO;ENCODING=b;TYPE=JPEG:AAEC\r\n/);
  assert.equal(out.uid, "new-uid");
});

/** A card whose PHOTO is `bytes` (vCard 3.0 inline base64, folded as servers store it). */
function cardWithPhoto(bytes: Uint8Array): string {
  const folded = bytes.toBase64().replace(/(.{74})/g, "$1\r\n ");
  return `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:photo-1\r\nFN:Pia Photo\r\nPHOTO;ENCODING=b;TYPE=JPEG:${folded}\r\nEND:VCARD\r\n`;
}

/** A noisy 1200x900 photo-like JPEG, far above the contact limit. */
function largeJpeg(): Uint8Array {
  const width = 1200, height = 900;
  const data = new Uint8Array(width * height * 4);
  let seed = 11;
  for (let i = 0; i < data.length; i += 4) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const x = (i / 4) % width;
    data[i] = (x * 255) / width;
    data[i + 1] = seed & 0x3f;
    data[i + 2] = 90;
    data[i + 3] = 255;
  }
  return encodeJpeg({ width, height, data }, 95);
}

Deno.test("contactFromVcard() resizes a PHOTO above the Picture limit and keeps the original on write-back", () => {
  const original = largeJpeg();
  assert.ok(original.length > 4 * CONTACT_PICTURE_MAX_BYTES);
  const vcf = cardWithPhoto(original);
  const read = contactFromVcard(vcf);
  assert.equal(read.photoLeftOut, undefined);
  const picture = Uint8Array.fromBase64(read.contact.picture!);
  assert.ok(picture.length <= CONTACT_PICTURE_MAX_BYTES, `${picture.length} bytes`);
  assert.ok(read.contact.picture!.length <= 48 * 1024, "48 KB of base64 at most (MS-ASCNTC 2.2.2.58)");
  const { image } = decodeImage(picture);
  assert.ok(image.width > image.height && image.width <= 512, `${image.width}x${image.height}`);
  // The phone sends the contact back with the picture it got and a new title: the full-size PHOTO stays.
  const out = vcardFromContact({ ...read.contact, jobTitle: "Lead" }, vcf);
  const card = parseComponents(out.vcf)[0]!;
  assert.equal(prop(card, "PHOTO")!.value.replace(/\s/g, ""), original.toBase64());
  assert.equal(prop(card, "TITLE")!.value, "Lead");
  // A new picture from the phone replaces it.
  const replaced = vcardFromContact({ ...read.contact, picture: "AAEC" }, vcf);
  assert.equal(prop(parseComponents(replaced.vcf)[0]!, "PHOTO")!.value, "AAEC");
});

Deno.test("contactFromVcard() leaves out a large PHOTO it cannot decode and says why", () => {
  const junk = new Uint8Array(60_000).map((_, i) => (i * 7) & 0xff);
  const vcf = cardWithPhoto(junk);
  const read = contactFromVcard(vcf);
  assert.equal(read.contact.picture, undefined);
  assert.equal(read.contact.fileAs ?? read.contact.firstName ?? "Pia Photo", "Pia Photo");
  assert.match(read.photoLeftOut!, /Unsupported image format/);
  // A lookup that needs no picture does not look at it.
  const lookup = contactFromVcard(vcf, [], { picture: false });
  assert.equal(lookup.contact.picture, undefined);
  assert.equal(lookup.photoLeftOut, undefined);
  // Writing the contact back without a picture keeps the server's PHOTO untouched.
  const out = vcardFromContact({ ...read.contact, jobTitle: "Lead" }, vcf);
  assert.equal(prop(parseComponents(out.vcf)[0]!, "PHOTO")!.value.replace(/\s/g, ""), junk.toBase64());
  const invalid = contactFromVcard(
    cardWithPhoto(junk).replace(/PHOTO;ENCODING=b;TYPE=JPEG:./, "PHOTO;ENCODING=b;TYPE=JPEG:*"),
  );
  assert.equal(invalid.contact.picture, undefined);
  assert.match(invalid.photoLeftOut!, /not valid base64/);
});
