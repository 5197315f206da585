import assert from "node:assert/strict";
import {
  afterRequires,
  mergeVacation,
  readVacation,
  stripVacation,
  vacationRules,
} from "../../../src/bridge/sieve/vacation.ts";
import type { OofSettings } from "../../../src/eas/commands/settings.ts";

const context = { addresses: ["alice@example.test"], internalDomains: ["example.test"] };
const userScript = `# my rules
require ["fileinto"];
if header :contains "subject" "[list]" {
  fileinto "Lists";
}
`;
const away: OofSettings = {
  state: 1,
  internal: { enabled: true, reply: 'Away, ask "Bob"', bodyType: "Text" },
  externalUnknown: { enabled: true, reply: "Out of office", bodyType: "Text" },
};

Deno.test("mergeVacation() keeps the user's rules and requires and puts the vacation after them", () => {
  const merged = mergeVacation(userScript, away, context);
  assert.ok(
    merged.startsWith(
      '# pushbridge:require\nrequire ["vacation", "date", "relational"];\n# my rules\nrequire ["fileinto"];',
    ),
  );
  assert.match(merged, /fileinto "Lists";/);
  const vacation = merged.indexOf("vacation :days 1");
  assert.ok(vacation > merged.indexOf('require ["fileinto"];') && vacation < merged.indexOf("if header"));
  assert.match(
    merged,
    /if address :domain :is "from" \["example\.test"\] \{\n {2}vacation :days 1 :addresses \["alice@example\.test"\] "Away, ask \\"Bob\\"";\n\} else \{/,
  );
  assert.equal(stripVacation(merged), userScript);
});

Deno.test("mergeVacation() replaces an earlier block and removes it when cleared", () => {
  const first = mergeVacation(userScript, away, context);
  const second = mergeVacation(first, { ...away, state: 0 }, context);
  assert.equal(second.match(/pushbridge:begin/g)?.length, 1);
  assert.doesNotMatch(second, /vacation :days/);
  assert.doesNotMatch(second, /require \["vacation"/);
  assert.deepEqual(readVacation(second), { ...away, state: 0 });
  assert.equal(mergeVacation(second, undefined, context), userScript);
});

Deno.test("vacationRules() limits a time-based reply to the range in UTC", () => {
  const rules = vacationRules({
    state: 2,
    startTime: "2026-12-20T08:00:00.000Z",
    endTime: "2027-01-02T17:30:00.000Z",
    externalKnown: { enabled: true, reply: "<p>Away</p>", bodyType: "HTML" },
  }, context);
  assert.match(rules, /currentdate :zone "\+0000" :value "ge" "iso8601" "2026-12-20T08:00:00"/);
  assert.match(rules, /currentdate :zone "\+0000" :value "lt" "iso8601" "2027-01-02T17:30:00"/);
  assert.match(rules, /if not address :domain :is "from"/);
  assert.match(rules, /:mime "Content-Type: text\/html; charset=utf-8\r\n\r\n<p>Away<\/p>"/);
  assert.throws(
    () => vacationRules({ state: 2, internal: away.internal! }, context),
    /needs StartTime and EndTime/,
  );
});

Deno.test("readVacation() round-trips the settings and ignores scripts without a block", () => {
  assert.deepEqual(readVacation(mergeVacation(undefined, away, context)), away);
  assert.equal(readVacation(userScript), undefined);
  assert.equal(readVacation("# pushbridge:oof {broken"), undefined);
});

Deno.test("afterRequires() skips comments, bracketed comments and require lists", () => {
  const script = '/* head */\n# c\nrequire "a";\nrequire ["b", "c"];\nkeep;';
  assert.equal(script.slice(afterRequires(script)), "keep;");
  assert.equal(afterRequires("keep;"), 0);
});
