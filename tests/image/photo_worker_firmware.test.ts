/**
 * The photo worker ships in the offline firmware artifact: builds the
 * x86_64 fallback (appliance/build_firmware.sh: one bundle for the program,
 * one for the worker beside it), runs its `pushbridge serve` against the
 * harness's Radicale and syncs a contact whose photo only the worker can
 * bring under the phone's limit. Were the worker missing, the photo would be
 * left out and the Sync would carry no Picture.
 */
import assert from "node:assert/strict";
import { childText } from "../../src/wbxml/mod.ts";
import { decodeImage } from "../../src/image/resize_photo.ts";
import { startMailstore } from "../harness/mod.ts";
import { EasClient } from "../../tools/eas_client/client.ts";
import { data, initialSync } from "../integration/dav_fixture.ts";
import { cameraJpeg, contactsFolderId, storeContactWithPhoto } from "./_photos.ts";
import {
  buildFallbackFirmware,
  easUrlFromBanner,
  FALLBACK_BUNDLE as BUNDLE,
} from "../appliance/_firmware.ts";

Deno.test({
  name: "the firmware's fallback artifact resizes a contact photo in its photo worker",
  ignore: Deno.build.arch !== "x86_64",
  async fn() {
    await buildFallbackFirmware();
    assert.ok(
      (await Deno.stat(`${BUNDLE}/lib/photo_worker.js`)).isFile,
      "the worker ships beside the program",
    );

    const mailstore = await startMailstore({ dav: true });
    const dir = await Deno.makeTempDir({ prefix: "pb-photo-firmware-" });
    let server: Deno.ChildProcess | undefined;
    let client: EasClient | undefined;
    try {
      const alice = mailstore.users[0]!;
      await storeContactWithPhoto(mailstore, "fw-photo-1", cameraJpeg(1600, 1200, 21));

      server = new Deno.Command(`${BUNDLE}/bin/pushbridge`, {
        args: ["serve"],
        env: {
          PUSHBRIDGE_DATA: dir,
          PUSHBRIDGE_LISTEN: "127.0.0.1:0",
          PUSHBRIDGE_SETUP_LISTEN: "127.0.0.1:0",
          PUSHBRIDGE_IMAP_URL: mailstore.imapUrl,
          PUSHBRIDGE_SMTP_URL: mailstore.smtpUrl,
          PUSHBRIDGE_MAILSTORE_CA: mailstore.caFile,
          PUSHBRIDGE_DAV_URL: mailstore.davUrl!,
          DENO_DIR: `${dir}/cache`,
        },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const easUrl = await easUrlFromBanner(reader);
      // Keep draining the log so the server never blocks on a full pipe.
      const rest = (async () => {
        let text = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return text;
          text += value;
        }
      })();
      const stderr = new Response(server.stderr).text();
      client = new EasClient({
        url: easUrl,
        user: alice.name,
        password: alice.password,
        deviceId: "fwphoto1",
        deviceType: "iPhone",
        protocolVersion: "16.1",
        caCerts: [await Deno.readTextFile(`${dir}/tls/ca.pem`)],
      });
      const contactsId = await contactsFolderId(client);
      const reply = await initialSync(client, contactsId, "Contacts");
      assert.equal(reply.commands.length, 1);
      const picture = childText(data(reply.commands[0]!), "Picture", "Contacts");
      server.kill("SIGTERM");
      await server.status;
      const log = (await rest) + (await stderr);
      server = undefined;
      assert.ok(picture, `no Picture; the server said: ${log.slice(-2000)}`);
      assert.ok(picture.length <= 48 * 1024, `${picture.length} base64 characters`); // MS-ASCNTC 2.2.2.58
      const { image } = decodeImage(Uint8Array.fromBase64(picture));
      assert.deepEqual([image.width, image.height], [512, 384]);
      assert.doesNotMatch(log, /photo_left_out/);
    } finally {
      client?.close();
      if (server) {
        server.kill("SIGTERM");
        await server.status;
      }
      await mailstore.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
