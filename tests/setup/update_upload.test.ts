import assert from "node:assert/strict";
import { resolveSettings } from "../../src/config/settings.ts";
import { createSetupApp } from "../../src/setup/setup_app.ts";
import { Store } from "../../src/store/mod.ts";
import {
  generateUpdateKeyPair,
  importUpdatePrivateKey,
  writeUpdateFile,
} from "../../src/update/update_file.ts";

const PASSWORD = "seeded-admin-pw";

Deno.test("update upload: a signed update is verified and queued for the installer; wrong arch, tampering and a missing key are refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pushbridge-update-upload-" });
  const store = Store.open(":memory:");
  try {
    const keys = await generateUpdateKeyPair();
    const keyFile = `${dir}/update-key.pub`;
    await Deno.writeTextFile(keyFile, keys.publicBase64);
    const privateKey = await importUpdatePrivateKey(keys.privatePem);
    const payload = `${dir}/payload.tar`;
    await Deno.writeFile(payload, new TextEncoder().encode("payload bytes ".repeat(100)));
    const make = async (name: string, arch: string) => {
      await writeUpdateFile(
        `${dir}/${name}`,
        payload,
        { version: "9.9.9", arch, kind: "bundle" },
        privateKey,
      );
      return await Deno.readFile(`${dir}/${name}`);
    };
    const good = await make("good.pbu", Deno.build.arch);
    const foreign = await make("foreign.pbu", Deno.build.arch === "x86_64" ? "aarch64" : "x86_64");
    const tampered = good.slice();
    tampered[tampered.length - 1]! ^= 0xff;

    const settings = resolveSettings({ PUSHBRIDGE_DATA: dir, PUSHBRIDGE_ADMIN_PASSWORD: PASSWORD });
    const appFor = (env: Record<string, string>) => createSetupApp({ store, settings, env });
    const session = async (app: ReturnType<typeof appFor>) => {
      const login = await app.request("/login", {
        method: "POST",
        body: new URLSearchParams({ password: PASSWORD }),
      });
      const cookie = (login.headers.get("Set-Cookie") ?? "").split(";")[0]!;
      const html = await (await app.request("/maintenance", { headers: { Cookie: cookie } })).text();
      return { cookie, csrf: /<meta name="csrf" content="([^"]+)"/.exec(html)![1]! };
    };
    const upload = async (app: ReturnType<typeof appFor>, bytes: Uint8Array<ArrayBuffer>) => {
      const { cookie, csrf } = await session(app);
      const body = new FormData();
      body.set("csrf", csrf);
      body.set("update", new File([bytes], "update.pbu"));
      const response = await app.request("/maintenance/update", {
        method: "POST",
        headers: { Cookie: cookie },
        body,
      });
      return { status: response.status, text: await response.text() };
    };
    const app = appFor({ PUSHBRIDGE_UPDATE_KEY: keyFile });
    const incoming = `${dir}/updates/incoming.pbu`;

    assert.match((await upload(app, foreign)).text, /Update is for &#39;\w+&#39; but this box is/);
    assert.match((await upload(app, tampered)).text, /class="notice error"/);
    await assert.rejects(() => Deno.stat(incoming), Deno.errors.NotFound);
    const noKey = await upload(appFor({ PUSHBRIDGE_UPDATE_KEY: `${dir}/missing.pub` }), good);
    assert.match(noKey.text, /Updates cannot be verified on this box/);

    const queued = await upload(app, good);
    assert.equal(queued.status, 200);
    assert.match(queued.text, /Update to version 9\.9\.9 verified and queued/);
    assert.deepEqual(await Deno.readFile(incoming), good);
    assert.deepEqual([...Deno.readDirSync(`${dir}/updates`)].map((e) => e.name), ["incoming.pbu"]);
    assert.ok(store.audit.list().some((e) => e.action === "software.update" && e.result === "ok"));

    // /api/update takes the file as the body, with the CSRF header, and answers JSON.
    await Deno.remove(incoming);
    const { cookie, csrf } = await session(app);
    const apiUpload = async (bytes: Uint8Array<ArrayBuffer>, token = csrf) => {
      const response = await app.request("/api/update", {
        method: "POST",
        headers: { Cookie: cookie, "X-CSRF-Token": token, "Content-Type": "application/octet-stream" },
        body: bytes,
      });
      return { status: response.status, body: await response.json().catch(() => null) };
    };
    assert.equal((await apiUpload(good, "wrong-token")).status, 403);
    const refused = await apiUpload(tampered);
    assert.equal(refused.status, 400);
    assert.match(refused.body.error, /\w/);
    await assert.rejects(() => Deno.stat(incoming), Deno.errors.NotFound);
    assert.deepEqual(await apiUpload(good), {
      status: 200,
      body: { ok: true, version: "9.9.9", kind: "bundle", arch: Deno.build.arch },
    });
    assert.deepEqual(await Deno.readFile(incoming), good);
    assert.equal(
      store.audit.list().filter((e) => e.action === "software.update" && e.result === "ok").length,
      2,
    );
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("/api/restart restarts a box that can (audited) and answers 501 where it cannot", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pushbridge-restart-api-" });
  const store = Store.open(":memory:");
  try {
    const settings = resolveSettings({ PUSHBRIDGE_DATA: dir, PUSHBRIDGE_ADMIN_PASSWORD: PASSWORD });
    let restarts = 0;
    const restarted = Promise.withResolvers<void>();
    const restart = () => {
      restarts++;
      restarted.resolve();
    };
    for (const options of [{}, { restart }]) {
      const app = createSetupApp({ store, settings, env: {}, ...options });
      const login = await app.request("/login", {
        method: "POST",
        body: new URLSearchParams({ password: PASSWORD }),
      });
      const cookie = (login.headers.get("Set-Cookie") ?? "").split(";")[0]!;
      const html = await (await app.request("/maintenance", { headers: { Cookie: cookie } })).text();
      const csrf = /<meta name="csrf" content="([^"]+)"/.exec(html)![1]!;
      const response = await app.request("/api/restart", {
        method: "POST",
        headers: { Cookie: cookie, "X-CSRF-Token": csrf },
      });
      const body = await response.json();
      if ("restart" in options) {
        assert.equal(response.status, 200);
        assert.equal(body.ok, true);
        await restarted.promise;
      } else {
        assert.equal(response.status, 501);
        assert.match(body.error, /cannot restart itself/);
      }
    }
    assert.equal(restarts, 1);
    assert.equal(store.audit.list().filter((e) => e.action === "service.restart").length, 1);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
