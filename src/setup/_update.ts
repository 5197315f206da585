/**
 * Software update upload: the signed .pbu file is checked here (signature,
 * payload hash, architecture) for an immediate answer, then handed to the
 * appliance's pushbridge-update.path unit by an atomic rename to
 * `${dataDir}/updates/incoming.pbu`; the unit installs it, restarts the
 * service and rolls back when the new version is not healthy.
 *
 * @module
 */
import { UPDATE_ENV } from "../update/cli.ts";
import { importUpdatePublicKey, type UpdateManifest, verifyUpdateFile } from "../update/update_file.ts";
import type { SetupShared } from "./_context.ts";

/** Largest update accepted through the page: the offline bundle is well below it, and the upload is buffered. */
export const MAX_UPDATE_BYTES = 256 * 1024 * 1024;
/** Where the path unit looks (appliance/files/systemd/pushbridge-update.path). */
export const INCOMING_UPDATE = "updates/incoming.pbu";

/** Verifies an uploaded update and queues it for the installer; returns its manifest. */
export async function queueUpdate(shared: SetupShared, file: File): Promise<UpdateManifest> {
  if (file.size === 0) throw new RangeError("Choose an update file first");
  if (file.size > MAX_UPDATE_BYTES) {
    throw new RangeError(`Update of ${file.size} bytes exceeds ${MAX_UPDATE_BYTES}`);
  }
  const keyFile = shared.env[UPDATE_ENV.publicKeyFile[0]] || UPDATE_ENV.publicKeyFile[1];
  let key: CryptoKey;
  try {
    key = await importUpdatePublicKey(await Deno.readTextFile(keyFile));
  } catch (error) {
    throw new Error(
      `Updates cannot be verified on this box: update key '${keyFile}' cannot be read (${
        (error as Error).message
      })`,
    );
  }
  const dir = `${shared.deps.settings.dataDir}/updates`;
  await Deno.mkdir(dir, { recursive: true });
  const temporary = `${dir}/upload-${crypto.randomUUID()}.pbu`;
  try {
    await Deno.writeFile(temporary, file.stream());
    const { manifest } = await verifyUpdateFile(temporary, key);
    if (manifest.arch !== Deno.build.arch) {
      throw new RangeError(`Update is for '${manifest.arch}' but this box is '${Deno.build.arch}'`);
    }
    // The rename is atomic: the path unit never sees half a file.
    await Deno.rename(temporary, `${shared.deps.settings.dataDir}/${INCOMING_UPDATE}`);
    return manifest;
  } finally {
    await Deno.remove(temporary).catch(() => {});
  }
}
