/**
 * The client side of the provisioning handshake (MS-ASPROV 3.1.5.1): the
 * initial Provision asks for the policy and gets it with a temporary key, the
 * acknowledgement with that key gets the final key, which every later
 * request sends in X-MS-PolicyKey.
 *
 * @module
 */
import { child, childText, el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";
import type { EasClient } from "./client.ts";

/** PolicyType by protocol version (MS-ASPROV 2.2.2.42): 2.5 gets the XML document, 12.0+ the WBXML one. */
export const POLICY_TYPES = {
  wbxml: "MS-EAS-Provisioning-WBXML",
  xml: "MS-WAP-Provisioning-XML",
} as const;

/** What the handshake came to. */
export interface ProvisionOutcome {
  /** The policy as the server sent it in the first answer (its Data holds the settings). */
  policy: WbxmlElement;
  temporaryKey: string;
  /** The key to send from now on. */
  finalKey: string;
}

/** The server asked the device to wipe itself (MS-ASPROV 2.2.2.46, 2.2.2.1); the CLI does not acknowledge it. */
export class RemoteWipeRequested extends Error {
  constructor(readonly accountOnly: boolean) {
    super(
      `The server asks this device for ${
        accountOnly ? "an account-only" : "a"
      } remote wipe; not acknowledged`,
    );
    this.name = "RemoteWipeRequested";
  }
}

function request(type: string, ack?: { key: string }): WbxmlElement {
  const P = "Provision";
  return el(
    P,
    "Provision",
    el(
      P,
      "Policies",
      el(
        P,
        "Policy",
        textEl(P, "PolicyType", type),
        ack ? textEl(P, "PolicyKey", ack.key) : undefined,
        ack ? textEl(P, "Status", "1") : undefined,
      ),
    ),
  );
}

function policyOf(body: WbxmlElement | undefined, step: string, status: number): WbxmlElement {
  if (!body) throw new Error(`${step}: HTTP ${status} without a Provision answer`);
  if (child(body, "RemoteWipe")) throw new RemoteWipeRequested(false);
  if (child(body, "AccountOnlyRemoteWipe")) throw new RemoteWipeRequested(true);
  const top = childText(body, "Status");
  if (top !== "1") throw new Error(`${step}: Provision Status '${top ?? "(none)"}'`);
  const policy = child(child(body, "Policies"), "Policy");
  const policyStatus = childText(policy, "Status");
  if (!policy || policyStatus !== "1") {
    throw new Error(`${step}: Policy Status '${policyStatus ?? "(none)"}'`);
  }
  if (!childText(policy, "PolicyKey")) throw new Error(`${step}: the answer has no PolicyKey`);
  return policy;
}

/** Runs the two-step handshake and leaves the final key on the client for later commands. */
export async function provision(client: EasClient): Promise<ProvisionOutcome> {
  const type = client.options.protocolVersion === "2.5" ? POLICY_TYPES.xml : POLICY_TYPES.wbxml;
  const first = await client.command("Provision", request(type));
  const policy = policyOf(first.body, "Policy request", first.status);
  const temporaryKey = childText(policy, "PolicyKey")!;
  const second = await client.command("Provision", request(type, { key: temporaryKey }), {}, {
    "X-MS-PolicyKey": temporaryKey,
  });
  const finalKey = childText(policyOf(second.body, "Acknowledgement", second.status), "PolicyKey")!;
  client.options.policyKey = finalKey;
  return { policy, temporaryKey, finalKey };
}
