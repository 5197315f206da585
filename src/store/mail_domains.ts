import type { SettingsRepository } from "./settings_repository.ts";

/** Stored key: comma-separated mail domains the box serves (Autodiscover, users' default domain, policies). */
export const MAIL_DOMAINS_SETTING = "autodiscover.domains";

/** A DNS domain name with at least two labels (RFC 1035 2.3.1 syntax, lower case). */
const DOMAIN_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/**
 * The mail domains the box serves, first the default one. Shared by
 * Autodiscover, the policy scopes, user identities and the setup page.
 */
export function autodiscoverDomains(settings: SettingsRepository): string[] {
  return (settings.get(MAIL_DOMAINS_SETTING) ?? "").split(",").map((d) => d.trim().toLowerCase())
    .filter(Boolean);
}

/** Validates and stores the served mail domains; throws on a value that is no domain and changes nothing then. */
export function saveAutodiscoverDomains(settings: SettingsRepository, domains: string[]): void {
  const cleaned = [...new Set(domains.map((d) => d.trim().toLowerCase()).filter(Boolean))];
  for (const domain of cleaned) {
    if (!DOMAIN_PATTERN.test(domain)) throw new Error(`'${domain}' is not a domain name`);
  }
  if (cleaned.length === 0) settings.delete(MAIL_DOMAINS_SETTING);
  else settings.set(MAIL_DOMAINS_SETTING, cleaned.join(","));
}
