/**
 * Throwaway Xandikos CalDAV/CardDAV server, the second DAV server the bridge is checked against
 * (issue 6: Radicale from the harness, Xandikos as a cross-check).
 *
 * Xandikos (0.2.x, Debian's /usr/bin/xandikos) has no authentication of its own: it expects a
 * reverse proxy in front. It ignores the Basic credentials the bridge sends and answers every
 * request as the one principal given by `--current-user-principal`. So one server serves one user;
 * the principal is `/<name>/`. With `--defaults` it creates, under that principal:
 * `/<name>/calendars/calendar/` (VEVENT, VTODO, VJOURNAL, VFREEBUSY) and
 * `/<name>/contacts/addressbook/`, with calendar-home-set `/<name>/calendars/` and
 * addressbook-home-set `/<name>/contacts/`. Every collection is a git repository; sync tokens
 * and ctags are commit ids.
 *
 * @module
 */

import type { HarnessUser } from "./_dovecot.ts";
import { freePort } from "./free_port.ts";
import { type ServerProcess, spawnServer, stopServer, waitForPropfind } from "./_process.ts";

/** What startXandikos() needs: exactly one user, since Xandikos serves a single principal. */
export interface XandikosSetup {
  users: HarnessUser[];
}

/** A running Xandikos with its layout for the one user. */
export interface XandikosServer {
  /** Server root, e.g. `http://127.0.0.1:41234/`. */
  url: string;
  port: number;
  user: HarnessUser;
  /** The principal (`/<name>/`), which is also what current-user-principal names. */
  principal: string;
  /** The calendar --defaults made (`/<name>/calendars/calendar/`). */
  calendar: string;
  /** The address book --defaults made (`/<name>/contacts/addressbook/`). */
  addressbook: string;
  /** Kills the server and removes its directory. */
  stop(): Promise<void>;
}

/** A principal name Xandikos can use as one path segment. */
const USER_NAME = /^[a-z][a-z0-9_-]*$/;

/**
 * Starts `xandikos --defaults` on a random loopback port with a temp directory and waits until it
 * answers a PROPFIND on `/`.
 */
export async function startXandikos(setup: XandikosSetup): Promise<XandikosServer> {
  if (setup.users.length !== 1) {
    throw new Error(
      `Xandikos serves one principal without authentication; got ${setup.users.length} users, expected "1"`,
    );
  }
  const user = setup.users[0]!;
  if (!USER_NAME.test(user.name)) throw new Error(`User name "${user.name}" is not a plain path segment`);
  const dir = await Deno.makeTempDir({ prefix: "pushbridge-xandikos-" });
  const port = freePort();
  const principal = `/${user.name}/`;
  let server: ServerProcess | undefined;
  try {
    server = spawnServer("xandikos", "/usr/bin/xandikos", [
      "--defaults",
      "-d",
      `${dir}/data`,
      "-l",
      "127.0.0.1",
      "-p",
      String(port),
      "--current-user-principal",
      principal,
    ], `${dir}/xandikos.log`);
    const url = `http://127.0.0.1:${port}/`;
    await waitForPropfind(server, "xandikos", url);
    const running = server;
    return {
      url,
      port,
      user,
      principal,
      calendar: `${principal}calendars/calendar/`,
      addressbook: `${principal}contacts/addressbook/`,
      async stop() {
        await stopServer(running);
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (error) {
    if (server) await stopServer(server);
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}
