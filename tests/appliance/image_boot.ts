/**
 * `make image-test ARCH=amd64|arm64` (appliance/image_test.sh): boots
 * dist/pushbridge-<arch>.img under qemu (software emulation): amd64 on
 * qemu-system-x86_64 through its own UEFI boot path (OVMF, systemd-boot);
 * arm64 on qemu-system-aarch64 `-M virt` (a Cortex-A72, the Raspberry Pi 4's
 * core), booting the kernel, initrd and cmdline.txt taken from the image's
 * own FAT boot partition directly (the Pi's GPU boot firmware does not run
 * in qemu), so the image's userspace, units, first boot and pushbridge
 * program are what is tested. The mailstore of the
 * test harness reachable from the VM at 10.0.2.2 (QEMU user networking maps
 * it to the host's loopback), waits for the setup page through a forwarded
 * port, then over SSH (an installer key put on the boot partition) checks
 * that no unit failed and the firewall is loaded, runs a FolderSync over the
 * forwarded 443, and drops two signed updates into the upload path: a good
 * one (the same program reporting another version), which must be running
 * afterwards, and a broken one (reports its version, cannot serve), which
 * must be rolled back to the good one. Not a *_test.ts file:
 * a cold boot under emulation takes minutes, so `make test` does not run it.
 *
 * Each phase's duration is printed (boot to setup page, FolderSync, update, rollback).
 *
 * Run: deno run -A --unsafely-ignore-certificate-errors=127.0.0.1 tests/appliance/image_boot.ts IMAGE [amd64|arm64]
 */
import assert from "node:assert/strict";
import { startMailstore } from "../harness/mod.ts";
import { EasClient } from "../../tools/eas_client/client.ts";
import { childrenNamed, childText, el, textEl } from "../../src/wbxml/tree.ts";
import { type ImapsRelay, startImapsRelay } from "./_imaps_relay.ts";

const image = Deno.args[0] ?? "dist/pushbridge-amd64.img";
const arch = Deno.args[1] ?? (/arm64/.test(image) ? "arm64" : "amd64");
assert.ok(arch === "amd64" || arch === "arm64", `unknown ARCH '${arch}' (amd64 or arm64)`);
/** Deno.build.arch of the box: the architecture updates are signed for. */
const denoArch = arch === "arm64" ? "aarch64" : "x86_64";
// Emulating arm64 on an x86 host is several times slower than amd64.
const slow = arch === "arm64" ? 2 : 1;
const bootTimeoutMs = Number(Deno.env.get("IMAGE_TEST_TIMEOUT") ?? String(900 * slow)) * 1000;
const OVMF = "/usr/share/OVMF";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Runs a host command; its stdout, or an error with its stderr. */
async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** The `/healthz` answer of the VM's setup listener, or undefined while it does not answer. */
async function healthOf(port: number): Promise<{ ok: boolean; version: string } | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5000) });
    if (response.ok) return await response.json();
    await response.body?.cancel();
  } catch { /* not answering */ }
  return undefined;
}

/**
 * A signed update of the shipped bundle: `bin/pushbridge` replaced by
 * `entry` when given (a broken release), else the same program with its
 * VERSION constant set to `version`.
 */
async function makeUpdate(work: string, version: string, entry?: string): Promise<string> {
  const dir = `${work}/release-${version}`;
  await run("cp", ["-a", BUNDLE, dir]);
  if (entry) {
    await Deno.writeTextFile(`${dir}/bin/pushbridge`, entry, { mode: 0o755 });
    await Deno.remove(`${dir}/lib`, { recursive: true });
  } else {
    const js = await Deno.readTextFile(`${dir}/lib/pushbridge.js`);
    // src/version.ts as bundled: one top-level `var VERSION = "..."` (other *_VERSION constants differ).
    const shipped = /^var VERSION = "[^"]+";$/m.exec(js);
    assert.ok(shipped && js.split(shipped[0]).length === 2, "the bundle has exactly one VERSION constant");
    await Deno.writeTextFile(
      `${dir}/lib/pushbridge.js`,
      js.replace(shipped[0], `var VERSION = "${version}";`),
    );
    await Deno.writeTextFile(`${dir}/RELEASE`, `version=${version}\narch=${denoArch}\nkind=bundle\n`);
  }
  await run("tar", ["-czf", `${dir}.tar.gz`, "-C", dir, "."]);
  await run(Deno.execPath(), [
    ...["run", "--allow-read", "--allow-write", "appliance/update_tool.ts", "sign"],
    ...["appliance/keys/update_private.pem", `${dir}.tar.gz`, `${dir}.pbu`, version, denoArch],
  ]);
  return `${dir}.pbu`;
}

const BUNDLE = `dist/pushbridge-${denoArch}-linux-bundle`;
const UPDATES = "/var/lib/pushbridge/data/updates";

const mailstore = await startMailstore({ postfix: false, sieve: false });
const work = await Deno.makeTempDir({ prefix: "pb-image-test-" });
let qemu: Deno.ChildProcess | undefined;
let relay: ImapsRelay | undefined;
try {
  const disk = `${work}/disk.img`;
  await Deno.copyFile(image, disk);
  await Deno.truncate(disk, 3 * 1024 * 1024 * 1024); // a "card" larger than the image: first boot grows data
  // Presets on the FAT boot partition (offset 1 MiB), as an installer would put them there.
  relay = await startImapsRelay(work, Number(new URL(mailstore.imapsUrl).port), mailstore.caPem);
  const smtpPort = new URL(mailstore.smtpUrl).port;
  await Deno.writeTextFile(
    `${work}/pushbridge.env`,
    [
      `PUSHBRIDGE_IMAP_URL=imaps://10.0.2.2:${relay.port}`,
      `PUSHBRIDGE_SMTP_URL=smtp://10.0.2.2:${smtpPort}`,
      "PUSHBRIDGE_MAILSTORE_CA=/var/lib/pushbridge/data/mailstore-ca.pem",
      // Emulation is slow: a good update needs time to start; the broken one waits this long before rollback.
      `PUSHBRIDGE_UPDATE_HEALTH_TIMEOUT=${150 * slow}`,
      "",
    ].join("\n"),
  );
  await Deno.writeTextFile(`${work}/mailstore-ca.pem`, relay.caPem);
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "image-test", "-f", `${work}/id`]);
  for (const [file, name] of [["mailstore-ca.pem"], ["pushbridge.env"], ["id.pub", "authorized_keys"]]) {
    await run("mcopy", ["-o", "-i", `${disk}@@1048576`, `${work}/${file}`, `::/${name ?? file}`]);
  }
  const setupPort = freePort();
  const easPort = freePort();
  const sshPort = freePort();
  const consoleLog = await Deno.open(`${work}/console.log`, { write: true, create: true });
  let machine: string[];
  if (arch === "amd64") {
    await Deno.copyFile(`${OVMF}/OVMF_VARS_4M.fd`, `${work}/vars.fd`);
    machine = [
      ...["qemu-system-x86_64", "-machine", "q35,accel=tcg", "-cpu", "max"],
      ...["-drive", `if=pflash,format=raw,readonly=on,file=${OVMF}/OVMF_CODE_4M.fd`],
      ...["-drive", `if=pflash,format=raw,file=${work}/vars.fd`],
    ];
  } else {
    // What the Pi firmware would load (config.txt: kernel=vmlinuz, initramfs initrd.img), from the image itself.
    for (const file of ["vmlinuz", "initrd.img", "cmdline.txt"]) {
      await run("mcopy", ["-o", "-i", `${disk}@@1048576`, `::/${file}`, `${work}/${file}`]);
    }
    const cmdline = (await Deno.readTextFile(`${work}/cmdline.txt`)).trim();
    assert.match(cmdline, /root=LABEL=pbroot/, "cmdline.txt boots the image's root partition");
    // The Pi's cmdline ends with its mini UART (ttyS0), which `virt` lacks: the last console= becomes
    // /dev/console, so virt's PL011 goes last for systemd's messages and the banner to reach console.log.
    machine = [
      ...["qemu-system-aarch64", "-machine", "virt,accel=tcg", "-cpu", "cortex-a72"],
      ...[
        "-kernel",
        `${work}/vmlinuz`,
        "-initrd",
        `${work}/initrd.img`,
        "-append",
        `${cmdline} console=ttyAMA0`,
      ],
    ];
  }
  qemu = new Deno.Command(machine[0]!, {
    args: [
      ...machine.slice(1),
      ...["-m", "1536", "-smp", "2", "-nographic", "-no-reboot"],
      ...["-drive", `file=${disk},format=raw,if=virtio`],
      "-nic",
      `user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:${setupPort}-:8080,hostfwd=tcp:127.0.0.1:${easPort}-:443,hostfwd=tcp:127.0.0.1:${sshPort}-:22`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  qemu.stdout.pipeTo(consoleLog.writable).catch(() => {});
  qemu.stderr.cancel().catch(() => {});

  /** Runs a shell command as root in the VM (key login through the forwarded port 22). */
  const ssh = (command: string) =>
    run("ssh", [
      ...["-i", `${work}/id`, "-p", String(sshPort), "-o", "BatchMode=yes", "-o", "ConnectTimeout=30"],
      ...["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"],
      "root@127.0.0.1",
      command,
    ]);

  const started = Date.now();
  let health: { ok: boolean; version: string } | undefined;
  while (Date.now() - started < bootTimeoutMs && !(health = await healthOf(setupPort))?.ok) {
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
  assert.ok(
    health?.ok,
    `setup page did not answer within ${bootTimeoutMs / 1000} s (see ${work}/console.log)`,
  );
  const bootSeconds = Math.round((Date.now() - started) / 1000);
  console.log(`setup page answered after ${bootSeconds} s: ${JSON.stringify(health)}`);

  // Units and firewall, seen from inside (the console only shows failures in "quiet" mode).
  console.log((await ssh("journalctl -b -u pushbridge-firstboot -o cat --no-pager")).trim());
  const failed = (await ssh("systemctl --failed --no-legend --plain")).trim();
  const ruleset = await ssh("systemctl is-active nftables.service && nft list table inet pushbridge");
  console.log(`failed units: ${failed || "none"}; nftables: ${ruleset.split("\n")[0]}`);
  assert.equal(failed, "", `units failed in the VM:\n${failed}`);
  assert.match(ruleset, /policy drop/, "the pushbridge firewall table is loaded");

  const timings: string[] = [`boot to setup page ${bootSeconds} s`];
  /** Seconds since `since`, noted for the summary line. */
  const took = (what: string, since: number) => {
    const seconds = Math.round((Date.now() - since) / 1000);
    timings.push(`${what} ${seconds} s`);
    return seconds;
  };

  const user = mailstore.users[0]!;
  const syncStarted = Date.now();
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
  if (reply.status !== 200) {
    console.log(await ssh("journalctl -b -u pushbridge -o cat --no-pager | tail -n 40").catch(String));
  }
  assert.equal(reply.status, 200, `FolderSync answered HTTP ${reply.status}`);
  assert.equal(childText(reply.body, "Status"), "1");
  const changes = childrenNamed(reply.body?.children?.find((c) => c.name === "Changes"), "Add");
  const names = changes.map((add) => childText(add, "DisplayName"));
  // Type 2 is the default Inbox (MS-ASCMD 2.2.3.186.3); its DisplayName is the mailstore's own ("INBOX").
  assert.ok(
    changes.some((add) => childText(add, "Type") === "2"),
    `FolderSync lists no Inbox: ${JSON.stringify(names)}`,
  );
  console.log(
    `FolderSync through the VM: ${names.length} folders (${names.join(", ")}) in ${
      took("FolderSync", syncStarted)
    } s`,
  );
  client.close();

  /** Uploads an update as the setup page would (whole file, then renamed into the watched path) and waits for the installer. */
  const install = async (file: string) => {
    await run("scp", [
      ...["-i", `${work}/id`, "-P", String(sshPort), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"],
      ...["-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"],
      file,
      `root@127.0.0.1:${UPDATES}/upload.part`,
    ]);
    const out = await ssh(
      [
        `mv ${UPDATES}/upload.part ${UPDATES}/incoming.pbu`,
        `i=0; while [ -e ${UPDATES}/incoming.pbu ] && [ $i -lt 120 ]; do sleep 1; i=$((i+1)); done`,
        "sleep 1",
        // Bounded: the health timeout (a broken release is rolled back after it) plus the install itself.
        `j=0; while [ "$(systemctl show -p ActiveState --value pushbridge-update.service)" = activating ] && [ $j -lt ${
          75 * slow + 150
        } ]; do sleep 2; j=$((j+1)); done`,
        "journalctl -u pushbridge-update.service -o cat --no-pager | tail -n 12",
        "echo current=$(readlink /var/lib/pushbridge/releases/current)",
      ].join("; "),
    );
    console.log(out.trim());
    return { current: /current=(\S*)/.exec(out)?.[1] ?? "", health: await healthOf(setupPort) };
  };

  const good = await makeUpdate(work, `${health.version}.1`);
  const goodStarted = Date.now();
  const afterGood = await install(good);
  took("update", goodStarted);
  assert.equal(afterGood.health?.version, `${health.version}.1`, "the good update runs");
  assert.match(
    afterGood.current,
    new RegExp(`^${health.version}\\.1-`),
    "current points at the good release",
  );

  const broken = await makeUpdate(
    work,
    `${health.version}.2`,
    `#!/bin/sh\n# A deliberately broken release: it reports its version and cannot serve.\n[ "$1" = --version ] && { echo "pushbridge ${health.version}.2"; exit 0; }\necho "broken release" >&2\nexit 1\n`,
  );
  const brokenStarted = Date.now();
  const afterBroken = await install(broken);
  took("rollback", brokenStarted);
  assert.equal(afterBroken.health?.version, `${health.version}.1`, "the broken update was rolled back");
  assert.equal(afterBroken.current, afterGood.current, "current points at the good release again");
  console.log(`updates: ${health.version}.1 installed, ${health.version}.2 rolled back`);
  console.log(`image-test ${arch} timings: ${timings.join(", ")}`);
} finally {
  if (qemu) {
    try {
      qemu.kill("SIGKILL");
    } catch { /* exited */ }
    await qemu.status;
  }
  relay?.close();
  await mailstore.stop();
  if (Deno.env.get("IMAGE_TEST_KEEP") !== "1") await Deno.remove(work, { recursive: true });
}
