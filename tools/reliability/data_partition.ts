/**
 * A small data partition of its own for the storage-fault scenario and tests: an ext4 file
 * system in a loop-mounted image (root only) that can be filled until writes fail, emptied again,
 * and turned read-only under a running box the way a flash box's partition goes read-only:
 * ext4's `errors=remount-ro` after a file-system error. A plain `mount -o remount,ro` is refused
 * (EBUSY) while SQLite holds its file open for writing, so that is not what happens in the field.
 *
 * @module
 */

async function run(command: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${command} ${args.join(" ")} failed: ${text.trim()}`);
  return text;
}

/** Why mounting cannot work here (not root, no loop device, no ext4 tools), or undefined when it can. */
export function mountUnavailable(): string | undefined {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "needs root to mount a file system";
  try {
    Deno.statSync("/dev/loop-control");
  } catch {
    return "no loop devices";
  }
  for (const tool of ["/usr/sbin/mkfs.ext4", "/usr/sbin/e2fsck"]) {
    try {
      Deno.statSync(tool);
    } catch {
      return `${tool} is missing`;
    }
  }
  return undefined;
}

/** A mounted ext4 image: the data dir at `dir`. */
export class DataPartition {
  #device = "";
  #fillers = 0;

  private constructor(readonly dir: string, readonly image: string) {}

  /** Makes and mounts a `megabytes` ext4 image (no journal, no blocks reserved for root). */
  static async create(megabytes: number): Promise<DataPartition> {
    const dir = await Deno.makeTempDir({ prefix: "pushbridge-partition-" });
    const image = `${dir}.img`;
    // No journal: a journal aborted by the error that turns the partition read-only would refuse
    // the remount until fsck, and the scenario wants the repair step to be explicit anyway.
    await run("truncate", "-s", `${megabytes}M`, image);
    await run("/usr/sbin/mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal", image);
    const partition = new DataPartition(dir, image);
    await partition.mount();
    return partition;
  }

  /** Mounts the image at `dir` (errors=remount-ro, as the appliance's data partition; or read-only). */
  async mount(readOnly = false): Promise<void> {
    await run(
      "mount",
      "-t",
      "ext4",
      "-o",
      `loop,errors=remount-ro${readOnly ? ",ro" : ""}`,
      this.image,
      this.dir,
    );
    const line = (await run("findmnt", "-n", "-o", "SOURCE", this.dir)).trim();
    this.#device = line.replace(/^\/dev\//, "");
  }

  /** Fills the free space with a file until the file system answers ENOSPC; returns the bytes written. */
  async fill(): Promise<number> {
    const path = `${this.dir}/filler-${this.#fillers++}`;
    const file = await Deno.open(path, { write: true, create: true });
    const chunk = new Uint8Array(64 * 1024).fill(0x5a);
    let written = 0;
    try {
      while (true) {
        written += await file.write(chunk);
      }
    } catch (error) {
      if (!(error instanceof Error) || !/No space left|ENOSPC|os error 28/.test(error.message)) throw error;
    } finally {
      file.close();
    }
    // Smaller pieces too: the last blocks of the partition.
    const small = await Deno.open(path, { append: true });
    try {
      for (let size = 32 * 1024; size >= 512; size /= 2) {
        try {
          while (true) written += await small.write(new Uint8Array(size));
        } catch {
          // next smaller size
        }
      }
    } finally {
      small.close();
    }
    return written;
  }

  /** Removes what fill() wrote: space returns. */
  async free(): Promise<void> {
    for await (const entry of Deno.readDir(this.dir)) {
      if (entry.name.startsWith("filler-")) await Deno.remove(`${this.dir}/${entry.name}`);
    }
  }

  /**
   * Turns the mounted file system read-only under whoever has files open: an ext4 error with
   * errors=remount-ro (the kernel's trigger_fs_error test hook, the same path as a real I/O error).
   */
  async breakToReadOnly(): Promise<void> {
    await Deno.writeTextFile(`/sys/fs/ext4/${this.#device}/trigger_fs_error`, "pushbridge storage fault");
    const options = (await run("findmnt", "-n", "-o", "OPTIONS", this.dir)).trim();
    if (!/(^|,)ro(,|$)|emergency_ro/.test(options)) {
      throw new Error(`The partition did not turn read-only: ${options}`);
    }
  }

  /** Unmounts, runs fsck (as the appliance does at boot after an error) and mounts read-write again. */
  async repair(): Promise<string> {
    await this.unmount();
    const out = await new Deno.Command("/usr/sbin/e2fsck", {
      args: ["-fy", this.image],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    // 0 clean, 1 errors corrected (the error flag the trigger set): both leave a usable file system.
    if (out.code > 1) throw new Error(`e2fsck exited ${out.code}: ${new TextDecoder().decode(out.stdout)}`);
    await this.mount();
    return `e2fsck ${out.code}`;
  }

  async unmount(): Promise<void> {
    await run("umount", this.dir);
  }

  /** Unmounts (when mounted) and deletes the image and the mount point. */
  async destroy(): Promise<void> {
    await run("umount", this.dir).catch(() => {});
    await Deno.remove(this.image).catch(() => {});
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
