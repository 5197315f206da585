import { migration as m001 } from "./001_foundation.ts";
import { migration as m002 } from "./002_mail_sync.ts";
import { migration as m003 } from "./003_provisioning.ts";
import { migration as m004 } from "./004_dav.ts";
import { migration as m005 } from "./005_setup.ts";
import { migration as m006 } from "./006_settings_search.ts";
import { migration as m007 } from "./007_send_dedup.ts";
import { migration as m008 } from "./008_send_data_end.ts";
import { migration as m009 } from "./009_send_data_written.ts";

/** A numbered, forward-only schema change applied in its own transaction. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Every migration in order. Numbers are reserved per feature so parallel work
 * does not collide: 001 foundation, 002 mail sync state, 003 provisioning and
 * policies, 004 calendar/contacts, 005 setup page and traces, 006 search/settings, 007 SendMail dedup, 008 its end-of-data step, 009 its end-written step.
 */
export const MIGRATIONS: Migration[] = [m001, m002, m003, m004, m005, m006, m007, m008, m009].sort((a, b) =>
  a.version - b.version
);
