/**
 * The offline firmware artifact really runs: builds the x86_64 fallback with
 * appliance/build_firmware.sh (deno bundle + the npm runtime; a few seconds
 * once the runtime is cached under dist/.build) and drives its `pushbridge`
 * wrapper: --version, wbxml decode, and serve answering OPTIONS over its
 * self-signed certificate.
 */
import assert from "node:assert/strict";
import { VERSION } from "../../src/version.ts";
import { encode } from "../../src/wbxml/mod.ts";
import { el, textEl } from "../../src/wbxml/tree.ts";
import { buildFallbackFirmware, easUrlFromBanner, FALLBACK_BUNDLE } from "./_firmware.ts";

const EXE = `${FALLBACK_BUNDLE}/bin/pushbridge`;
const decoder = new TextDecoder();

Deno.test({
  name:
    "the x86_64 fallback artifact answers --version, decodes WBXML and answers OPTIONS over its certificate",
  ignore: Deno.build.arch !== "x86_64",
  async fn() {
    await buildFallbackFirmware();

    const version = await new Deno.Command(EXE, { args: ["--version"], stdout: "piped" }).output();
    assert.equal(decoder.decode(version.stdout).trim(), `pushbridge ${VERSION}`);

    const wbxml = encode(el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")));
    const decodeChild = new Deno.Command(EXE, { args: ["wbxml", "decode"], stdin: "piped", stdout: "piped" })
      .spawn();
    const writer = decodeChild.stdin.getWriter();
    await writer.write(wbxml);
    await writer.close();
    const xml = decoder.decode((await decodeChild.output()).stdout);
    assert.match(xml, /<FolderSync[^>]*>\s*<SyncKey>0<\/SyncKey>\s*<\/FolderSync>/);

    const data = await Deno.makeTempDir({ prefix: "pb-firmware-" });
    const server = new Deno.Command(EXE, {
      args: ["serve"],
      env: {
        PUSHBRIDGE_DATA: data,
        PUSHBRIDGE_LISTEN: "127.0.0.1:0",
        PUSHBRIDGE_SETUP_LISTEN: "127.0.0.1:0",
        DENO_DIR: `${data}/cache`,
      },
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const easUrl = await easUrlFromBanner(reader);
      reader.cancel().catch(() => {});
      const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(`${data}/tls/ca.pem`)] });
      const init: RequestInit & { client: Deno.HttpClient } = { method: "OPTIONS", client };
      const response = await fetch(easUrl, init);
      await response.body?.cancel();
      client.close();
      // Without credentials the EAS front door asks for Basic auth (MS-ASHTTP 2.2.2.1.1): it answered over TLS.
      assert.equal(response.status, 401);
      assert.match(response.headers.get("WWW-Authenticate") ?? "", /^Basic /);
    } finally {
      server.kill("SIGTERM");
      await server.status;
      await Deno.remove(data, { recursive: true });
    }
  },
});
