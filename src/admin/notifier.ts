import { submitMessage, type SubmitOptions } from "../bridge/smtp/smtp_client.ts";
import type { MailstoreUrl } from "../config/settings.ts";
import type { Logger } from "../log/logger.ts";
import { buildMessage } from "../mime/mod.ts";
import type { Store } from "../store/mod.ts";
import { defaultDomain } from "./policy_resolver.ts";

/**
 * Settings keys of the notification sender: the account that sends
 * quarantine notices and wipe confirmations over SMTP submission. The
 * password may come from PUSHBRIDGE_NOTIFY_PASSWORD instead of the store.
 */
export const NOTIFY_SETTINGS = {
  /** From address of notices. */
  sender: "notify.sender",
  /** SMTP login of the sender account (the sender address when unset). */
  login: "notify.login",
  password: "notify.password",
  /** The administrator's address that gets a copy. */
  admin: "notify.admin",
} as const;

/** Environment variable that supplies the sender's password without storing it. */
export const NOTIFY_PASSWORD_ENV = "PUSHBRIDGE_NOTIFY_PASSWORD";

/** Sends notices, or says honestly why it could not. */
export interface Notifier {
  /** Sends a plain-text notice to the user and the admin; resolves to what happened (for the devices list). */
  notify(user: string, subject: string, text: string): Promise<string>;
}

/** What the SMTP notifier needs. */
export interface SmtpNotifierOptions {
  store: Store;
  /** smtp:// or smtps:// URL of the mailstore's submission service; absent means none configured. */
  smtpUrl?: string;
  caCerts?: string[];
  env?: Record<string, string | undefined>;
  log?: Logger;
  /** The SMTP client (tests may pass another submitter). */
  submit?: (options: SubmitOptions) => Promise<unknown>;
}

/** The submission URL the SMTP client takes (smtp:// with STARTTLS, or smtps://) for a mailstore URL. */
export function submissionUrlOf(url: MailstoreUrl): string {
  return `${url.implicitTls ? "smtps" : "smtp"}://${url.hostname}:${url.port}`;
}

/** The address of a user: the login when it is an address, else login@default domain. */
export function addressOf(store: Store, user: string): string | undefined {
  if (user.includes("@")) return user;
  const domain = defaultDomain(store);
  return domain ? `${user}@${domain}` : undefined;
}

/** Notices through SMTP submission with the configured sender account. */
export class SmtpNotifier implements Notifier {
  constructor(private readonly options: SmtpNotifierOptions) {}

  async notify(user: string, subject: string, text: string): Promise<string> {
    const recipients = [
      addressOf(this.options.store, user),
      this.options.store.settings.get(NOTIFY_SETTINGS.admin),
    ]
      .filter((a): a is string => !!a && a.includes("@"));
    // A missing sender account is the first thing the admin has to fix, so it is named first.
    const notice = this.#senderMissing() ??
      (recipients.length === 0
        ? `not sent: no address for user '${user}' and no ${NOTIFY_SETTINGS.admin}`
        : await this.#send(recipients, subject, text));
    this.#log(notice, { user, subject });
    return notice;
  }

  /** Sends a test message to one address through the configured sender (the setup page's button). */
  async sendTest(to: string): Promise<string> {
    const address = to.trim();
    const notice = /^[^\s@<>]+@[^\s@<>]+$/.test(address)
      ? await this.#send(
        [address],
        "Pushbridge test message",
        "This is a test message from Pushbridge. Quarantine notices and wipe confirmations are sent by this account.",
      )
      : `not sent: '${address}' is not an email address`;
    this.#log(notice, { to: address, subject: "test" });
    return notice;
  }

  /** The configured sender account, or undefined when part of it is missing. */
  #senderAccount(): { sender: string; login: string; password: string; smtpUrl: string } | undefined {
    const settings = this.options.store.settings;
    const sender = settings.get(NOTIFY_SETTINGS.sender);
    const password = this.options.env?.[NOTIFY_PASSWORD_ENV] || settings.get(NOTIFY_SETTINGS.password);
    const login = settings.get(NOTIFY_SETTINGS.login) || sender;
    if (!this.options.smtpUrl || !sender || !login || !password) return undefined;
    return { sender, login, password, smtpUrl: this.options.smtpUrl };
  }

  #senderMissing(): string | undefined {
    return this.#senderAccount()
      ? undefined
      : `not sent: no notification sender configured (settings ${NOTIFY_SETTINGS.sender}, ${NOTIFY_SETTINGS.password} and an SMTP server)`;
  }

  async #send(recipients: string[], subject: string, text: string): Promise<string> {
    const account = this.#senderAccount();
    if (!account) return this.#senderMissing()!;
    const { sender, login, password } = account;
    const to = [...new Set(recipients)];
    try {
      const message = buildMessage({
        from: { name: "Pushbridge", address: sender },
        to: to.map((address) => ({ name: "", address })),
        subject,
        text,
      });
      await (this.options.submit ?? submitMessage)({
        url: account.smtpUrl,
        ...(this.options.caCerts ? { tls: { caCerts: this.options.caCerts } } : {}),
        user: login,
        password,
        from: sender,
        recipients: to,
        message,
      });
      return `sent ${new Date().toISOString()} to ${to.join(", ")}`;
    } catch (error) {
      return `failed: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  #log(notice: string, fields: Record<string, string>): void {
    this.options.log?.[notice.startsWith("sent") ? "info" : "warn"]("admin.notice", { ...fields, notice });
  }
}
