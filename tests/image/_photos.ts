/** Test photos: camera-like JPEGs (gradient with grain), whose grain makes them large. */
import { encodeJpeg } from "../../src/image/resize_photo.ts";
import { DavClient } from "../../src/bridge/dav/dav_client.ts";
import { child, childrenNamed, childText, el, textEl } from "../../src/wbxml/mod.ts";
import type { EasClient } from "../../tools/eas_client/client.ts";
import type { Mailstore } from "../harness/mod.ts";

const FH = "FolderHierarchy";

/** A `width` × `height` JPEG at quality 95; `seed` changes the grain, and so the content and its cache key. */
export function cameraJpeg(width: number, height: number, seed = 5): Uint8Array {
  const pixels = new Uint8Array(width * height * 4);
  let state = seed;
  for (let i = 0; i < pixels.length; i += 4) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    const x = (i / 4) % width, y = Math.floor(i / 4 / width);
    pixels[i] = (x * 255) / width;
    pixels[i + 1] = (y * 255) / height;
    pixels[i + 2] = 100 + (state & 0x3f);
    pixels[i + 3] = 255;
  }
  return encodeJpeg({ width, height, data: pixels }, 95);
}

/** A vCard 3.0 with `photo` as its folded base64 PHOTO. */
export function vcardWithPhoto(uid: string, name: string, photo: Uint8Array): string {
  const folded = photo.toBase64().replace(/(.{74})/g, "$1\r\n ");
  return `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:${name}\r\nN:${name};;;;\r\nPHOTO;ENCODING=b;TYPE=JPEG:${folded}\r\nEND:VCARD\r\n`;
}

/** Creates the user's address book "Contacts" on the harness's Radicale and stores one card with `photo` in it. */
export async function storeContactWithPhoto(
  mailstore: Mailstore,
  uid: string,
  photo: Uint8Array,
): Promise<void> {
  const user = mailstore.users[0]!;
  const dav = new DavClient({
    url: new URL(mailstore.davUrl!),
    credentials: { user: user.name, password: user.password },
  });
  const book = `/${user.name}/contacts/`;
  await dav.mutate(
    "MKCOL",
    book,
    '<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><c:addressbook/></d:resourcetype><d:displayname>Contacts</d:displayname></d:prop></d:set></d:mkcol>',
  );
  await dav.put(`${book}${uid}.vcf`, vcardWithPhoto(uid, `Photo ${uid}`, photo), "text/vcard", "");
}

/** FolderSync from SyncKey 0; the ServerId of the folder "Contacts". */
export async function contactsFolderId(client: EasClient): Promise<string> {
  const folders = await client.command("FolderSync", el(FH, "FolderSync", textEl(FH, "SyncKey", "0")));
  const id = childText(
    childrenNamed(child(folders.body, "Changes", FH), "Add", FH).find((a) =>
      childText(a, "DisplayName", FH) === "Contacts"
    ),
    "ServerId",
    FH,
  );
  if (!id) throw new Error("No Contacts folder in the FolderSync");
  return id;
}
