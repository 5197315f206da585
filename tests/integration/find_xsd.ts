/**
 * XSD validation of Find responses. libwbxml has no Find code page (see
 * /work/shared/eas-xsd/README.md), so Find responses are rendered by our own
 * decoder's toXml and validated as XML against FindResponse.xsd.
 *
 * @module
 */

import { toXml, type WbxmlElement } from "../../src/wbxml/mod.ts";

const XSD_VALIDATE = new URL("../../../shared/eas-xsd/validate.sh", import.meta.url).pathname;

/** Validates a response through our own decoder's XML (libwbxml has no Find code page). */
export async function validateFindXml(tree: WbxmlElement): Promise<{ valid: boolean; messages: string }> {
  const dir = await Deno.makeTempDir({ prefix: "find-xsd-" });
  try {
    // toXml's opaque="..." round-trip hint is not part of EAS XML; the schemas do not allow it.
    const xml = toXml(tree).replace(/ opaque="[^"]*"/g, "");
    await Deno.writeTextFile(`${dir}/response.xml`, xml);
    const out = await new Deno.Command("bash", { args: [XSD_VALIDATE, `${dir}/response.xml`] }).output();
    const dec = new TextDecoder();
    return { valid: out.code === 0, messages: (dec.decode(out.stdout) + dec.decode(out.stderr)).trim() };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
