/** One row of the reliability table. */
export interface ScenarioResult {
  scenario: string;
  cycles: number;
  /** Items (or changes) missing on one side at the end. */
  lost: number;
  /** Items present twice, ghosts, or mail sent twice. */
  duplicated: number;
  /** Failures a user would notice: full resyncs, corrupt state, unexpected statuses. */
  errors: number;
  /** Longest time from a fault to the next good answer. */
  recoveryMs: number;
  notes: string;
  /** Crashes only: mails sent twice because the box died mid-submission (counted in `duplicated` too). */
  duplicatesInSendWindow?: number;
}

/** The table as Markdown, one row per scenario. */
export function formatTable(rows: ScenarioResult[]): string {
  const lines = [
    "| scenario | cycles | lost | duplicated | errors | recovery time | notes |",
    "|---|---:|---:|---:|---:|---:|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.scenario} | ${r.cycles} | ${r.lost} | ${r.duplicated} | ${r.errors} | ${
        (r.recoveryMs / 1000).toFixed(1)
      } s | ${r.notes} |`,
    );
  }
  return lines.join("\n");
}
