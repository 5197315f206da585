/**
 * `make image-test` (appliance/image_test.sh): boots dist/pushbridge-amd64.img
 * under qemu-system-x86_64 (software emulation), with the mailstore of the
 * test harness reachable from the VM at 10.0.2.2 (QEMU user networking maps
 * it to the host's loopback), waits for the setup page through a forwarded
 * port, then runs a FolderSync over the forwarded 443. Not a *_test.ts file:
 * a cold boot under emulation takes minutes, so `make test` does not run it.
 *
 * Run: deno run -A --unsafely-ignore-certificate-errors=127.0.0.1 tests/appliance/image_boot.ts IMAGE
 */
import assert from "node:assert/strict";
import { startMailstore } from "../harness/mod.ts";
import { EasClient } from "../../tools/eas_client/client.ts";
import { childrenNamed, childText, el, textEl } from "../../src/wbxml/tree.ts";

const image = Deno.args[0] ?? "dist/pushbridge-amd64.img";
const bootTimeoutMs = Number(Deno.env.get("IMAGE_TEST_TIMEOUT") ?? "900") * 1000;
const OVMF = "/usr/share/OVMF";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function run(cmd: string, args: string[], stdin?: string): Promise<void> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stderr: "piped",
  })
    .spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  if (!out.success) throw new Error(`${cmd} failed: ${new TextDecoder().decode(out.stderr)}`);
}

const mailstore = await startMailstore({ postfix: false, sieve: false });
const work = await Deno.makeTempDir({ prefix: "pb-image-test-" });
let qemu: Deno.ChildProcess | undefined;
try {
  const disk = `${work}/disk.img`;
  await Deno.copyFile(image, disk);
  await Deno.truncate(disk, 3 * 1024 * 1024 * 1024); // a "card" larger than the image: first boot grows data
  // Preset the mailstore on the FAT boot partition (offset 1 MiB), as an installer would.
  const imapPort = new URL(mailstore.imapUrl).port;
  await Deno.writeTextFile(
    `${work}/pushbridge.env`,
    `PUSHBRIDGE_IMAP_URL=imap://10.0.2.2:${imapPort}\nPUSHBRIDGE_SMTP_URL=smtp://10.0.2.2:${
      new URL(mailstore.smtpUrl).port
    }\nPUSHBRIDGE_MAILSTORE_CA=/var/lib/pushbridge/data/mailstore-ca.pem\n`,
  );
  await Deno.writeTextFile(`${work}/mailstore-ca.pem`, mailstore.caPem);
  await run("mcopy", ["-o", "-i", `${disk}@@1048576`, `${work}/mailstore-ca.pem`, "::/mailstore-ca.pem"]);
  await run("mcopy", ["-o", "-i", `${disk}@@1048576`, `${work}/pushbridge.env`, "::/pushbridge.env"]);
  await Deno.copyFile(`${OVMF}/OVMF_VARS_4M.fd`, `${work}/vars.fd`);
  const setupPort = freePort();
  const easPort = freePort();
  const consoleLog = await Deno.open(`${work}/console.log`, { write: true, create: true });
  qemu = new Deno.Command("qemu-system-x86_64", {
    args: [
      ...["-machine", "q35,accel=tcg", "-cpu", "max", "-m", "1536", "-smp", "2", "-nographic", "-no-reboot"],
      ...["-drive", `if=pflash,format=raw,readonly=on,file=${OVMF}/OVMF_CODE_4M.fd`],
      ...["-drive", `if=pflash,format=raw,file=${work}/vars.fd`],
      ...["-drive", `file=${disk},format=raw,if=virtio`],
      "-nic",
      `user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:${setupPort}-:8080,hostfwd=tcp:127.0.0.1:${easPort}-:443`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  qemu.stdout.pipeTo(consoleLog.writable).catch(() => {});
  qemu.stderr.cancel().catch(() => {});

  const started = Date.now();
  let health: { ok: boolean; version: string } | undefined;
  while (Date.now() - started < bootTimeoutMs) {
    try {
      const response = await fetch(`http://127.0.0.1:${setupPort}/healthz`, {
        signal: AbortSignal.timeout(5000),
      });
      if (response.ok) {
        health = await response.json();
        break;
      }
      await response.body?.cancel();
    } catch { /* still booting */ }
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
  assert.ok(
    health?.ok,
    `setup page did not answer within ${bootTimeoutMs / 1000} s (see ${work}/console.log)`,
  );
  console.log(
    `setup page answered after ${Math.round((Date.now() - started) / 1000)} s: ${JSON.stringify(health)}`,
  );

  const user = mailstore.users[0]!;
  const client = new EasClient({
    url: `https://127.0.0.1:${easPort}`,
    user: user.name,
    password: user.password,
    deviceId: "imagetest0001",
    deviceType: "PushbridgeImageTest",
    protocolVersion: "14.1",
    timeoutMs: 120_000,
  });
  const reply = await client.command(
    "FolderSync",
    el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
  );
  assert.equal(reply.status, 200, `FolderSync answered HTTP ${reply.status}`);
  assert.equal(childText(reply.body, "Status"), "1");
  const changes = childrenNamed(reply.body?.children?.find((c) => c.name === "Changes"), "Add");
  const names = changes.map((add) => childText(add, "DisplayName"));
  assert.ok(names.includes("Inbox"), `FolderSync lists ${JSON.stringify(names)}`);
  console.log(`FolderSync through the VM: ${names.length} folders (${names.join(", ")})`);
} finally {
  if (qemu) {
    try {
      qemu.kill("SIGKILL");
    } catch { /* exited */ }
    await qemu.status;
  }
  await mailstore.stop();
  if (Deno.env.get("IMAGE_TEST_KEEP") !== "1") await Deno.remove(work, { recursive: true });
}
