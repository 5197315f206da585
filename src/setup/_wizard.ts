/**
 * The first-boot wizard: public host name, TLS certificate, mailstore with
 * live connection tests, then a summary. Values fixed by the environment are
 * shown but not editable.
 *
 * @module
 */
import { ConfigError, resolveSettings, type StoredSettingKey } from "../config/settings.ts";
import {
  checkChain,
  checkExpiry,
  checkKeyMatchesCert,
  readCertificateInfo,
  splitPemChain,
} from "../tls/cert_info.ts";
import {
  applyNotice,
  type ApplyOutcome,
  applySaved,
  currentSetting,
  formValues,
  lockedBy,
  restartPage,
  type SetupContext,
  type SetupHono,
  type SetupShared,
} from "./_context.ts";
import { DEFAULT_LDAP_FILTER, LDAP_BIND_PASSWORD_ENV, LDAP_GAL_SETTINGS } from "../bridge/gal/ldap_source.ts";
import { CARDDAV_GAL_PASSWORD_ENV, GAL_SETTINGS } from "../bridge/gal/mod.ts";
import { autodiscoverDnsRecords } from "../http/autodiscover.ts";
import { autodiscoverDomains, saveAutodiscoverDomains } from "../store/mail_domains.ts";
import { form, page } from "./_layout.ts";
import {
  type LdapProbeTarget,
  probeCardDavGal,
  probeDav,
  probeImap,
  probeLdap,
  type ProbeResult,
  probeSmtp,
} from "./_probes.ts";
import { escapeHtml } from "./html.ts";
import { type EffectiveSetting, effectiveSettings, sourceText } from "./_effective_settings.ts";

/** The wizard's steps in order, with their titles. */
export const WIZARD_STEPS = [
  ["host", "Host name"],
  ["tls", "Certificate"],
  ["mailstore", "Mailstore"],
  ["finish", "Finish"],
] as const;

type StepName = typeof WIZARD_STEPS[number][0];

/** Stored settings key of the directory server: the one the LDAP GAL source reads. */
export const LDAP_URL_SETTING = LDAP_GAL_SETTINGS.url;
/** Marks the wizard as done: the dashboard becomes the start page. */
export const SETUP_COMPLETED_SETTING = "setup.completed";
/** Where the mailstore CA pasted in the wizard is written, under the data dir. */
const MAILSTORE_CA_FILE = "mailstore-ca.pem";
/** Names of an uploaded certificate and key under `${dataDir}/tls/`. */
const UPLOADED_FILES = { cert: "uploaded-cert.pem", key: "uploaded-key.pem" } as const;

/** Which probe a service name runs, and which form field holds its URL. */
const PROBES = {
  imap: { field: "imapUrl", label: "IMAP" },
  smtp: { field: "smtpUrl", label: "SMTP submission" },
  dav: { field: "davUrl", label: "CalDAV/CardDAV" },
  ldap: { field: "ldapUrl", label: "GAL/LDAP" },
  galdav: { field: "galCarddavUrl", label: "GAL/CardDAV" },
} as const;

/** A probe service name. */
export type ProbeService = keyof typeof PROBES;

function isProbeService(name: string): name is ProbeService {
  return name in PROBES;
}

/** Runs the connection test of one service with form-style values (the page and /api share this). */
export async function runProbe(
  shared: SetupShared,
  service: string,
  values: Record<string, string | undefined>,
): Promise<ProbeResult> {
  if (!isProbeService(service)) {
    throw new RangeError(`Service '${service}' is not one of ${Object.keys(PROBES).join(", ")}`);
  }
  const url = (values[PROBES[service].field] ?? "").trim();
  if (!url) {
    return {
      service: PROBES[service].label,
      ok: false,
      steps: [{
        step: "Address",
        status: "fail",
        detail: `Enter the ${PROBES[service].label} address first`,
      }],
    };
  }
  const caCerts = await mailstoreCaCerts(shared, values.caPem);
  const galAccount = values.galCarddavUser?.trim();
  const user = service === "ldap"
    ? values.ldapBindDn?.trim() ?? ""
    : service === "galdav" && galAccount
    ? galAccount
    : values.testUser ?? "";
  const password = service === "galdav" && galAccount
    ? values.galCarddavPassword || galSavedPassword(shared) || ""
    : values.testPassword ?? "";
  const target = { url, user, password, ...(caCerts ? { caCerts } : {}) };
  const result = service === "imap"
    ? await probeImap(target)
    : service === "smtp"
    ? await probeSmtp(target)
    : service === "dav"
    ? await probeDav(target)
    : service === "galdav"
    ? await probeCardDavGal({ ...target, serviceAccount: Boolean(galAccount) })
    : await probeLdap(ldapTarget(shared, url, values, caCerts));
  shared.audit("setup.test-connection", {
    user,
    result: result.ok ? "ok" : "failed",
    detail: `${result.service} ${url}${
      result.ok ? "" : `: ${result.steps.filter((s) => s.status === "fail").map((s) => s.detail).join("; ")}`
    }`,
  });
  return result;
}

/** The directory test's target from the form; an empty password field means the saved one. */
function ldapTarget(
  shared: SetupShared,
  url: string,
  values: Record<string, string | undefined>,
  caCerts: string[] | undefined,
): LdapProbeTarget {
  const field = (name: string) => values[name]?.trim() || undefined;
  const bindPassword = values.ldapBindPassword || ldapSavedPassword(shared);
  const baseDn = field("ldapBaseDn");
  const bindDn = field("ldapBindDn");
  const filter = field("ldapFilter");
  const startTls = field("ldapStartTls");
  return {
    url,
    ...(startTls ? { startTls: startTls === "true" } : {}),
    ...(baseDn ? { baseDn } : {}),
    ...(bindDn ? { bindDn } : {}),
    ...(bindPassword ? { bindPassword } : {}),
    ...(filter ? { filter } : {}),
    ...(caCerts ? { caCerts } : {}),
  };
}

/** The bind password the GAL uses: the environment's, else the stored one. */
function ldapSavedPassword(shared: SetupShared): string | undefined {
  return shared.env[LDAP_BIND_PASSWORD_ENV] || shared.deps.store.settings.get(LDAP_GAL_SETTINGS.bindPassword);
}

/** The CardDAV GAL service account's password: the environment's, else the stored one. */
function galSavedPassword(shared: SetupShared): string | undefined {
  return shared.env[CARDDAV_GAL_PASSWORD_ENV] || shared.deps.store.settings.get(GAL_SETTINGS.carddavPassword);
}

async function mailstoreCaCerts(
  shared: SetupShared,
  pasted: string | undefined,
): Promise<string[] | undefined> {
  if (pasted && pasted.trim()) return splitPemChain(pasted);
  const file = currentSetting(shared, "mailstoreCaFile");
  if (!file) return undefined;
  try {
    return [await Deno.readTextFile(file)];
  } catch {
    return undefined;
  }
}

function stepper(current: StepName): string {
  return `<ol class="wizard-steps">${
    WIZARD_STEPS.map(([name, title], i) =>
      `<li${
        name === current ? ' class="current" aria-current="step"' : ""
      }><a href="/wizard/${name}" style="color:inherit">${i + 1}. ${title}</a></li>`
    ).join("")
  }</ol>`;
}

function lockedNote(name: string | undefined): string {
  return name
    ? `<p class="muted">Set by the environment variable ${escapeHtml(name)}; change it there.</p>`
    : "";
}

function textInput(
  shared: SetupShared,
  key: StoredSettingKey,
  label: string,
  placeholder: string,
  value = currentSetting(shared, key),
): string {
  const locked = lockedBy(shared, key);
  return `<label for="${key}">${
    escapeHtml(label)
  }</label><input type="text" id="${key}" name="${key}" value="${escapeHtml(value)}" placeholder="${
    escapeHtml(placeholder)
  }"${locked ? " readonly" : ""}>${lockedNote(locked)}`;
}

/** Renders a probe result (server-side; the script renders the same shape in place). */
export function probeHtml(result: ProbeResult | undefined): string {
  if (!result) return "";
  return `<p class="${result.ok ? "ok" : "fail"}"><strong>${escapeHtml(result.service)}: ${
    result.ok ? "connection works" : "connection failed"
  }</strong></p><ul class="steps">${
    result.steps.map((s) =>
      `<li class="${s.status}"><b>${s.status}</b> ${escapeHtml(s.step)}: ${escapeHtml(s.detail)}</li>`
    ).join("")
  }</ul>`;
}

function renderHost(shared: SetupShared, csrf: string): string {
  return stepper("host") + `<section>${
    form(
      "/wizard/host",
      csrf,
      `<p>The name phones use to reach this box, as the office's DNS knows it (for example <code>mail.example.com</code>). It goes into the certificate and the phone setup pages.</p>
${textInput(shared, "publicHostName", "Public host name", "mail.example.com")}
<label for="mailDomains">Mail domains the box answers Autodiscover for</label><input type="text" id="mailDomains" name="mailDomains" value="${
        escapeHtml(autodiscoverDomains(shared.deps.store.settings).join(", "))
      }" placeholder="example.com, example.org">
<p class="muted">Phones set up with just an address and a password find the box through these domains. The first one is also the users' default domain.</p>
<button type="submit">Save and continue</button>`,
    )
  }</section>${dnsRecordsSection(shared)}`;
}

/** The DNS records the owner creates so phones find the box by Autodiscover (shown once domains and host are set). */
function dnsRecordsSection(shared: SetupShared): string {
  const host = currentSetting(shared, "publicHostName");
  const domains = autodiscoverDomains(shared.deps.store.settings);
  if (!host || domains.length === 0) return "";
  const rows = autodiscoverDnsRecords(domains, host).map((r) =>
    `<tr><td><code>${escapeHtml(r.name)}</code></td><td>${r.type}</td><td><code>${
      escapeHtml(r.value)
    }</code></td><td>${escapeHtml(r.why)}</td></tr>`
  ).join("");
  return `<section><h2>DNS records to create</h2><table><tr><th>Name</th><th>Type</th><th>Value</th><th>Why</th></tr>${rows}</table></section>`;
}

async function renderTls(shared: SetupShared, csrf: string): Promise<string> {
  const locked = lockedBy(shared, "tls");
  const mode = currentSetting(shared, "tls") || "self-signed";
  const ca = shared.deps.caCertPem;
  let caInfo = "";
  if (ca) {
    const info = await readCertificateInfo(ca);
    caInfo = `<p>The box made its own certificate authority <strong>${
      escapeHtml(info.subjectCommonName ?? "")
    }</strong> (SHA-256 ${
      escapeHtml(info.fingerprintSha256)
    }). Phones must trust it: the phone setup pages and the iOS profile include it.</p>
<p><a class="button secondary" href="/ca.crt" download>Download the CA certificate</a></p>`;
  }
  const options = locked ? lockedNote(locked) : form(
    "/wizard/tls",
    csrf,
    `<label><input type="radio" name="mode" value="self-signed"${
      mode === "self-signed" ? " checked" : ""
    }> Keep the generated self-signed certificate</label>
<label><input type="radio" name="mode" value="upload"${
      mode !== "self-signed" ? " checked" : ""
    }> Use my certificate (PEM, with its chain)</label>
<label for="certFile">Certificate file</label><input type="file" id="certFile" name="certFile" accept=".pem,.crt,.cer">
<label for="keyFile">Private key file</label><input type="file" id="keyFile" name="keyFile" accept=".pem,.key">
<label for="certPem">or paste the certificate chain</label><textarea id="certPem" name="certPem" placeholder="-----BEGIN CERTIFICATE-----"></textarea>
<label for="keyPem">and the private key</label><textarea id="keyPem" name="keyPem" placeholder="-----BEGIN PRIVATE KEY-----"></textarea>
<button type="submit">Save and continue</button>`,
    'enctype="multipart/form-data"',
  );
  return stepper("tls") +
    `<section><p>Current: <strong>${escapeHtml(mode)}</strong></p>${caInfo}${options}</section>`;
}

function renderMailstore(
  shared: SetupShared,
  csrf: string,
  values: Record<string, string> = {},
  results: Partial<Record<ProbeService, ProbeResult>> = {},
): string {
  const v = (key: StoredSettingKey) => values[key] ?? currentSetting(shared, key);
  const testButton = (service: ProbeService) =>
    `<button type="submit" class="secondary" name="test" value="${service}" data-probe="${service}">Test ${
      PROBES[service].label
    }</button><div id="probe-${service}" aria-live="polite">${probeHtml(results[service])}</div>`;
  return stepper("mailstore") + form(
    "/wizard/mailstore",
    csrf,
    `<section><h2>Test account</h2><p>A mailbox login used only for the tests below; it is not stored.</p>
<label for="testUser">User name</label><input type="text" id="testUser" name="testUser" autocomplete="off" value="${
      escapeHtml(values.testUser ?? "")
    }">
<label for="testPassword">Password</label><input type="password" id="testPassword" name="testPassword" autocomplete="off">
<label for="caPem">Mailstore CA certificate (PEM, only for a mailstore with a private CA)</label><textarea id="caPem" name="caPem" placeholder="-----BEGIN CERTIFICATE-----">${
      escapeHtml(values.caPem ?? "")
    }</textarea></section>
<section><h2>IMAP</h2>${
      textInput(shared, "imapUrl", "IMAP server", "imaps://mail.example.com", v("imapUrl"))
    }${testButton("imap")}</section>
<section><h2>SMTP submission</h2>${
      textInput(shared, "smtpUrl", "SMTP submission server", "smtp://mail.example.com:587", v("smtpUrl"))
    }${testButton("smtp")}</section>
<section><h2>CalDAV/CardDAV (optional)</h2>${
      textInput(shared, "davUrl", "CalDAV/CardDAV server", "https://dav.example.com/", v("davUrl"))
    }${testButton("dav")}</section>
${galSection(shared, values, testButton)}
<button type="submit" name="save" value="1">Save and continue</button>`,
  );
}

/** GAL form fields (LDAP and CardDAV) and the settings keys they are saved under. */
const GAL_FIELDS = {
  ldapUrl: LDAP_GAL_SETTINGS.url,
  ldapBaseDn: LDAP_GAL_SETTINGS.baseDn,
  ldapBindDn: LDAP_GAL_SETTINGS.bindDn,
  ldapFilter: LDAP_GAL_SETTINGS.filter,
  ldapStartTls: LDAP_GAL_SETTINGS.startTls,
  galCarddavUrl: GAL_SETTINGS.carddavUrl,
  galCarddavUser: GAL_SETTINGS.carddavUser,
} as const;

/** The two service-account passwords: form field, settings key, overriding environment variable. */
const GAL_PASSWORDS = [
  {
    field: "ldapBindPassword",
    key: LDAP_GAL_SETTINGS.bindPassword,
    env: LDAP_BIND_PASSWORD_ENV,
    account: "ldapBindDn",
    url: "ldapUrl",
  },
  {
    field: "galCarddavPassword",
    key: GAL_SETTINGS.carddavPassword,
    env: CARDDAV_GAL_PASSWORD_ENV,
    account: "galCarddavUser",
    url: "galCarddavUrl",
  },
] as const;

/** StartTLS choices for an ldap:// URL ("gal.ldap.starttls"; empty is the GAL's default). */
const STARTTLS_CHOICES = [
  ["", "Automatic: StartTLS unless the server is this machine or there is no bind DN"],
  ["true", "StartTLS (the bind only after TLS is up)"],
  ["false", "None: the bind password crosses the network in clear text"],
] as const;

function galSection(
  shared: SetupShared,
  values: Record<string, string>,
  testButton: (service: ProbeService) => string,
): string {
  const stored = shared.deps.store.settings;
  const value = (field: keyof typeof GAL_FIELDS) => values[field] ?? stored.get(GAL_FIELDS[field]) ?? "";
  const input = (field: keyof typeof GAL_FIELDS, label: string, placeholder: string) =>
    `<label for="${field}">${label}</label><input type="text" id="${field}" name="${field}" value="${
      escapeHtml(value(field))
    }" placeholder="${escapeHtml(placeholder)}" autocomplete="off">`;
  const password = (which: typeof GAL_PASSWORDS[number], label: string, what: string) =>
    shared.env[which.env]
      ? `<p class="muted">The ${what} password comes from the environment variable ${which.env}; it is not stored.</p>`
      : `<label for="${which.field}">${label}</label><input type="password" id="${which.field}" name="${which.field}" autocomplete="new-password" placeholder="${
        stored.get(which.key) ? "saved; leave empty to keep it" : ""
      }">
<p class="muted">This password of a read-only ${what} account is stored in the box's database (unlike phone users' passwords, which never touch disk). To keep it off disk, set the environment variable ${which.env} instead and leave this field empty.</p>`;
  const startTls = value("ldapStartTls");
  const choices = STARTTLS_CHOICES.map(([v, label]) =>
    `<option value="${v}"${v === startTls ? " selected" : ""}>${escapeHtml(label)}</option>`
  ).join("");
  return `<section><h2>Directory (optional)</h2><p>An LDAP directory (OpenLDAP, Active Directory) gives phones the office's global address list.</p>
${input("ldapUrl", "LDAP server", "ldaps://ldap.example.com")}
<label for="ldapStartTls">Encryption for an ldap:// server (ldaps:// is always TLS)</label><select id="ldapStartTls" name="ldapStartTls">${choices}</select>
${input("ldapBaseDn", "Search base (base DN)", "ou=people,dc=example,dc=com")}
${
    input(
      "ldapBindDn",
      "Bind DN (read-only service account; empty for anonymous)",
      "cn=pushbridge,dc=example,dc=com",
    )
  }
${password(GAL_PASSWORDS[0], "Bind password", "directory")}
${input("ldapFilter", "Filter (empty for the default)", DEFAULT_LDAP_FILTER)}${testButton("ldap")}</section>
<section><h2>Shared address book (optional)</h2><p>Without a directory, a shared CardDAV address book can be the global address list instead.</p>
${input("galCarddavUrl", "Address book URL", "https://dav.example.com/directory/company/")}
${
    input(
      "galCarddavUser",
      "Service account that reads it for everyone (empty: each user reads it with their own login)",
      "directory",
    )
  }
${password(GAL_PASSWORDS[1], "Service account password", "address book")}${testButton("galdav")}</section>`;
}

/** Saves the GAL fields; a password only when typed (an empty field keeps the saved one). */
function saveGal(shared: SetupShared, values: Record<string, string>): void {
  const settings = shared.deps.store.settings;
  for (const [field, key] of Object.entries(GAL_FIELDS)) {
    const value = values[field]?.trim();
    if (value) settings.set(key, value);
    else settings.delete(key);
  }
  for (const which of GAL_PASSWORDS) {
    if (!values[which.account]?.trim() || !values[which.url]?.trim()) settings.delete(which.key);
    else if (values[which.field] && !shared.env[which.env]) settings.set(which.key, values[which.field]!);
  }
}

const UNSET_TEXT: Partial<Record<EffectiveSetting["key"], string>> = {
  tls: "self-signed (generated by the box)",
  mailstoreCaFile: "none (the system's CAs only)",
};

/** The summary: each setting as the box uses it now, where it comes from, and saved changes still waiting. */
function finishRows(shared: SetupShared): string {
  return effectiveSettings(shared).map((s) => {
    const shown = s.key === "tls" && s.value === "self-signed" ? UNSET_TEXT.tls! : s.value;
    const pending = s.pending
      ? `<br><span class="warn">Saved: ${escapeHtml(s.pending.value || "(cleared)")}, ${
        s.pending.appliesOn === "finish" ? "applies when you press Finish" : "applies after a restart"
      }</span>`
      : "";
    return `<tr data-setting="${s.key}"><th>${s.label}</th><td>${
      escapeHtml(shown || (UNSET_TEXT[s.key] ?? "not set"))
    }${pending}</td><td class="muted">${escapeHtml(sourceText(s))}</td></tr>`;
  }).join("");
}

function renderFinish(shared: SetupShared, csrf: string): string {
  const rows = finishRows(shared);
  const restart = shared.deps.restart
    ? `<button type="submit" class="secondary" name="restart" value="1">Finish and restart the service</button>
<p class="muted">"Finish" applies the mailstore settings at once; a new certificate or host name needs the restart.</p>`
    : shared.deps.applySettings
    ? `<p class="muted">"Finish" applies the mailstore settings at once; a new certificate or host name applies after a restart of the service (for example <code>systemctl restart pushbridge</code>).</p>`
    : `<p class="muted">Restart the service (for example <code>systemctl restart pushbridge</code>) so new settings apply.</p>`;
  return stepper("finish") +
    `<section><table id="summary"><tr><th>Setting</th><th>In use</th><th>From</th></tr>${rows}</table>${
      form("/wizard/finish", csrf, `<button type="submit">Finish</button>${restart}`)
    }<p>Next: <a href="/onboarding">set up the phones</a>.</p></section>`;
}

async function saveCertificate(
  shared: SetupShared,
  values: Record<string, string>,
  files: Record<string, File>,
) {
  const certText = files.certFile?.size ? await files.certFile.text() : values.certPem ?? "";
  const keyText = files.keyFile?.size ? await files.keyFile.text() : values.keyPem ?? "";
  if (!certText.trim() || !keyText.trim()) {
    throw new RangeError("Give both the certificate chain and its private key");
  }
  let chain: string[];
  try {
    chain = splitPemChain(certText);
  } catch (error) {
    throw new RangeError(`The certificate cannot be read: ${(error as Error).message}`);
  }
  const problems = checkChain(chain);
  if (problems.length) throw new RangeError(`The certificate chain is not in order: ${problems.join("; ")}`);
  let matches: boolean;
  try {
    matches = await checkKeyMatchesCert(chain[0]!, keyText);
  } catch (error) {
    throw new RangeError((error as Error).message);
  }
  if (!matches) throw new RangeError("The private key does not belong to the first certificate of the chain");
  const info = await readCertificateInfo(chain[0]!);
  const expiry = checkExpiry(info, new Date(shared.now()));
  if (expiry === "expired" || expiry === "not-yet-valid") {
    throw new RangeError(
      `The certificate is ${expiry} (valid ${info.notBefore.toISOString()} to ${info.notAfter.toISOString()})`,
    );
  }
  const host = currentSetting(shared, "publicHostName");
  if (host && !info.dnsNames.some((n) => n === host || (n.startsWith("*.") && host.endsWith(n.slice(1))))) {
    throw new RangeError(
      `The certificate is not valid for the host name '${host}' (it names ${
        info.dnsNames.join(", ") || "no DNS names"
      })`,
    );
  }
  const dir = `${shared.deps.settings.dataDir}/tls`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const certPath = `${dir}/${UPLOADED_FILES.cert}`;
  const keyPath = `${dir}/${UPLOADED_FILES.key}`;
  await Deno.writeTextFile(certPath, chain.join(""), { mode: 0o644 });
  await Deno.writeTextFile(keyPath, keyText, { mode: 0o600 });
  await Deno.chmod(keyPath, 0o600);
  shared.deps.store.settings.set("tls", `${certPath}:${keyPath}`);
  return info;
}

/** The mailstore URLs the wizard stores. */
const MAILSTORE_KEYS = ["imapUrl", "smtpUrl", "davUrl"] as const;

/** Validates mailstore URLs with the same rules as start-up, so a saved value never stops the box. */
function validateMailstore(values: Record<string, string>): void {
  const stored: Partial<Record<StoredSettingKey, string>> = {};
  for (const key of MAILSTORE_KEYS) {
    if (values[key]?.trim()) stored[key] = values[key]!.trim();
  }
  resolveSettings({}, stored);
  const ldap = values.ldapUrl?.trim();
  if (ldap && !/^ldaps?:\/\/[^/\s]+\/?$/i.test(ldap)) {
    throw new ConfigError("ldapUrl", `'${ldap}' is not an ldap://host[:port] or ldaps://host[:port] URL`);
  }
  if (ldap && !values.ldapBaseDn?.trim()) {
    throw new ConfigError("ldapBaseDn", "a directory needs a search base (base DN)");
  }
  if (ldap && /^ldaps:/i.test(ldap) && values.ldapStartTls === "true") {
    throw new ConfigError("ldapStartTls", "StartTLS applies to an ldap:// server; ldaps:// is TLS already");
  }
  const book = values.galCarddavUrl?.trim();
  if (book && !/^https?:\/\/[^/\s]+/i.test(book)) {
    throw new ConfigError("galCarddavUrl", `'${book}' is not an http:// or https:// URL`);
  }
}

/** The host name step: the public host name (unless the environment fixes it) and the Autodiscover mail domains. */
export function saveHost(
  shared: SetupShared,
  values: { publicHostName?: string; mailDomains?: string },
): void {
  if (values.publicHostName !== undefined && !lockedBy(shared, "publicHostName")) {
    const host = values.publicHostName.trim().toLowerCase();
    if (host && !/^[a-z0-9]([a-z0-9-]{0,62}\.)*[a-z0-9-]{1,63}$/.test(host)) {
      throw new RangeError(`'${host}' is not a host name`);
    }
    if (host) shared.deps.store.settings.set("publicHostName", host);
    else shared.deps.store.settings.delete("publicHostName");
    shared.audit("setup.host-name", { detail: host || "(cleared)" });
  }
  if (values.mailDomains !== undefined) {
    saveAutodiscoverDomains(shared.deps.store.settings, values.mailDomains.split(","));
    shared.audit("setup.mail-domains", { detail: autodiscoverDomains(shared.deps.store.settings).join(",") });
  }
}

/** The certificate step: back to the generated self-signed one, or an uploaded chain and key (checked first). */
export async function saveTls(
  shared: SetupShared,
  values: Record<string, string>,
  files: Record<string, File> = {},
): Promise<void> {
  const locked = lockedBy(shared, "tls");
  if (locked) {
    throw new RangeError(`The certificate is set by the environment variable ${locked}; change it there`);
  }
  if (values.mode !== "upload") {
    shared.deps.store.settings.delete("tls");
    shared.audit("setup.certificate", { detail: "self-signed" });
    return;
  }
  try {
    const info = await saveCertificate(shared, values, files);
    shared.audit("setup.certificate", {
      detail: `uploaded '${info.subjectCommonName ?? ""}' until ${info.notAfter.toISOString()}`,
    });
  } catch (error) {
    shared.audit("setup.certificate", { result: "refused", detail: (error as Error).message });
    throw error;
  }
}

/**
 * The mailstore step: IMAP, SMTP, CalDAV/CardDAV URLs (those the environment
 * fixes are left alone), the GAL and a mailstore CA, validated with the
 * start-up rules first. A field left empty clears its setting.
 */
export async function saveMailstore(shared: SetupShared, values: Record<string, string>): Promise<void> {
  validateMailstore(values);
  if (values.caPem?.trim()) splitPemChain(values.caPem);
  const settings = shared.deps.store.settings;
  for (const key of MAILSTORE_KEYS) {
    if (lockedBy(shared, key)) continue;
    const value = values[key]?.trim();
    if (value) settings.set(key, value);
    else settings.delete(key);
  }
  saveGal(shared, values);
  if (values.caPem?.trim() && !lockedBy(shared, "mailstoreCaFile")) {
    const path = `${shared.deps.settings.dataDir}/${MAILSTORE_CA_FILE}`;
    await Deno.writeTextFile(path, splitPemChain(values.caPem).join(""));
    settings.set("mailstoreCaFile", path);
  }
  shared.audit("setup.mailstore", {
    detail: MAILSTORE_KEYS.map((k) => `${k}=${values[k]?.trim() || "-"}`).join(" "),
  });
}

/** The mailstore form's saved values (the API fills fields a request leaves out with these). */
export function savedMailstoreValues(shared: SetupShared): Record<string, string> {
  const stored = shared.deps.store.settings;
  const out: Record<string, string> = {};
  for (const key of MAILSTORE_KEYS) {
    const value = stored.get(key);
    if (value) out[key] = value;
  }
  for (const [field, key] of Object.entries(GAL_FIELDS)) {
    const value = stored.get(key);
    if (value) out[field] = value;
  }
  return out;
}

function markFinished(shared: SetupShared): void {
  shared.deps.store.settings.set(SETUP_COMPLETED_SETTING, String(shared.now()));
  shared.audit("setup.finished");
}

/** Finish: marks the wizard done and applies the saved settings now where the box can. */
export async function finishSetup(shared: SetupShared): Promise<ApplyOutcome> {
  markFinished(shared);
  return await applySaved(shared);
}

/** Registers the wizard routes. */
export function registerWizard(app: SetupHono, shared: SetupShared): void {
  const render = async (c: SetupContext, step: string, notice?: { kind: "ok" | "error"; text: string }) => {
    const csrf = c.get("session").csrf;
    const body = step === "host"
      ? renderHost(shared, csrf)
      : step === "tls"
      ? await renderTls(shared, csrf)
      : step === "mailstore"
      ? renderMailstore(shared, csrf)
      : renderFinish(shared, csrf);
    return c.html(page({ title: "Setup", path: "/wizard", csrf, ...(notice ? { notice } : {}) }, body));
  };
  app.get("/wizard", (c) => c.redirect("/wizard/host", 303));
  app.get("/wizard/:step", (c) => {
    const step = c.req.param("step");
    if (!WIZARD_STEPS.some(([name]) => name === step)) return c.notFound();
    return render(c, step);
  });

  app.post("/wizard/host", async (c) => {
    try {
      saveHost(shared, await formValues(c));
    } catch (error) {
      return render(c, "host", { kind: "error", text: (error as Error).message });
    }
    return c.redirect("/wizard/tls", 303);
  });

  app.post("/wizard/tls", async (c) => {
    if (lockedBy(shared, "tls")) return c.redirect("/wizard/mailstore", 303);
    const body = await c.req.parseBody();
    const values: Record<string, string> = {};
    const files: Record<string, File> = {};
    for (const [k, v] of Object.entries(body)) {
      if (typeof v === "string") values[k] = v;
      else if (v instanceof File) files[k] = v;
    }
    try {
      await saveTls(shared, values, files);
    } catch (error) {
      return render(c, "tls", { kind: "error", text: (error as Error).message });
    }
    return c.redirect("/wizard/mailstore", 303);
  });

  app.post("/wizard/mailstore", async (c) => {
    const values = await formValues(c);
    const csrf = c.get("session").csrf;
    const show = (notice?: { kind: "ok" | "error"; text: string }, results = {}) =>
      c.html(
        page(
          { title: "Setup", path: "/wizard", csrf, ...(notice ? { notice } : {}) },
          renderMailstore(shared, csrf, values, results),
        ),
      );
    if (values.test) {
      try {
        return show(undefined, { [values.test]: await runProbe(shared, values.test, values) });
      } catch (error) {
        return show({ kind: "error", text: (error as Error).message });
      }
    }
    try {
      await saveMailstore(shared, values);
    } catch (error) {
      return show({ kind: "error", text: (error as Error).message });
    }
    return c.redirect("/wizard/finish", 303);
  });

  app.post("/wizard/finish", async (c) => {
    const values = await formValues(c);
    if (values.restart && shared.deps.restart) {
      markFinished(shared);
      return restartPage(shared, c, (title, body) => page({ title, csrf: c.get("session").csrf }, body));
    }
    // The mailstore settings apply now; only a new certificate or listener waits for a restart.
    const outcome = await finishSetup(shared);
    if (outcome.state === "failed") return render(c, "finish", applyNotice(outcome));
    const restart = outcome.restartNeeded.length ? `&restart=${outcome.restartNeeded.join(",")}` : "";
    return c.redirect(`/?finished=${outcome.state}${restart}`, 303);
  });

  // JSON API: the same steps for scripts and the admin CLI (behind the session and the X-CSRF-Token header).
  app.get("/api/settings", (c) =>
    c.json({
      settings: effectiveSettings(shared),
      mailDomains: autodiscoverDomains(shared.deps.store.settings),
      setupCompleted: Boolean(shared.deps.store.settings.get(SETUP_COMPLETED_SETTING)),
    }));
  const apiStep = (path: string, run: (body: Record<string, string>) => Promise<unknown> | unknown) =>
    app.post(path, async (c) => {
      const body = await c.req.json().catch(() => undefined);
      if (!body || typeof body !== "object" || Array.isArray(body)) {
        return c.json({ error: "Body must be a JSON object" }, 400);
      }
      // Form fields are strings; a list of mail domains may come as an array.
      const values: Record<string, string> = {};
      for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
        if (typeof value === "string") values[key] = value;
        else if (Array.isArray(value)) values[key] = value.map(String).join(",");
        else if (typeof value === "boolean" || typeof value === "number") values[key] = String(value);
      }
      try {
        await run(values);
      } catch (error) {
        return c.json({ error: (error as Error).message }, 400);
      }
      return c.json({ ok: true, settings: effectiveSettings(shared) });
    });
  apiStep("/api/settings/host", (values) => saveHost(shared, values));
  apiStep("/api/settings/certificate", (values) => saveTls(shared, values));
  // Fields a request leaves out keep their saved values (a form sends them all).
  apiStep(
    "/api/settings/mailstore",
    (values) => saveMailstore(shared, { ...savedMailstoreValues(shared), ...values }),
  );
  app.post("/api/settings/finish", async (c) => {
    const outcome = await finishSetup(shared);
    return c.json(
      { ...outcome, settings: effectiveSettings(shared) },
      outcome.state === "failed" ? 400 : 200,
    );
  });
}
