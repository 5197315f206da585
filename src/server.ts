import { passwordRecovery } from "./admin/password_recovery.ts";
import { CompositeBackend } from "./backend/composite.ts";
import type { CredentialChecker, Credentials, FolderSource } from "./backend/types.ts";
import type { Settings } from "./config/settings.ts";
import { Authenticator } from "./http/auth.ts";
import { createAutodiscover } from "./http/autodiscover.ts";
import { createEasApp } from "./http/eas_app.ts";
import { serveHttp1 } from "./http/http1_server.ts";
import type { Logger } from "./log/logger.ts";
import { ProtocolTracer, TrafficMeter } from "./log/trace.ts";
import { createSetupApp } from "./setup/setup_app.ts";
import { Store } from "./store/mod.ts";
import { ensureCertificate, loadCertificatePair, localHostNames } from "./tls/load.ts";
import { ImapConnectionPool } from "./bridge/imap/connection_pool.ts";
import { DavBackend } from "./bridge/dav/dav_backend.ts";
import { DavClient, type DavHomes } from "./bridge/dav/dav_client.ts";
import { searchContacts } from "./bridge/dav/contact_search.ts";
import { easMeetingRequest, meetingRequestFromIcs } from "./bridge/dav/meeting.ts";
import type { MeetingRequestReader } from "./backend/mail.ts";
import { DavAvailability } from "./bridge/dav/availability.ts";
import { ImapMailBackend } from "./bridge/imap/mail_backend.ts";
import { ImapMailOperations } from "./bridge/imap/folder_ops.ts";
import { SmtpSubmitter } from "./bridge/smtp/smtp_submitter.ts";
import { createGalDirectory } from "./bridge/gal/mod.ts";
import { ImapMailSearch } from "./bridge/imap/search.ts";
import { manageSieveTarget, SieveOutOfOffice } from "./bridge/sieve/sieve_oof.ts";
import type { CommandContext } from "./eas/commands/context.ts";
import { autodiscoverDomains } from "./store/mail_domains.ts";
import { ImapWatcherFactory } from "./bridge/imap/watcher.ts";
import { ChangeHub } from "./push/hub.ts";
import { stopPhotoWorkers } from "./image/fit_photo_off_thread.ts";
import { PollingWatcherFactory } from "./push/polling_watcher.ts";
import type { WatcherFactory } from "./push/watcher.ts";
import { davStateProbe } from "./bridge/dav/dav_probe.ts";
import { ITEM_FOLDER_PREFIX } from "./backend/items.ts";
import { heartbeatBounds } from "./push/limits.ts";
import type { PushContext } from "./push/push_context.ts";
import { StormGuard } from "./push/storm_guard.ts";
import { createPolicyGate } from "./http/policy_gate.ts";
import { DeviceEventPoller } from "./admin/events.ts";
import { DeviceAdmin } from "./admin/device_admin.ts";
import { SmtpNotifier } from "./admin/notifier.ts";
import { createProvisioningHooks } from "./admin/provisioning_hooks.ts";
import { type AppliedSettings, settingsToApply } from "./setup/apply_settings.ts";

/** A running box: its listeners and how to stop them. */
export interface RunningServer {
  easUrl: string;
  setupUrl: string;
  /** PEM of the CA that signed the served certificate (self-signed mode), for clients and tests. */
  caCertPem?: string;
  store: Store;
  /** Direct Push: the hub (provisioning calls push.hub.kick(user, deviceId) on wipes and policy changes). */
  push: PushContext;
  /** Ends held Pings on wipes and policy changes; in-process admin operations pass it `onEvent: e => deviceEvents.deliver(e)`. */
  deviceEvents: DeviceEventPoller;
  /** Applies saved mailstore settings in process (what the setup page calls after saving). */
  applySettings(): Promise<AppliedSettings>;
  close(): Promise<void>;
}

/**
 * Composes the box from settings: store, certificate, bridges, HTTP apps,
 * and starts the EAS listener (TLS) and the setup listener.
 */
export async function startPushbridge(
  settings: Settings,
  log: Logger,
  options: { restart?: () => void; env?: Record<string, string | undefined> } = {},
): Promise<RunningServer> {
  await Deno.mkdir(settings.dataDir, { recursive: true });
  const store = Store.open(`${settings.dataDir}/pushbridge.sqlite`);
  // Per-device protocol traces and the dashboard's traffic counts, shared by the EAS app and the setup page.
  const tracer = new ProtocolTracer(store.traces);
  const traffic = new TrafficMeter();
  // Direct Push; its hub is replaced with the bridges when the setup page applies new mailstore settings.
  const push: PushContext = {
    hub: new ChangeHub(),
    storm: new StormGuard(),
    heartbeat: heartbeatBounds(settings.heartbeatMaxSeconds),
  };
  // Ends held Pings on wipes and policy changes made by the CLI (another process).
  const deviceEvents = new DeviceEventPoller({
    store,
    kick: (user, deviceId) => push.hub.kick(user, deviceId),
    log,
  });
  deviceEvents.start();
  // Everything that talks to the mailstore, composed again (and the old parts closed) by applySettings.
  const compose = async (settings: Settings) => {
    const mailstoreCaCerts = settings.mailstoreCaFile
      ? [await Deno.readTextFile(settings.mailstoreCaFile)]
      : undefined;

    const imapPool = settings.imapUrl
      ? new ImapConnectionPool({
        url: settings.imapUrl,
        ...(mailstoreCaCerts ? { caCerts: mailstoreCaCerts } : {}),
        log,
      })
      : undefined;
    const checkCredentials: CredentialChecker = imapPool
      ? (credentials) => imapPool.checkLogin(credentials)
      : () => Promise.resolve("unavailable");
    const auth = new Authenticator(checkCredentials);
    const backendFor = (credentials: Credentials): CompositeBackend => {
      const sources: FolderSource[] = [];
      // The mail backend is the folder source of IMAP folders and serves their items (Sync, ItemOperations).
      if (imapPool) sources.push(new ImapMailBackend(imapPool, credentials, { readMeetingRequest }));
      // Calendars, contacts, tasks and notes over CalDAV/CardDAV with the user's own credentials.
      if (settings.davUrl) {
        const davUrl = settings.davUrl;
        sources.push(
          new DavBackend({
            client: new DavClient({
              url: davUrl,
              credentials,
              ...(mailstoreCaCerts ? { caCerts: mailstoreCaCerts } : {}),
            }),
            state: store.davState,
            user: credentials.user,
            selfEmails: () => {
              const domain = autodiscoverDomains(store.settings)[0];
              const user = credentials.user.toLowerCase();
              return Promise.resolve(user.includes("@") || !domain ? [user] : [`${user}@${domain}`, user]);
            },
            log: (event, fields) => log.warn(event, { user: credentials.user, ...fields }),
          }),
        );
      }
      return new CompositeBackend(sources);
    };

    // Submission with each user's own credentials (RFC 6409); the box never relays as itself.
    const submitter = settings.smtpUrl
      ? new SmtpSubmitter({
        url: `${
          settings.smtpUrl.implicitTls ? "smtps" : "smtp"
        }://${settings.smtpUrl.hostname}:${settings.smtpUrl.port}`,
        ...(mailstoreCaCerts ? { caCerts: mailstoreCaCerts } : {}),
      })
      : undefined;

    const autodiscover = createAutodiscover({
      auth,
      settings: store.settings,
      log,
      ...(settings.publicHostName ? { publicHostName: settings.publicHostName } : {}),
      ...(settings.imapUrl ? { imapUrl: settings.imapUrl } : {}),
      ...(settings.smtpUrl ? { smtpUrl: settings.smtpUrl } : {}),
    });
    const baseServices = userServices(settings, store, imapPool, mailstoreCaCerts);
    const recovery = await passwordRecovery(store, settings.dataDir);
    const servicesFor = (credentials: Credentials, user: string) => ({
      ...baseServices(credentials, user),
      passwordRecovery: recovery,
    });
    // One watcher per active user (IMAP NOTIFY or IDLE+STATUS), shared by all of the user's devices.
    const factories: WatcherFactory[] = [];
    if (settings.imapUrl) {
      factories.push(
        new ImapWatcherFactory({
          url: settings.imapUrl,
          ...(mailstoreCaCerts ? { caCerts: mailstoreCaCerts } : {}),
          // The watcher idles on the user's pooled connection: one IMAP connection per active user.
          ...(imapPool ? { pool: imapPool } : {}),
          log,
        }),
      );
    }
    // DAV collections have no push: pinged ones are polled by sync-token/getctag, shared per collection.
    if (settings.davUrl) {
      factories.push(
        new PollingWatcherFactory({
          prefix: ITEM_FOLDER_PREFIX,
          probe: davStateProbe({
            url: settings.davUrl,
            ...(mailstoreCaCerts ? { caCerts: mailstoreCaCerts } : {}),
          }),
          ...(settings.davPollSeconds ? { intervalMs: settings.davPollSeconds * 1000 } : {}),
        }),
      );
    }
    // The push-latency history of the status page survives a settings change (a new hub).
    const hub = new ChangeHub({ factories, latency: push.hub.latency });
    // Provisioning (MS-ASPROV): the policy gate, Provision's hooks, notices through the configured
    // sender account, and the poller that ends held Pings on wipes and policy changes made by the CLI.
    const notifier = new SmtpNotifier({
      store,
      log,
      env: Deno.env.toObject(),
      ...(submitter ? { smtpUrl: submitter.options.url } : {}),
      ...(mailstoreCaCerts ? { caCerts: mailstoreCaCerts } : {}),
    });
    const provisioning = createProvisioningHooks({ store, notifier, log });
    const easApp = createEasApp({
      // serveHttp1 refuses heads above LIMITS.maxHeaderBytes / maxHeaderFields itself.
      headersCheckedByTransport: true,
      store,
      auth,
      tracer,
      traffic,
      backendFor,
      log,
      autodiscover,
      servicesFor,
      push,
      gate: createPolicyGate({ notifier, log }),
      provisioning,
      ...(submitter ? { submitter } : {}),
      ...(imapPool
        ? { mailOpsFor: (credentials: Credentials) => new ImapMailOperations(imapPool, credentials) }
        : {}),
    });
    return { easApp, hub, imapPool };
  };
  let bridges = await compose(settings);
  push.hub = bridges.hub;
  let running = settings;
  // Only what the setup page changes is applied; settings given at start by other means stay.
  const storedAtStart = store.settings.all();
  // Saved mailstore settings apply at once (setup wizard, settings pages): new bridges first, then the
  // old ones close (held Pings answered, pooled IMAP connections logged out); phones simply reconnect.
  const applySettings = async (): Promise<AppliedSettings> => {
    const applied = settingsToApply(
      running,
      options.env ?? Deno.env.toObject(),
      store.settings.all(),
      storedAtStart,
    );
    const fresh = await compose(applied.settings);
    // Taken after the await: of two overlapping applies, each closes what it replaced, nothing leaks.
    const old = bridges;
    bridges = fresh;
    push.hub = bridges.hub;
    running = applied.settings;
    old.hub.close();
    await old.imapPool?.close();
    log.info("settings.applied", { restartNeeded: applied.restartNeeded.join(",") });
    return applied;
  };
  let tlsOptions: { cert: string; key: string } | undefined;
  let caCertPem: string | undefined;
  if (settings.tls.mode === "self-signed") {
    const names = localHostNames();
    if (settings.publicHostName) names.dnsNames.unshift(settings.publicHostName);
    const pair = await ensureCertificate(settings.dataDir, names);
    tlsOptions = { cert: pair.certPem, key: pair.keyPem };
    caCertPem = pair.caCertPem;
  } else if (settings.tls.mode === "files") {
    const pair = await loadCertificatePair(settings.tls.certFile, settings.tls.keyFile);
    tlsOptions = { cert: pair.certPem, key: pair.keyPem };
  }

  // The EAS listener runs on the box's own HTTP/1.1 transport (issue 11): header and idle timeouts,
  // a per-address connection cap, and a held Ping that costs no more than under Deno.serve.
  const easServer = serveHttp1({
    hostname: settings.listen.hostname,
    port: settings.listen.port,
    ...(tlsOptions ?? {}),
    onError: (error) => {
      log.error("http.crash", { error });
      return new Response("Internal server error", { status: 500 });
    },
  }, (request, info) => bridges.easApp.fetch(request, info));
  const easAddr = easServer.addr;
  const scheme = tlsOptions ? "https" : "http";
  const setupApp = createSetupApp({
    store,
    settings,
    env: options.env ?? Deno.env.toObject(),
    tracer,
    traffic,
    push,
    log,
    // The page's wipes and policy changes end the device's held Ping in this process at once.
    admin: new DeviceAdmin({ store, actor: "setup:admin", onEvent: (event) => deviceEvents.deliver(event) }),
    easUrl: `${scheme}://${displayHost(easAddr.hostname)}:${easAddr.port}`,
    ...(caCertPem ? { caCertPem } : {}),
    ...(options.restart ? { restart: options.restart } : {}),
    applySettings,
  });
  const setupServer = Deno.serve({
    hostname: settings.setupListen.hostname,
    port: settings.setupListen.port,
    onListen: () => {},
  }, setupApp.fetch);
  const setupAddr = setupServer.addr as Deno.NetAddr;
  const result: RunningServer = {
    easUrl: `${scheme}://${displayHost(easAddr.hostname)}:${easAddr.port}`,
    setupUrl: `http://${displayHost(setupAddr.hostname)}:${setupAddr.port}`,
    store,
    push,
    deviceEvents,
    applySettings,
    async close() {
      // Held Pings are answered first: shutdown() waits for in-flight requests.
      push.hub.close();
      await Promise.allSettled([easServer.shutdown(), setupServer.shutdown()]);
      await bridges.imapPool?.close();
      deviceEvents.stop();
      // The photo worker would keep the process alive for its idle time; a later photo starts it again.
      stopPhotoWorkers();
      store.close();
    },
  };
  if (caCertPem) result.caCertPem = caCertPem;
  return result;
}

function displayHost(hostname: string): string {
  if (hostname === "0.0.0.0" || hostname === "::") return Deno.hostname();
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/**
 * Per-request services of Settings and Search: the user's identity (login,
 * or login@first served domain), the Out of Office over ManageSieve
 * ("sieve.url" setting, else the IMAP host on port 4190), the box's GAL and
 * mailbox search on the user's IMAP connection.
 */
function userServices(
  settings: Settings,
  store: Store,
  imapPool: ImapConnectionPool | undefined,
  caCerts: string[] | undefined,
): (
  credentials: Credentials,
  user: string,
) => Pick<CommandContext, "oof" | "identity" | "gal" | "mailSearch" | "contacts" | "availability"> {
  const defaultDomain = () => autodiscoverDomains(store.settings)[0];
  const galFor = createGalDirectory(store, { defaultDomain, ...(caCerts ? { caCerts } : {}) });
  return (credentials, user) => {
    // The GAL as this user sees it: a per-user CardDAV book is read with their own login.
    const gal = galFor(credentials);
    const identity = async () => {
      const domain = defaultDomain();
      const primary = user.includes("@") || !domain ? user : `${user}@${domain}`;
      const entry = await gal.lookup(primary).catch(() => undefined);
      return {
        primary,
        aliases: entry ? [entry.email, ...(entry.aliases ?? [])].filter((a) => a !== primary) : [],
        ...(entry?.displayName ? { displayName: entry.displayName } : {}),
      };
    };
    const services: ReturnType<ReturnType<typeof userServices>> = { identity, gal };
    const target = manageSieveTarget(store.settings.get("sieve.url"), settings.imapUrl?.hostname);
    if (target) {
      services.oof = new SieveOutOfOffice(
        { ...target, ...(caCerts ? { caCerts } : {}) },
        credentials,
        async () => {
          const who = await identity();
          const addresses = [who.primary, ...who.aliases].filter((a) => a.includes("@"));
          return {
            addresses,
            internalDomains: [...new Set(addresses.map((a) => a.slice(a.indexOf("@") + 1)))],
          };
        },
      );
    }
    if (imapPool) services.mailSearch = new ImapMailSearch(imapPool, credentials);
    if (settings.davUrl) {
      // ResolveRecipients: the user's own address books and free/busy, over CalDAV/CardDAV as the user.
      const client = new DavClient({ url: settings.davUrl, credentials, ...(caCerts ? { caCerts } : {}) });
      let homes: Promise<DavHomes> | undefined;
      const discover = () =>
        homes ??= client.discover().catch((error) => {
          homes = undefined;
          throw error;
        });
      services.contacts = {
        search: async (query, limit) =>
          await searchContacts(client, query, { limit, homes: await discover() }),
      };
      services.availability = new DavAvailability({
        client,
        login: credentials.user,
        selfEmails: async () => {
          const who = await identity();
          return [who.primary, ...who.aliases].map((a) => a.toLowerCase());
        },
        homes: discover,
      });
    }
    return services;
  };
}

/** iMIP invitations in mail become the Email's MeetingRequest through the calendar bridge's iCalendar reader. */
const readMeetingRequest: MeetingRequestReader = (ics) => {
  const fields = meetingRequestFromIcs(ics);
  return fields ? easMeetingRequest(fields) : undefined;
};
