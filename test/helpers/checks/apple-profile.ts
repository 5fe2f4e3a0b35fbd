/**
 * Checks an Apple configuration profile (.mobileconfig) in TypeScript, as Apple's tooling would:
 *
 * 1. The XML property list's structure, as Apple's PropertyList-1.0 DTD defines it: root `plist`
 *    (version 1.0) holding one value; `dict` = (key, value)*; `array` = value*; `key`, `string`,
 *    `integer`, `real`, `date`, `data` text only; `true`/`false` empty. Values must parse as their
 *    type (integer digits, real a number, date ISO 8601 UTC, data Base64).
 * 2. The payload keys and types of Apple's device-management schemas (apple/device-management,
 *    mdm/profiles) for the payloads mailconf emits: the top level (TopLevel.yaml), every payload's
 *    common keys (CommonPayloadKeys.yaml), `com.apple.mail.managed`, `com.apple.caldav.account`,
 *    `com.apple.carddav.account`: required keys present, each value of its declared type, values
 *    from the key's range list, UUID formats; PayloadIdentifier and PayloadUUID unique in the
 *    profile. Keys a schema does not list are reported as warnings, as Apple's tools do.
 *
 * A CMS-signed profile (DER SignedData) is checked by its embedded content (not verified here:
 * the signature tests do that with openssl).
 */
import { ContentInfo, SignedData } from "@peculiar/asn1-cms";
import { AsnConvert } from "@peculiar/asn1-schema";
import { type Element, parseElementTree } from "./element-tree.ts";

/** A property-list value. `integer` and `real` stay apart, as plists keep them apart. */
export type PlistValue =
  | { type: "string"; value: string }
  | { type: "integer"; value: number }
  | { type: "real"; value: number }
  | { type: "boolean"; value: boolean }
  | { type: "date"; value: Date }
  | { type: "data"; value: Uint8Array }
  | { type: "array"; value: PlistValue[] }
  | { type: "dictionary"; value: Map<string, PlistValue> };

/** The outcome: errors make a profile invalid; warnings do not. */
export interface ProfileReport {
  errors: string[];
  warnings: string[];
}

const SCALARS = ["key", "string", "integer", "real", "date", "data"];

/** Reads a plist value element, checking the DTD's content model; problems go to `errors`. */
function readValue(e: Element, path: string, errors: string[]): PlistValue | undefined {
  if (SCALARS.includes(e.name) && e.children.length) {
    errors.push(`${path}: <${e.name}> holds text only, found <${e.children[0]?.name}>`);
    return undefined;
  }
  switch (e.name) {
    case "string":
      return { type: "string", value: e.text };
    case "integer": {
      const t = e.text.trim();
      if (!/^[+-]?\d+$/.test(t))
        errors.push(`${path}: <integer> ${JSON.stringify(e.text)} is not an integer`);
      return { type: "integer", value: Number(t) };
    }
    case "real": {
      const t = e.text.trim();
      if (t === "" || Number.isNaN(Number(t)))
        errors.push(`${path}: <real> ${JSON.stringify(e.text)} is not a number`);
      return { type: "real", value: Number(t) };
    }
    case "date": {
      const t = e.text.trim();
      if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(t) || Number.isNaN(Date.parse(t)))
        errors.push(`${path}: <date> ${JSON.stringify(e.text)} is not YYYY-MM-DDTHH:MM:SSZ`);
      return { type: "date", value: new Date(t) };
    }
    case "data": {
      const t = e.text.replace(/\s+/g, "");
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 !== 0) {
        errors.push(`${path}: <data> is not Base64`);
        return undefined;
      }
      return { type: "data", value: Uint8Array.from(atob(t), (c) => c.charCodeAt(0)) };
    }
    case "true":
    case "false":
      if (e.children.length || e.text.trim()) errors.push(`${path}: <${e.name}/> must be empty`);
      return { type: "boolean", value: e.name === "true" };
    case "array": {
      if (e.text.trim()) errors.push(`${path}: text inside <array>`);
      const items = e.children.map((c, i) => readValue(c, `${path}[${i}]`, errors));
      return { type: "array", value: items.filter((v): v is PlistValue => v !== undefined) };
    }
    case "dict": {
      if (e.text.trim()) errors.push(`${path}: text inside <dict>`);
      const map = new Map<string, PlistValue>();
      for (let i = 0; i < e.children.length; i += 2) {
        const key = e.children[i] as Element;
        const value = e.children[i + 1];
        if (key.name !== "key") {
          errors.push(`${path}: expected <key>, found <${key.name}>`);
          return { type: "dictionary", value: map };
        }
        if (key.children.length) errors.push(`${path}: <key> holds text only`);
        if (!value) {
          errors.push(`${path}.${key.text}: key without a value`);
          break;
        }
        if (map.has(key.text)) errors.push(`${path}: key ${key.text} appears twice`);
        const v = readValue(value, `${path}.${key.text}`, errors);
        if (v) map.set(key.text, v);
      }
      return { type: "dictionary", value: map };
    }
    default:
      errors.push(`${path}: <${e.name}> is not a property-list element`);
      return undefined;
  }
}

const DOCTYPE =
  /<!DOCTYPE plist PUBLIC "-\/\/Apple\/\/DTD PLIST 1\.0\/\/EN" "http:\/\/www\.apple\.com\/DTDs\/PropertyList-1\.0\.dtd">/;

/**
 * Parses an XML property list and checks it against the PropertyList-1.0 DTD's content model.
 * @returns the root value (undefined when unreadable) and the problems found
 */
export function parsePlist(xml: string): { value?: PlistValue; errors: string[] } {
  const errors: string[] = [];
  // The only DOCTYPE allowed is Apple's; the well-formedness check refuses DTDs, so it is removed first.
  const withoutDoctype = xml.replace(DOCTYPE, "");
  let root: Element;
  try {
    root = parseElementTree(withoutDoctype);
  } catch (e) {
    return { errors: [(e as Error).message] };
  }
  if (root.name !== "plist") return { errors: [`root element is <${root.name}>, not <plist>`] };
  if ((root.attrs.version ?? "1.0") !== "1.0") errors.push(`plist version ${root.attrs.version}, not 1.0`);
  if (root.children.length !== 1 || root.text.trim()) {
    errors.push(`<plist> must hold exactly one value, found ${root.children.length}`);
    return { errors };
  }
  return { value: readValue(root.children[0] as Element, "plist", errors), errors };
}

/** A key of a payload schema. */
interface KeySpec {
  type: PlistValue["type"] | "any";
  required?: boolean;
  rangelist?: readonly (string | number)[];
  format?: RegExp;
  /** Keys of a dictionary value (checked when given). */
  keys?: Record<string, KeySpec>;
  /** Every value of a dictionary of free keys (ConsentText: language → string). */
  values?: KeySpec;
}

const UUID_FORMAT = /^[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{12}$/;
const EMAIL_AUTH = [
  "EmailAuthNone",
  "EmailAuthPassword",
  "EmailAuthCRAMMD5",
  "EmailAuthNTLM",
  "EmailAuthHTTPMD5",
];
const str = (extra: Partial<KeySpec> = {}): KeySpec => ({ type: "string", ...extra });
const bool: KeySpec = { type: "boolean" };
const int = (extra: Partial<KeySpec> = {}): KeySpec => ({ type: "integer", ...extra });

/** CommonPayloadKeys.yaml: keys every payload of PayloadContent carries. */
export const COMMON_PAYLOAD_KEYS: Record<string, KeySpec> = {
  PayloadIdentifier: str({ required: true }),
  PayloadUUID: str({ required: true }),
  PayloadType: str({ required: true }),
  PayloadVersion: int({ required: true, rangelist: [1] }),
  PayloadDescription: str(),
  PayloadDisplayName: str(),
  PayloadOrganization: str(),
};

/** TopLevel.yaml: the profile itself. */
export const TOP_LEVEL_KEYS: Record<string, KeySpec> = {
  PayloadIdentifier: str({ required: true }),
  PayloadUUID: str({ required: true }),
  PayloadType: str({ required: true, rangelist: ["Configuration"] }),
  PayloadVersion: int({ required: true, rangelist: [1] }),
  IsEncrypted: bool,
  PayloadContent: { type: "array", required: true },
  EncryptedPayloadContent: { type: "data" },
  PayloadDescription: str(),
  PayloadDisplayName: str(),
  HasRemovalPasscode: bool,
  PayloadOrganization: str(),
  PayloadRemovalDisallowed: bool,
  PayloadScope: str({ rangelist: ["System", "User"] }),
  RemovalDate: { type: "date" },
  DurationUntilRemoval: { type: "real" },
  PayloadExpirationDate: { type: "date" },
  TargetDeviceType: int({ rangelist: [0, 1, 2, 3, 4, 5, 6] }),
  ConsentText: { type: "dictionary", values: str() },
};

/** The payloads mailconf emits, by PayloadType (their schema files' payload keys). */
export const PAYLOAD_KEYS: Record<string, Record<string, KeySpec>> = {
  "com.apple.mail.managed": {
    EmailAccountDescription: str(),
    EmailAccountName: str(),
    EmailAccountType: str({ required: true, rangelist: ["EmailTypeIMAP", "EmailTypePOP"] }),
    EmailAddress: str(),
    IncomingMailServerAuthentication: str({ required: true, rangelist: EMAIL_AUTH }),
    IncomingMailServerHostName: str({ required: true }),
    IncomingMailServerPortNumber: int(),
    IncomingMailServerUseSSL: bool,
    IncomingMailServerUsername: str(),
    IncomingPassword: str(),
    OutgoingPassword: str(),
    OutgoingPasswordSameAsIncomingPassword: bool,
    OutgoingMailServerAuthentication: str({ required: true, rangelist: EMAIL_AUTH }),
    OutgoingMailServerHostName: str({ required: true }),
    OutgoingMailServerPortNumber: int(),
    OutgoingMailServerUseSSL: bool,
    OutgoingMailServerUsername: str(),
    PreventMove: bool,
    PreventAppSheet: bool,
    SMIMEEnabled: bool,
    SMIMESigningEnabled: bool,
    SMIMESigningCertificateUUID: str({ format: UUID_FORMAT }),
    SMIMEEncryptionEnabled: bool,
    SMIMEEncryptionCertificateUUID: str({ format: UUID_FORMAT }),
    SMIMEEnablePerMessageSwitch: bool,
    disableMailRecentsSyncing: bool,
    allowMailDrop: bool,
    IncomingMailServerIMAPPathPrefix: str(),
    SMIMESigningUserOverrideable: bool,
    SMIMESigningCertificateUUIDUserOverrideable: bool,
    SMIMEEncryptByDefault: bool,
    SMIMEEncryptByDefaultUserOverrideable: bool,
    SMIMEEncryptionCertificateUUIDUserOverrideable: bool,
    SMIMEEnableEncryptionPerMessageSwitch: bool,
    VPNUUID: str(),
  },
  "com.apple.caldav.account": {
    CalDAVAccountDescription: str(),
    CalDAVHostName: str({ required: true }),
    CalDAVUsername: str(),
    CalDAVPassword: str(),
    CalDAVPrincipalURL: str(),
    CalDAVUseSSL: bool,
    CalDAVPort: int(),
    VPNUUID: str(),
  },
  "com.apple.carddav.account": {
    CardDAVAccountDescription: str(),
    CardDAVHostName: str({ required: true }),
    CardDAVUsername: str(),
    CardDAVPassword: str(),
    CardDAVPrincipalURL: str(),
    CardDAVUseSSL: bool,
    CardDAVPort: int(),
    CommunicationServiceRules: {
      type: "dictionary",
      keys: { DefaultServiceHandlers: { type: "dictionary", keys: { AudioCall: str() } } },
    },
    VPNUUID: str(),
  },
};

function checkValue(path: string, spec: KeySpec, v: PlistValue, report: ProfileReport): void {
  if (spec.type !== "any" && v.type !== spec.type) {
    report.errors.push(`${path}: expected ${spec.type}, got ${v.type} ${JSON.stringify(String(v.value))}`);
    return;
  }
  if (spec.rangelist && !spec.rangelist.includes(v.value as string | number))
    report.errors.push(`${path}: ${JSON.stringify(v.value)} not in [${spec.rangelist.join(", ")}]`);
  if (spec.format && v.type === "string" && !spec.format.test(v.value))
    report.errors.push(`${path}: ${JSON.stringify(v.value)} does not match ${spec.format.source}`);
  if (v.type === "dictionary" && spec.keys) checkDict(path, spec.keys, v.value, report);
  if (v.type === "dictionary" && spec.values)
    for (const [k, item] of v.value) checkValue(`${path}.${k}`, spec.values, item, report);
}

function checkDict(
  path: string,
  keys: Record<string, KeySpec>,
  dict: Map<string, PlistValue>,
  report: ProfileReport,
  allowExtra: readonly string[] = [],
): void {
  for (const [key, spec] of Object.entries(keys))
    if (spec.required && !dict.has(key)) report.errors.push(`${path}: missing required key ${key}`);
  for (const [key, value] of dict) {
    const spec = keys[key];
    if (spec) checkValue(`${path}.${key}`, spec, value, report);
    else if (!allowExtra.includes(key)) report.warnings.push(`${path}: key ${key} not in schema`);
  }
}

/** The embedded content of a DER CMS SignedData (RFC 5652 §5.2), or undefined if it is not one. */
export function signedContent(der: Uint8Array): Uint8Array | undefined {
  try {
    const info = AsnConvert.parse(der, ContentInfo);
    const signed = AsnConvert.parse(info.content, SignedData);
    const content = signed.encapContentInfo.eContent;
    const octets = content?.single ?? content?.any;
    if (!octets) return undefined;
    return new Uint8Array(octets instanceof ArrayBuffer ? octets : octets.buffer);
  } catch {
    return undefined;
  }
}

const stringOf = (v: PlistValue | undefined) => (v?.type === "string" ? v.value : undefined);

/**
 * Checks a profile: plain XML (text or bytes) or CMS-signed DER.
 * @returns errors (the profile is invalid) and warnings (keys outside the schema, non-UUID UUIDs)
 */
export function checkProfile(profile: string | Uint8Array): ProfileReport {
  const report: ProfileReport = { errors: [], warnings: [] };
  let bytes = typeof profile === "string" ? new TextEncoder().encode(profile) : profile;
  if (bytes[0] === 0x30) {
    const content = signedContent(bytes);
    if (!content) return { errors: ["DER that is not CMS SignedData with embedded content"], warnings: [] };
    bytes = content;
  }
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) report.warnings.push("UTF-8 BOM present");
  const { value: top, errors } = parsePlist(new TextDecoder().decode(bytes));
  report.errors.push(...errors);
  if (!top) return report;
  if (top.type !== "dictionary") {
    report.errors.push(`top: expected dictionary, got ${top.type}`);
    return report;
  }
  checkDict("top", TOP_LEVEL_KEYS, top.value, report);
  const ids = new Set([stringOf(top.value.get("PayloadIdentifier"))]);
  const uuids = new Set([stringOf(top.value.get("PayloadUUID"))]);
  const content = top.value.get("PayloadContent");
  const payloads = content?.type === "array" ? content.value : [];
  payloads.forEach((p, i) => {
    const path = `PayloadContent[${i}]`;
    if (p.type !== "dictionary") {
      report.errors.push(`${path}: not a dictionary`);
      return;
    }
    const common = new Map([...p.value].filter(([k]) => k in COMMON_PAYLOAD_KEYS));
    checkDict(path, COMMON_PAYLOAD_KEYS, common, report);
    const type = stringOf(p.value.get("PayloadType")) ?? "";
    const schema = PAYLOAD_KEYS[type];
    if (!schema) report.warnings.push(`${path}: no schema for ${type}`);
    else checkDict(`${path}<${type}>`, schema, p.value, report, Object.keys(COMMON_PAYLOAD_KEYS));
    const id = stringOf(p.value.get("PayloadIdentifier"));
    const uuid = stringOf(p.value.get("PayloadUUID"));
    if (ids.has(id)) report.errors.push(`${path}: PayloadIdentifier not unique in profile`);
    if (uuids.has(uuid)) report.errors.push(`${path}: PayloadUUID not unique in profile`);
    ids.add(id);
    uuids.add(uuid);
  });
  for (const u of uuids)
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(String(u)))
      report.warnings.push(`PayloadUUID ${JSON.stringify(u)} is not in UUID form`);
  return report;
}
