/**
 * Profile signing (src/signing): throwaway RSA and ECDSA chains made with openssl, profiles signed
 * with the @peculiar/asn1-* schemas over WebCrypto, verified by
 * `openssl cms -verify -inform DER -CAfile <root> -purpose any` (reference/mobileconfig.md §9.2,
 * §9.4), plus every start-up error an operator can meet.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadSettingsFile } from "../src/node/config-files.ts";
import { loadProfileSigner, signingReport } from "../src/node/server.ts";
import { accountSettings } from "../src/providers/account.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { parseEmailAddress } from "../src/providers/domain.ts";
import { MemoryStore } from "../src/providers/store.ts";
import { createProfileSigner, SigningConfigError } from "../src/signing/signer.ts";
import { renderMobileconfig } from "../src/templates/mobileconfig.ts";
import { expectValidProfile } from "./helpers/checks/expect.ts";
import { cmsVerify, type KeyKind, makeChain, openssl, type TestChain } from "./helpers/pki.ts";
import { REPO_ROOT, tempFile } from "./helpers/shared.ts";

/** A fixed signing time inside every test chain's validity (chains start now, last 30 days). */
const AT = new Date(Math.floor(Date.now() / 1000) * 1000 + 3600_000);
const at = () => AT;

/** The unsigned profiles signed below: a built-in provider and one with CalDAV/CardDAV and non-ASCII text. */
async function profiles(): Promise<Record<string, Uint8Array>> {
  const settings = await loadSettingsFile(join(REPO_ROOT, "test/fixtures/profile-options.yaml"));
  const store = new MemoryStore(
    [...settings.providers, ...BUILTIN_PROVIDERS].map((provider) => ({ provider, source: "test" })),
  );
  const out: Record<string, Uint8Array> = {};
  for (const input of ["user@example.com", "jane.doe@hosting.example.net"]) {
    const address = parseEmailAddress(input);
    const resolution = address && (await store.resolve(address.domain));
    if (!address || !resolution) throw new Error(input);
    out[input] = new TextEncoder().encode(await renderMobileconfig(accountSettings(resolution, address)));
  }
  return out;
}

/** `openssl cms -cmsout -print` of a signed profile (structure as OpenSSL reads it). */
function cmsPrint(signed: Uint8Array): string {
  return openssl(["cms", "-cmsout", "-print", "-inform", "DER", "-in", tempFile("p.der", signed)]);
}

let unsigned: Record<string, Uint8Array>;
beforeAll(async () => {
  unsigned = await profiles();
});

// P-521 is where WebCrypto's r‖s (66 bytes each) most often has leading zero octets that the DER
// Ecdsa-Sig-Value must drop; OpenSSL refuses an ECDSA signature that is not strict DER.
describe.each<KeyKind>(["rsa", "ec-p256", "ec-p384", "ec-p521"])("%s chain", (kind) => {
  let chain: TestChain;
  beforeAll(() => {
    chain = makeChain(kind);
  });
  const signer = () =>
    createProfileSigner({
      certificatePem: chain.leaf,
      privateKeyPem: chain.leafKey,
      chainPem: chain.intermediate,
      now: at,
    });

  it("signed profiles verify against the test root and carry the unsigned bytes unchanged", async () => {
    const s = await signer();
    expect(s.warnings).toEqual([]);
    expect(s.keyAlgorithm).toBe(
      { rsa: "RSA 2048", "ec-p256": "ECDSA P-256", "ec-p384": "ECDSA P-384", "ec-p521": "ECDSA P-521" }[kind],
    );
    for (const [name, content] of Object.entries(unsigned)) {
      const signed = await s.sign(content);
      expect(signed[0], name).toBe(0x30);
      const v = cmsVerify(signed, chain.rootPath);
      expect(v.ok, v.output).toBe(true);
      expect(Buffer.compare(v.content, Buffer.from(content)), name).toBe(0);
      expectValidProfile(signed, { strict: true });
    }
  });

  it("a tampered byte in the content or the signature fails verification", async () => {
    const content = unsigned["user@example.com"] as Uint8Array;
    const signed = await (await signer()).sign(content);
    const at = Buffer.from(signed).indexOf("mail.example.com");
    expect(at).toBeGreaterThan(0);
    const inContent = Uint8Array.from(signed);
    inContent[at] = "n".charCodeAt(0);
    const v1 = cmsVerify(inContent, chain.rootPath);
    expect(v1.ok).toBe(false);
    expect(v1.output).toMatch(/digest failure|content verify error/i);
    const inSignature = Uint8Array.from(signed);
    const last = inSignature.length - 1;
    inSignature[last] = (inSignature[last] ?? 0) ^ 0x01;
    const v2 = cmsVerify(inSignature, chain.rootPath);
    expect(v2.ok).toBe(false);
    expect(v2.output).toMatch(/signature failure|verification failure|verify error/i);
  });

  it("is DER with SHA-256, content attached, and signed attributes contentType, signingTime, messageDigest", async () => {
    const signed = await (await signer()).sign(unsigned["user@example.com"] as Uint8Array);
    // OpenSSL re-encodes what it parsed as DER (sorted SETs, primitive OCTET STRING): same bytes.
    const outPath = tempFile("re.der", "");
    openssl([
      "cms",
      "-cmsout",
      "-inform",
      "DER",
      "-outform",
      "DER",
      "-in",
      tempFile("s.der", signed),
      "-out",
      outPath,
    ]);
    expect(Buffer.compare(readFileSync(outPath), Buffer.from(signed))).toBe(0);
    const printed = cmsPrint(signed);
    expect(printed).toMatch(/digestAlgorithms:\s+algorithm: sha256 \(2\.16\.840\.1\.101\.3\.4\.2\.1\)/);
    expect(printed).toContain("eContentType: pkcs7-data (1.2.840.113549.1.7.1)");
    expect(printed).toContain(
      kind === "rsa"
        ? "sha256WithRSAEncryption (1.2.840.113549.1.1.11)\n          parameter: NULL"
        : "ecdsa-with-SHA256 (1.2.840.10045.4.3.2)\n          parameter: <ABSENT>",
    );
    const attrs = [...printed.matchAll(/object: (\w+) \(1\.2\.840\.113549\.1\.9\.\d\)/g)].map((m) => m[1]);
    expect(attrs).toEqual(["contentType", "signingTime", "messageDigest"]);
    expect(printed).toContain(`UTCTIME:${opensslTime(AT)}`);
    // Leaf and intermediate are embedded; the root is not needed on the wire.
    expect(printed.match(/d\.certificate:/g)).toHaveLength(2);
  });

  it("a fullchain.pem given as the certificate supplies the intermediate", async () => {
    const s = await createProfileSigner({
      certificatePem: readFileSync(chain.fullchainPath, "utf8"),
      privateKeyPem: chain.leafKey,
      now: at,
    });
    expect(s.chain.map((c) => c.subject)).toEqual(["CN=Test Intermediate CA, O=mailconf tests"]);
    const v = cmsVerify(await s.sign(unsigned["user@example.com"] as Uint8Array), chain.rootPath);
    expect(v.ok, v.output).toBe(true);
  });

  it("without the intermediate the chain cannot be built, and the signer says so at start", async () => {
    const s = await createProfileSigner({
      certificatePem: chain.leaf,
      privateKeyPem: chain.leafKey,
      now: at,
    });
    expect(s.warnings).toEqual([
      "no intermediate certificate for CN=autoconfig.test.example (issuer CN=Test Intermediate CA, O=mailconf tests) was given: devices may show the profile as Not Verified. Use fullchain.pem or --sign-chain",
    ]);
    const v = cmsVerify(await s.sign(unsigned["user@example.com"] as Uint8Array), chain.rootPath);
    expect(v.ok).toBe(false);
    expect(v.output).toMatch(/unable to get local issuer certificate/);
  });

  it("a key that belongs to another certificate is refused at start", async () => {
    await expect(
      createProfileSigner({ certificatePem: chain.leaf, privateKeyPem: chain.intermediateKey, now: at }),
    ).rejects.toThrow(
      /^the private key does not belong to the signing certificate \(CN=autoconfig\.test\.example\): signatures made with it would not verify/,
    );
  });

  it("an expired or not yet valid certificate is refused at start; OpenSSL agrees the signature is then invalid", async () => {
    const s = await signer();
    const notAfter = s.certificate.notAfter;
    await expect(
      createProfileSigner({
        certificatePem: chain.leaf,
        privateKeyPem: chain.leafKey,
        now: () => new Date(notAfter.getTime() + 86_400_000),
      }),
    ).rejects.toThrow(
      `the signing certificate (CN=autoconfig.test.example) expired on ${notAfter.toISOString()}; devices treat a profile signed with an expired certificate as unsigned`,
    );
    const signed = await s.sign(unsigned["user@example.com"] as Uint8Array);
    const later = cmsVerify(signed, chain.rootPath, Math.floor(notAfter.getTime() / 1000) + 86_400);
    expect(later.ok).toBe(false);
    expect(later.output).toMatch(/certificate has expired/);
    const notBefore = s.certificate.notBefore;
    await expect(
      createProfileSigner({
        certificatePem: chain.leaf,
        privateKeyPem: chain.leafKey,
        now: () => new Date(notBefore.getTime() - 86_400_000),
      }),
    ).rejects.toThrow(`is not valid before ${notBefore.toISOString()}`);
  });

  it("a PKCS#1/SEC 1 key is refused with the exact openssl command, and that command fixes it", async () => {
    const legacyPath = join(chain.dir, "legacy.key");
    openssl(
      kind === "rsa"
        ? ["rsa", "-in", chain.leafKeyPath, "-traditional", "-out", legacyPath]
        : ["ec", "-in", chain.leafKeyPath, "-out", legacyPath],
    );
    const legacy = readFileSync(legacyPath, "utf8");
    const label = kind === "rsa" ? "RSA PRIVATE KEY" : "EC PRIVATE KEY";
    expect(legacy).toContain(`-----BEGIN ${label}-----`);
    const error = await createProfileSigner({
      certificatePem: chain.leaf,
      privateKeyPem: legacy,
      now: at,
      names: { privateKey: legacyPath },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SigningConfigError);
    const message = (error as Error).message;
    expect(message).toContain(`("BEGIN ${label}"), which WebCrypto cannot import`);
    const command = /openssl (pkcs8 -topk8 -nocrypt -in \S+ -out \S+)$/.exec(message)?.[1];
    expect(command).toBe(`pkcs8 -topk8 -nocrypt -in ${legacyPath} -out key.pkcs8.pem`);
    openssl((command ?? "").split(" "), { cwd: chain.dir });
    const converted = readFileSync(join(chain.dir, "key.pkcs8.pem"), "utf8");
    const s = await createProfileSigner({
      certificatePem: readFileSync(chain.fullchainPath, "utf8"),
      privateKeyPem: converted,
      now: at,
    });
    const v = cmsVerify(await s.sign(unsigned["user@example.com"] as Uint8Array), chain.rootPath);
    expect(v.ok, v.output).toBe(true);
  });
});

describe("determinism and start-up errors", () => {
  let rsa: TestChain;
  let ec: TestChain;
  beforeAll(() => {
    rsa = makeChain("rsa");
    ec = makeChain("ec-p256");
  });
  const content = () => unsigned["user@example.com"] as Uint8Array;

  it("RSA (PKCS#1 v1.5) output is identical for the same content and signing time — the Node/workerd comparison", async () => {
    // ECDSA signatures are randomised, so a byte-for-byte comparison across runtimes must use RSA.
    const options = {
      certificatePem: rsa.leaf,
      privateKeyPem: rsa.leafKey,
      chainPem: rsa.intermediate,
      now: at,
    };
    const a = await (await createProfileSigner(options)).sign(content());
    const b = await (await createProfileSigner(options)).sign(content());
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
    const later = await (
      await createProfileSigner({ ...options, now: () => new Date(AT.getTime() + 1000) })
    ).sign(content());
    expect(Buffer.compare(Buffer.from(a), Buffer.from(later))).not.toBe(0);
  });

  it("ECDSA signatures differ from run to run, and each verifies", async () => {
    const s = await createProfileSigner({
      certificatePem: ec.leaf,
      privateKeyPem: ec.leafKey,
      chainPem: ec.intermediate,
      now: at,
    });
    const a = await s.sign(content());
    const b = await s.sign(content());
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).not.toBe(0);
    expect(cmsVerify(a, ec.rootPath).ok).toBe(true);
    expect(cmsVerify(b, ec.rootPath).ok).toBe(true);
  });

  it("refuses a key of the other type, an encrypted key, and text that is not a certificate or key", async () => {
    const make = (certificatePem: string, privateKeyPem: string) =>
      createProfileSigner({ certificatePem, privateKeyPem, now: at });
    await expect(make(rsa.leaf, ec.leafKey)).rejects.toThrow(
      "the private key is an EC key but the signing certificate has an RSA key: the key does not belong to the certificate",
    );
    const encrypted = openssl([
      "pkcs8",
      "-topk8",
      "-in",
      rsa.leafKeyPath,
      "-passout",
      "pass:secret",
      "-v2",
      "aes-256-cbc",
    ]);
    expect(encrypted).toContain("BEGIN ENCRYPTED PRIVATE KEY");
    await expect(make(rsa.leaf, encrypted)).rejects.toThrow(
      "the private key is encrypted with a passphrase; mailconf needs it unencrypted. Convert it (you will be asked for the passphrase): openssl pkey -in key.pem -out key.pkcs8.pem",
    );
    await expect(make("hello", rsa.leafKey)).rejects.toThrow(
      'the signing certificate: no "BEGIN CERTIFICATE" block found',
    );
    await expect(make(rsa.leaf, rsa.leaf)).rejects.toThrow(
      'the private key: no private key found (only CERTIFICATE); expected "-----BEGIN PRIVATE KEY-----"',
    );
    await expect(make(rsa.leaf.replace(/\n[A-Za-z0-9+/]{10}/, "\n!!!!!!!!!!"), rsa.leafKey)).rejects.toThrow(
      "the signing certificate: the CERTIFICATE block is not valid PEM (bad base64 body)",
    );
    const errors = await Promise.all(
      [make(rsa.leaf, ec.leafKey), make("x", "y")].map((p) => p.catch((e) => e)),
    );
    for (const e of errors) expect(e).toBeInstanceOf(SigningConfigError);
  });
});

describe("Node: signing material from paths or PEM text (--sign-cert/--sign-key/--sign-chain)", () => {
  let rsa: TestChain;
  beforeAll(() => {
    rsa = makeChain("rsa");
  });

  it("nothing configured → no signer, and the start-up log says the profiles are unsigned", async () => {
    expect(await loadProfileSigner({})).toBeUndefined();
    expect(signingReport(undefined)).toEqual([
      "Apple profiles are unsigned (no signing certificate configured; see --sign-cert in docs/signing.md).",
    ]);
  });

  it("a path and the PEM text itself give the same signer", async () => {
    const fromFiles = await loadProfileSigner(
      { cert: rsa.leafPath, key: rsa.leafKeyPath, chain: rsa.intermediatePath },
      at,
    );
    const fromText = await loadProfileSigner(
      { cert: rsa.leaf, key: rsa.leafKey, chain: rsa.intermediate },
      at,
    );
    const content = unsigned["user@example.com"] as Uint8Array;
    const a = (await fromFiles?.sign(content)) ?? new Uint8Array();
    const b = (await fromText?.sign(content)) ?? new Uint8Array();
    expect(a.length).toBeGreaterThan(content.length);
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
    expect(signingReport(fromFiles)[0]).toBe(
      `Apple profiles are signed by CN=autoconfig.test.example (RSA 2048, issued by CN=Test Intermediate CA, O=mailconf tests, valid until ${fromFiles?.certificate.notAfter.toISOString()}, 1 intermediate certificate(s)).`,
    );
  });

  it("names the file in errors, and refuses half a configuration", async () => {
    const legacy = join(rsa.dir, "pkcs1.key");
    openssl(["rsa", "-in", rsa.leafKeyPath, "-traditional", "-out", legacy]);
    await expect(loadProfileSigner({ cert: rsa.leafPath, key: legacy }, at)).rejects.toThrow(
      `${legacy} is a PKCS#1 RSA key ("BEGIN RSA PRIVATE KEY"), which WebCrypto cannot import. Convert it to PKCS#8 with: openssl pkcs8 -topk8 -nocrypt -in ${legacy} -out key.pkcs8.pem`,
    );
    await expect(
      loadProfileSigner({ cert: join(rsa.dir, "missing.pem"), key: rsa.leafKeyPath }),
    ).rejects.toThrow(/^cannot read the signing certificate file .*missing\.pem: ENOENT/);
    await expect(loadProfileSigner({ cert: rsa.leafPath })).rejects.toThrow(
      "--sign-cert needs its private key: give --sign-key (or MAILCONF_SIGN_KEY)",
    );
    await expect(loadProfileSigner({ key: rsa.leafKeyPath })).rejects.toThrow(
      "--sign-key/--sign-chain need the certificate: give --sign-cert (or MAILCONF_SIGN_CERT)",
    );
  });
});

/** A date as `openssl … -print` shows an ASN.1 time: `Nov 30 01:24:53 2026 GMT`. */
function opensslTime(d: Date): string {
  const month = d.toLocaleString("en-US", { month: "short", timeZone: "UTC" });
  const p = (n: number) => String(n).padStart(2, "0");
  return `${month} ${String(d.getUTCDate()).padStart(2, " ")} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()} GMT`;
}
