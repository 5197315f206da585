/**
 * Throwaway SabreDAV server (Debian's php-sabre-dav 1.8 under `php -S`), the CalDAV server with
 * an RFC 6638 scheduling outbox among the harness servers (issues 6 and 8): Radicale and Xandikos
 * have none. Its principals name `schedule-outbox-URL` (`/calendars/<name>/outbox`) and a
 * calendar-user-address-set from the user's email, and a POST of a VFREEBUSY request to the outbox
 * answers the busy time of other users (RFC 6638 3.2.2 / the CalDAV plugin's outboxRequest()).
 * Sabre 1.8 does no implicit scheduling on PUT (that came with Sabre 2's schedule plugin).
 *
 * The server script and its schema are tests/fixtures/sabredav/{server,init}.php: PDO SQLite
 * backends, Basic auth against the harness users' plain passwords, CalDAV + CardDAV + ACL.
 * Layout per user: principal `/principals/<name>/`, calendar-home-set `/calendars/<name>/` with
 * `calendar/`, addressbook-home-set `/addressbooks/<name>/` with `contacts/`. Calendars have
 * ctags but no sync-token (Sabre 1.8 has no sync-collection REPORT).
 *
 * Needs the Debian packages php-cli, php-sqlite3 and php-sabre-dav; without them startSabreDav()
 * throws saying so (tests must fail, not skip, when the server is missing).
 *
 * @module
 */

import type { HarnessUser } from "./_dovecot.ts";
import { freePort } from "./free_port.ts";
import { type ServerProcess, spawnServer, stopServer, waitForPropfind } from "./_process.ts";

/** Where Debian installs PHP and SabreDAV's autoloader (package php-sabre-dav). */
const PHP = "/usr/bin/php";
const SABRE_AUTOLOAD = "/usr/share/php/Sabre/autoload.php";
const FIXTURES = new URL("../fixtures/sabredav/", import.meta.url).pathname;

/** A running SabreDAV with the layout of its users. */
export interface SabreDavServer {
  /** Server root, e.g. `http://127.0.0.1:41234/`. */
  url: string;
  port: number;
  users: HarnessUser[];
  /** `/principals/<name>/` */
  principal(name: string): string;
  /** The user's one calendar, `/calendars/<name>/calendar/`. */
  calendar(name: string): string;
  /** The user's one address book, `/addressbooks/<name>/contacts/`. */
  addressbook(name: string): string;
  /** The RFC 6638 schedule-outbox-URL, `/calendars/<name>/outbox`. */
  outbox(name: string): string;
  /** Kills the server and removes its directory. */
  stop(): Promise<void>;
}

/** A user name usable as one path segment and in the users file. */
const USER_NAME = /^[a-z][a-z0-9_-]*$/;

/** Throws a clear error when PHP or SabreDAV is not installed. */
async function requireInstalled(): Promise<void> {
  const missing: string[] = [];
  for (const [path, pkg] of [[PHP, "php-cli"], [SABRE_AUTOLOAD, "php-sabre-dav"]] as const) {
    try {
      await Deno.stat(path);
    } catch {
      missing.push(`${pkg} (${path})`);
    }
  }
  if (missing.length) {
    throw new Error(
      `SabreDAV test server needs the Debian packages php-cli php-sqlite3 php-sabre-dav; missing: ${
        missing.join(", ")
      }`,
    );
  }
}

/**
 * Creates the SQLite database with a principal, a calendar and an address book per user, starts
 * `php -S 127.0.0.1:PORT server.php` and waits until it answers an authenticated PROPFIND.
 */
export async function startSabreDav(users: HarnessUser[]): Promise<SabreDavServer> {
  await requireInstalled();
  for (const user of users) {
    if (!USER_NAME.test(user.name)) throw new Error(`User name "${user.name}" is not a plain path segment`);
    if (/[\n:]/.test(user.name) || user.password.includes("\n")) {
      throw new Error(`User "${user.name}" cannot be written to the users file`);
    }
  }
  const dir = await Deno.makeTempDir({ prefix: "pushbridge-sabredav-" });
  let server: ServerProcess | undefined;
  try {
    const init = await new Deno.Command(PHP, {
      args: [`${FIXTURES}init.php`, dir, ...users.map((u) => `${u.name}:${u.password}:${u.email}`)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!init.success) {
      throw new Error(
        `SabreDAV init.php failed (code ${init.code}): ${new TextDecoder().decode(init.stderr)}${
          new TextDecoder().decode(init.stdout)
        } (is php-sqlite3 installed?)`,
      );
    }
    const port = freePort();
    server = spawnServer(
      "sabredav",
      PHP,
      ["-S", `127.0.0.1:${port}`, `${FIXTURES}server.php`],
      `${dir}/sabredav.log`,
      [],
      { SABREDAV_DATA: dir },
    );
    const url = `http://127.0.0.1:${port}/`;
    await waitForPropfind(server, "sabredav", url, users[0]);
    const running = server;
    return {
      url,
      port,
      users,
      principal: (name) => `/principals/${name}/`,
      calendar: (name) => `/calendars/${name}/calendar/`,
      addressbook: (name) => `/addressbooks/${name}/contacts/`,
      outbox: (name) => `/calendars/${name}/outbox`,
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
