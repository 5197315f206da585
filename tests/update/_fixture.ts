/**
 * Test releases for the update tests: `bin/pushbridge` is a shell script that
 * reports its version and, on `serve`, starts a tiny /healthz server (good
 * release) or migrates the database and exits (broken release), packed and
 * signed like a real update.
 */
import {
  generateUpdateKeyPair,
  importUpdatePrivateKey,
  importUpdatePublicKey,
  writeUpdateFile,
} from "../../src/update/update_file.ts";

/** A signing key pair for tests. */
export async function testKeys(): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey }> {
  const pair = await generateUpdateKeyPair();
  return {
    privateKey: await importUpdatePrivateKey(pair.privatePem),
    publicKey: await importUpdatePublicKey(pair.publicBase64),
  };
}

const SERVER = `const [version, port] = Deno.args;
Deno.serve({ hostname: "127.0.0.1", port: Number(port), onListen: () => {} },
  () => Response.json({ ok: true, version }));`;

const MIGRATE = `import { DatabaseSync } from "node:sqlite";
const db = new DatabaseSync(Deno.args[0]);
db.exec("PRAGMA user_version = 999");
db.close();`;

/** What a test release does when started. */
export type ReleaseBehaviour = "healthy" | "crashes-after-migrating" | "exits";

/**
 * Writes a release tree into `dir` and packs it as `dir.tar.gz`; returns the
 * tarball's path. `reportedVersion` differs from `version` to fake a mislabelled payload.
 */
export async function makeRelease(
  dir: string,
  version: string,
  behaviour: ReleaseBehaviour,
  reportedVersion = version,
): Promise<string> {
  await Deno.mkdir(`${dir}/bin`, { recursive: true });
  await Deno.mkdir(`${dir}/lib`, { recursive: true });
  await Deno.writeTextFile(`${dir}/lib/server.ts`, SERVER);
  await Deno.writeTextFile(`${dir}/lib/migrate.ts`, MIGRATE);
  const deno = Deno.execPath();
  const serve = behaviour === "healthy"
    ? `exec "${deno}" run --quiet --allow-net "$here/../lib/server.ts" ${version} "$TEST_HEALTH_PORT"`
    : behaviour === "crashes-after-migrating"
    ? `"${deno}" run --quiet --allow-read --allow-write "$here/../lib/migrate.ts" "$PUSHBRIDGE_DATA/pushbridge.sqlite"; exit 1`
    : "exit 1";
  await Deno.writeTextFile(
    `${dir}/bin/pushbridge`,
    `#!/bin/sh
here=$(dirname "$(readlink -f "$0")")
case "$1" in
  --version) echo "pushbridge ${reportedVersion}" ;;
  serve) ${serve} ;;
  *) exit 2 ;;
esac
`,
    { mode: 0o755 },
  );
  const tarball = `${dir}.tar.gz`;
  const tar = await new Deno.Command("tar", { args: ["-czf", tarball, "-C", dir, "."] }).output();
  if (!tar.success) throw new Error("tar failed");
  return tarball;
}

/** Packs and signs a release as an update file. */
export async function makeUpdate(
  work: string,
  version: string,
  behaviour: ReleaseBehaviour,
  privateKey: CryptoKey,
  options: { arch?: string; reportedVersion?: string } = {},
): Promise<string> {
  const tarball = await makeRelease(
    `${work}/src-${version}-${behaviour}`,
    version,
    behaviour,
    options.reportedVersion,
  );
  const file = `${work}/pushbridge-${version}-${behaviour}.pbu`;
  await writeUpdateFile(
    file,
    tarball,
    { version, arch: options.arch ?? Deno.build.arch, kind: "bundle" },
    privateKey,
  );
  return file;
}

/** A free loopback port. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * A stand-in for systemd: start runs `<releases>/current/bin/pushbridge serve`
 * as a child process, stop kills it.
 */
export class FakeService {
  #child: Deno.ChildProcess | undefined;
  starts = 0;
  constructor(readonly releasesDir: string, readonly dataDir: string, readonly port: number) {}

  start = (): Promise<void> => {
    this.starts++;
    this.#child = new Deno.Command(`${this.releasesDir}/current/bin/pushbridge`, {
      args: ["serve"],
      env: { TEST_HEALTH_PORT: String(this.port), PUSHBRIDGE_DATA: this.dataDir },
      stdout: "null",
      stderr: "null",
      stdin: "null",
    }).spawn();
    return Promise.resolve();
  };

  stop = async (): Promise<void> => {
    const child = this.#child;
    this.#child = undefined;
    if (!child) return;
    try {
      child.kill("SIGTERM");
    } catch { /* exited already */ }
    await child.status;
  };
}
