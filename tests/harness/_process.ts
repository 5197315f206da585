/**
 * Child process helpers shared by the server starters: spawn with output captured to a log
 * file, wait until a port accepts connections, stop with SIGTERM then SIGKILL.
 *
 * @module
 */

/** How long a server may take to open its ports; Dovecot alone is ready in well under a second. */
export const STARTUP_TIMEOUT_MS = 15_000;
/** How long a server may take to exit after SIGTERM before its process group is killed. */
export const STOP_TIMEOUT_MS = 2_000;

/** Open file limit of the servers: plenty for tests, small enough for fast startup. */
const OPEN_FILES_LIMIT = 4_096;

/** A started server process whose stdout and stderr go to `logFile`. */
export interface ServerProcess {
  name: string;
  child: Deno.ChildProcess;
  /** Extra log files (e.g. the server's own log_path) shown when startup fails. */
  logFiles: string[];
  /** Resolves once the output pump has finished and the process has exited. */
  done: Promise<Deno.CommandStatus>;
}

/**
 * Spawns `command` with stdout and stderr appended to `outputLog`. It runs through setsid(1) as the
 * leader of a new process group, so stopServer() can signal it together with all its children.
 */
export function spawnServer(
  name: string,
  command: string,
  args: string[],
  outputLog: string,
  logFiles: string[] = [],
  env: Record<string, string> = {},
): ServerProcess {
  // Deno raises the open file limit to the hard limit; servers that close every possible descriptor
  // at startup (Postfix's master) stay cheap with a lower soft limit, set by the shell first.
  // Deno's children are never group leaders, so setsid execs in place and the pid stays the server's.
  const child = new Deno.Command("sh", {
    args: ["-c", `ulimit -Sn ${OPEN_FILES_LIMIT} 2>/dev/null; exec setsid "$@"`, "sh", command, ...args],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const file = Deno.openSync(outputLog, { write: true, create: true, append: true });
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) file.writeSync(chunk);
  };
  const done = Promise.all([pump(child.stdout), pump(child.stderr), child.status]).then(([, , status]) => {
    file.close();
    return status;
  });
  return { name, child, logFiles: [outputLog, ...logFiles], done };
}

/** Last `lines` lines of each readable log of `server`, for error messages. */
export function logTail(server: ServerProcess, lines = 20): string {
  const parts: string[] = [];
  for (const path of server.logFiles) {
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch {
      continue;
    }
    const tail = text.trimEnd().split("\n").slice(-lines).join("\n");
    if (tail) parts.push(`--- ${path}\n${tail}`);
  }
  return parts.join("\n") || "(no log output)";
}

/** How long a probe waits for a greeting from a port that accepted the connection. */
const GREETING_TIMEOUT_MS = 2_000;

/**
 * True when something accepts TCP connections on 127.0.0.1:`port` and, with `greets`, sends its
 * first bytes (an SMTP, LMTP, IMAP or ManageSieve greeting). Waiting for the greeting matters for
 * Dovecot: a login process still reading its config ignores SIGTERM, so a stop right after startup
 * would hang on it.
 */
export async function portAccepts(port: number, greets = false): Promise<boolean> {
  let conn: Deno.Conn;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch {
    return false;
  }
  try {
    if (!greets) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((resolve) =>
      timer = setTimeout(() => resolve(null), GREETING_TIMEOUT_MS)
    );
    const count = await Promise.race([conn.read(new Uint8Array(512)), timeout]).catch(() => null);
    clearTimeout(timer);
    return count !== null && count > 0;
  } finally {
    conn.close();
  }
}

/** A port to wait for; `greets` when the protocol has the server speak first. */
export interface PortProbe {
  port: number;
  greets: boolean;
}

/**
 * Waits until every port accepts connections; throws with the log tail when the process exits
 * first or the deadline passes.
 */
export async function waitForPorts(
  server: ServerProcess,
  probes: (number | PortProbe)[],
  timeoutMs = STARTUP_TIMEOUT_MS,
): Promise<void> {
  const greets = new Map(
    probes.map((probe) => typeof probe === "number" ? [probe, false] : [probe.port, probe.greets]),
  );
  let exited: Deno.CommandStatus | undefined;
  server.done.then((status) => exited = status, () => {});
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(greets.keys());
  while (pending.size > 0) {
    if (exited) {
      throw new Error(
        `Server "${server.name}" exited with code ${exited.code} before port ${
          [...pending].join(", ")
        } opened\n${logTail(server)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Server "${server.name}" did not open port ${[...pending].join(", ")} within ${timeoutMs} ms\n${
          logTail(server)
        }`,
      );
    }
    for (const port of [...pending]) {
      if (await portAccepts(port, greets.get(port))) pending.delete(port);
    }
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Signals the server's whole process group; errors mean the group is already gone. */
function signalGroup(server: ServerProcess, signal: Deno.Signal): void {
  try {
    Deno.kill(-server.child.pid, signal);
  } catch {
    // Already exited.
  }
}

/**
 * Sends SIGTERM to the server's process group, waits up to STOP_TIMEOUT_MS, then SIGKILLs the group;
 * always waits for the exit. Signalling the group at once matters for Dovecot: its master waits for
 * children that are still starting up and would otherwise hang until they time out.
 */
export async function stopServer(server: ServerProcess): Promise<void> {
  let exited = false;
  const done = server.done.finally(() => exited = true);
  signalGroup(server, "SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([done, new Promise((resolve) => timer = setTimeout(resolve, STOP_TIMEOUT_MS))]);
  clearTimeout(timer);
  if (!exited) signalGroup(server, "SIGKILL");
  await done;
  // Children that outlived the main process (none expected) go with the group.
  signalGroup(server, "SIGKILL");
}

/** Runs a short command to completion; throws with its output when it fails. */
export async function runChecked(command: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(command, { args, stdin: "null" }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (!output.success) {
    throw new Error(
      `Command "${command} ${args.join(" ")}" failed with code ${output.code}\n${text.trimEnd()}`,
    );
  }
  return text;
}

/** Fields of a getent line (passwd or group); throws when the name is unknown. */
async function getent(database: "passwd" | "group", name: string): Promise<string[]> {
  const output = await new Deno.Command("getent", { args: [database, name], stdin: "null" }).output();
  if (!output.success) {
    throw new Error(`System ${database === "passwd" ? "user" : "group"} "${name}" not found`);
  }
  return new TextDecoder().decode(output.stdout).trim().split(":");
}

/** Numeric gid of a system group, from getent. */
export async function systemGroup(name: string): Promise<number> {
  const gid = Number((await getent("group", name))[2]);
  if (!Number.isInteger(gid)) throw new Error(`System group "${name}" has no numeric id`);
  return gid;
}

/** Numeric uid and gid of a system account, from getent. */
export async function systemUser(name: string): Promise<{ uid: number; gid: number }> {
  const fields = await getent("passwd", name);
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new Error(`System user "${name}" has no numeric id`);
  }
  return { uid, gid };
}

/**
 * Polls a DAV server with a PROPFIND on `url` (authenticated as `user` when given) until it answers
 * 207, a multistatus and not just an open port; throws with the log tail when the server exits
 * first or the deadline passes.
 */
export async function waitForPropfind(
  server: ServerProcess,
  name: string,
  url: string,
  user?: { name: string; password: string },
): Promise<void> {
  let exited: Deno.CommandStatus | undefined;
  server.done.then((status) => exited = status, () => {});
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  const headers: Record<string, string> = { depth: "0", "content-type": "application/xml" };
  if (user) headers.authorization = `Basic ${btoa(`${user.name}:${user.password}`)}`;
  let last = "no answer";
  while (true) {
    if (exited) {
      throw new Error(
        `Server "${name}" exited with code ${exited.code} before answering\n${logTail(server)}`,
      );
    }
    try {
      const response = await fetch(url, {
        method: "PROPFIND",
        headers,
        body:
          '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/></d:prop></d:propfind>',
        signal: AbortSignal.timeout(1_000),
      });
      last = `${response.status} ${await response.text()}`;
      if (response.status === 207) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Server "${name}" did not answer 207 within ${STARTUP_TIMEOUT_MS} ms (last: ${last.slice(0, 300)})\n${
          logTail(server)
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
