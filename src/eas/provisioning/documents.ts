import { el, textEl, type WbxmlElement } from "../../wbxml/mod.ts";
import { atLeast } from "../protocol/versions.ts";
import { POLICY_ELEMENTS, type PolicyElementName, type PolicyValue } from "./policy_elements.ts";
import type { ResolvedPolicy } from "./scopes.ts";

const NS = "Provision";

/** Policy document formats (MS-ASPROV 2.2.2.43 PolicyType). */
export const POLICY_TYPE = {
  /** Protocol 12.0 and later: the policy as WBXML elements (EASProvisionDoc). */
  Wbxml: "MS-EAS-Provisioning-WBXML",
  /** Protocol 2.5: a Windows Mobile wap-provisioningdoc as text (MS-ASPROV 2.2.2.24.2). */
  Xml: "MS-WAP-Provisioning-XML",
} as const;

/** The policy document type a protocol version uses. */
export function policyTypeFor(version: string): string {
  return atLeast(version, "12.0") ? POLICY_TYPE.Wbxml : POLICY_TYPE.Xml;
}

/**
 * EASProvisionDoc (MS-ASPROV 2.2.2.27) for 12.0 and later: every element the
 * client's version knows, in schema order, so a neutral value also lifts an
 * earlier restriction. List elements hold ApplicationName / Hash children.
 */
export function easProvisionDoc(policy: ResolvedPolicy, version: string): WbxmlElement {
  const children: WbxmlElement[] = [];
  for (const name of Object.keys(POLICY_ELEMENTS) as PolicyElementName[]) {
    const spec = POLICY_ELEMENTS[name];
    if (!atLeast(version, spec.minVersion)) continue;
    const value = policy.values[name];
    if (spec.kind.type === "list") {
      const item = spec.kind.item === "hash" ? "Hash" : "ApplicationName";
      const list = Array.isArray(value) ? value as readonly string[] : [];
      children.push(el(NS, name, ...list.map((entry) => textEl(NS, item, entry))));
    } else if (value === "") {
      // An empty element means "no limit" (unsignedIntOrEmpty in Provision.xsd).
      children.push(el(NS, name));
    } else {
      children.push(textEl(NS, name, String(value)));
    }
  }
  return el(NS, "EASProvisionDoc", ...children);
}

/** Codeword prompt before the wipe threshold, as Exchange sets it for Windows Mobile 5. */
function codewordFrequency(threshold: number): number {
  return Math.max(1, Math.floor(threshold / 2));
}

function numeric(value: PolicyValue | undefined): number | undefined {
  return typeof value === "number" ? value : undefined;
}

/**
 * The 2.5 policy (MS-ASPROV 2.2.2.24.2, Data as string): a wap-provisioningdoc
 * with the SecurityPolicy CSP (4131: 0 = a password is required, 1 = not) and
 * the LASSD registry branches for inactivity lock (AEFrequencyType 0 = none,
 * 1 = minutes in AEFrequencyValue), wipe threshold (-1 = never), codeword
 * frequency, minimum length and complexity (0 = alphanumeric, 2 = simple PIN).
 */
export function wapProvisioningXml(policy: ResolvedPolicy): string {
  const v = policy.values;
  const passwordRequired = v.DevicePasswordEnabled === 1;
  const inactivity = numeric(v.MaxInactivityTimeDeviceLock);
  const lockMinutes = inactivity !== undefined && inactivity > 0 && inactivity < 9999
    ? Math.max(1, Math.ceil(inactivity / 60))
    : undefined;
  const wipe = numeric(v.MaxDevicePasswordFailedAttempts);
  const minLength = numeric(v.MinDevicePasswordLength) ?? 1;
  const complexity = v.AlphanumericDevicePasswordRequired === 1 ? 0 : 2;
  const parm = (name: string, value: number) => `<parm name="${name}" value="${value}"/>`;
  const lassd = "HKLM\\Comm\\Security\\Policy\\LASSD";
  return [
    "<wap-provisioningdoc>",
    `<characteristic type="SecurityPolicy">${parm("4131", passwordRequired ? 0 : 1)}</characteristic>`,
    '<characteristic type="Registry">',
    `<characteristic type="${lassd}\\AE\\{50C13377-C66D-400C-889E-C316FC4AB374}">`,
    parm("AEFrequencyType", lockMinutes === undefined ? 0 : 1),
    parm("AEFrequencyValue", lockMinutes ?? 0),
    "</characteristic>",
    `<characteristic type="${lassd}">${parm("DeviceWipeThreshold", wipe ?? -1)}</characteristic>`,
    `<characteristic type="${lassd}">${
      parm("CodewordFrequency", wipe ? codewordFrequency(wipe) : 0)
    }</characteristic>`,
    `<characteristic type="${lassd}\\LAP\\lap_pw">${
      parm("MinimumPasswordLength", minLength)
    }</characteristic>`,
    `<characteristic type="${lassd}\\LAP\\lap_pw">${parm("PasswordComplexity", complexity)}</characteristic>`,
    "</characteristic>",
    "</wap-provisioningdoc>",
  ].join("");
}
