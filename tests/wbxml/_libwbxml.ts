/** Runs Debian's libwbxml tools (xml2wbxml, wbxml2xml) on temp files: an independent codec to compare with. */
import { XML_PROLOG } from "../../src/wbxml/mod.ts";

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  if (out.code !== 0) throw new Error(`${cmd} failed (exit ${out.code}): ${text.trim()}`);
}

/** `xml2wbxml -a -n`: encodes XML written in libwbxml names. */
export async function libwbxmlEncode(xml: string): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "wbxml-test-" });
  try {
    await Deno.writeTextFile(`${dir}/in.xml`, xml.startsWith("<?xml") ? xml : XML_PROLOG + xml);
    await run("xml2wbxml", ["-a", "-n", "-o", `${dir}/out.wbxml`, `${dir}/in.xml`]);
    return await Deno.readFile(`${dir}/out.wbxml`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** `wbxml2xml -l ACTIVESYNC -m 0`: decodes WBXML to XML in libwbxml names. */
export async function libwbxmlDecode(bytes: Uint8Array): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "wbxml-test-" });
  try {
    await Deno.writeFile(`${dir}/in.wbxml`, bytes);
    await run("wbxml2xml", ["-l", "ACTIVESYNC", "-m", "0", "-o", `${dir}/out.xml`, `${dir}/in.wbxml`]);
    return await Deno.readTextFile(`${dir}/out.xml`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Whether the libwbxml tools are installed (the conformance tests need them). */
export const haveLibwbxml: boolean = (() => {
  try {
    return new Deno.Command("wbxml2xml", { args: ["-h"], stdout: "null", stderr: "null" }).outputSync() !==
      undefined;
  } catch {
    return false;
  }
})();
