/**
 * Signs Apple configuration profiles: the profile's exact UTF-8 bytes wrapped in CMS SignedData
 * (RFC 5652), DER, content attached, SHA-256, signed attributes (contentType, signingTime,
 * messageDigest), the signing certificate plus its intermediates — the format of Apple's own
 * signed profiles and of `openssl cms -sign -binary -nodetach -outform DER -md sha256`
 * (reference/mobileconfig.md §9.1, §9.4).
 *
 * pkijs + asn1js over WebCrypto (`crypto.subtle`) only, so the same code signs on Node.js and on
 * Cloudflare Workers (secrets arrive there as PEM text). Keys: RSA (PKCS#1 v1.5 signatures) and
 * ECDSA (P-256, P-384, P-521), as unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY").
 *
 * Everything is checked once, up front ({@link createProfileSigner}): the key must import, must
 * belong to the certificate, and the certificate must be valid now. Problems throw
 * {@link SigningConfigError} with a message an operator can act on.
 *
 * Determinism: with the same `now`, RSA output is byte-for-byte identical on every runtime
 * (PKCS#1 v1.5 signatures are deterministic); ECDSA signatures are randomised by design, so two
 * ECDSA-signed copies differ in the signature bytes only. Compare Node vs workerd output with RSA.
 */
import * as asn1js from "asn1js";
import {
  AlgorithmIdentifier,
  Attribute,
  Certificate,
  ContentInfo,
  CryptoEngine,
  EncapsulatedContentInfo,
  IssuerAndSerialNumber,
  PrivateKeyInfo,
  type RelativeDistinguishedNames,
  SignedAndUnsignedAttributes,
  SignedData,
  SignerInfo,
  setEngine,
} from "pkijs";
import { type PemBlock, parsePem } from "./pem.ts";

/** A signing configuration that cannot work; the message says what is wrong and how to fix it. */
export class SigningConfigError extends Error {
  override name = "SigningConfigError";
}

/** Options of {@link createProfileSigner}; every PEM is text (read files in the Node entry). */
export interface ProfileSignerOptions {
  /**
   * The signing certificate (PEM). Further certificates in the same text (a `fullchain.pem`) are
   * used as intermediates.
   */
  certificatePem: string;
  /** The certificate's private key, unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  privateKeyPem: string;
  /** Intermediate certificates (PEM, one or more), sent along so devices can build the chain. */
  chainPem?: string;
  /** Clock for the validity check and the signingTime attribute (tests fix it). Default: `new Date()`. */
  now?: () => Date;
  /** Names used in error messages, e.g. the file paths: `{ certificate: "/etc/…/cert.pem" }`. */
  names?: { certificate?: string; privateKey?: string; chain?: string };
}

/** What an operator should know about a certificate. */
export interface CertificateSummary {
  /** Subject as `CN=…, O=…` (the CN is what iOS shows as "Signed by"). */
  subject: string;
  issuer: string;
  /** Hex, as `openssl x509 -serial` prints it. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

/** A ready signer (see {@link createProfileSigner}). */
export interface ProfileSigner {
  /**
   * Wraps `content` (the exact profile bytes, signed and embedded unchanged) in DER CMS SignedData.
   * The signingTime is `now()` at call time, in whole seconds.
   */
  sign: (content: Uint8Array) => Promise<Uint8Array>;
  /** The signing certificate. */
  certificate: CertificateSummary;
  /** Intermediates sent along (leaf excluded), in the order given. */
  chain: CertificateSummary[];
  /** e.g. `RSA 2048` or `ECDSA P-256`. */
  keyAlgorithm: string;
  /** Non-fatal problems (no intermediate for the leaf, an expired intermediate …) for the start-up log. */
  warnings: string[];
}

const OID = {
  rsaEncryption: "1.2.840.113549.1.1.1",
  rsaPss: "1.2.840.113549.1.1.10",
  ecPublicKey: "1.2.840.10045.2.1",
  data: "1.2.840.113549.1.7.1",
  signedData: "1.2.840.113549.1.7.2",
  contentType: "1.2.840.113549.1.9.3",
  messageDigest: "1.2.840.113549.1.9.4",
  signingTime: "1.2.840.113549.1.9.5",
  sha256: "2.16.840.1.101.3.4.2.1",
  sha256WithRSAEncryption: "1.2.840.113549.1.1.11",
} as const;

const CURVES: Record<string, string> = {
  "1.2.840.10045.3.1.7": "P-256",
  "1.3.132.0.34": "P-384",
  "1.3.132.0.35": "P-521",
};

const NAME_SHORT: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
};

let engine: CryptoEngine | undefined;
/** pkijs needs a crypto engine; use the runtime's WebCrypto (Node 20 and workerd both have `crypto`). */
function cryptoEngine(): CryptoEngine {
  if (!engine) {
    engine = new CryptoEngine({ name: "webcrypto", crypto: globalThis.crypto });
    setEngine("webcrypto", engine);
  }
  return engine;
}

/**
 * Validates a certificate, key and chain and returns a signer.
 * @throws SigningConfigError when the certificate or key cannot be read, the key is not
 *   unencrypted PKCS#8 (the message gives the `openssl` command that converts it), the key
 *   type is unsupported, the key does not belong to the certificate, or the certificate is
 *   not valid at `now()` (expired or not yet valid)
 */
export async function createProfileSigner(options: ProfileSignerOptions): Promise<ProfileSigner> {
  const crypto = cryptoEngine();
  const now = options.now ?? (() => new Date());
  const names = {
    certificate: options.names?.certificate ?? "the signing certificate",
    privateKey: options.names?.privateKey ?? "the private key",
    chain: options.names?.chain ?? "the certificate chain",
  };

  const certBlocks = certificates(options.certificatePem, names.certificate);
  const [leafDer, ...bundled] = certBlocks;
  if (!leafDer) throw new SigningConfigError(`${names.certificate}: no "BEGIN CERTIFICATE" block found`);
  const leaf = parseCertificate(leafDer, names.certificate);
  const chainDer = [...bundled];
  if (options.chainPem !== undefined) {
    const extra = certificates(options.chainPem, names.chain);
    if (extra.length === 0)
      throw new SigningConfigError(`${names.chain}: no "BEGIN CERTIFICATE" block found`);
    chainDer.push(...extra);
  }
  // Drop duplicates (a fullchain.pem given together with a chain file) and the leaf itself.
  const seen = new Set([hex(leafDer)]);
  const chain: { der: Uint8Array; cert: Certificate }[] = [];
  for (const der of chainDer) {
    if (seen.has(hex(der))) continue;
    seen.add(hex(der));
    chain.push({ der, cert: parseCertificate(der, names.chain) });
  }

  const at = now();
  const leafSummary = summary(leaf);
  if (at < leafSummary.notBefore)
    throw new SigningConfigError(
      `${names.certificate} (${leafSummary.subject}) is not valid before ${leafSummary.notBefore.toISOString()}`,
    );
  if (at > leafSummary.notAfter)
    throw new SigningConfigError(
      `${names.certificate} (${leafSummary.subject}) expired on ${leafSummary.notAfter.toISOString()}; ` +
        "devices treat a profile signed with an expired certificate as unsigned. Renew it and restart",
    );

  const algorithm = signingAlgorithm(leaf, names.certificate);
  const privateKey = await importPrivateKey(options.privateKeyPem, algorithm, leaf, names);
  await assertKeyMatches(privateKey, leaf, algorithm, names);

  const warnings: string[] = [];
  const selfIssued = leaf.issuer.isEqual(leaf.subject);
  if (!selfIssued && !chain.some((c) => c.cert.subject.isEqual(leaf.issuer)))
    warnings.push(
      `no intermediate certificate for ${leafSummary.subject} (issuer ${leafSummary.issuer}) was given: ` +
        "devices may show the profile as Not Verified. Use fullchain.pem or --sign-chain",
    );
  for (const c of chain) {
    const s = summary(c.cert);
    if (at > s.notAfter)
      warnings.push(`chain certificate ${s.subject} expired on ${s.notAfter.toISOString()}`);
  }

  const keyAlgorithm =
    "namedCurve" in algorithm
      ? `ECDSA ${algorithm.namedCurve}`
      : `RSA ${(privateKey.algorithm as RsaHashedKeyAlgorithm).modulusLength}`;

  // DER: a SET OF is sorted by encoding (X.690 §11.6), as OpenSSL writes the certificates.
  const embedded = [{ der: leafDer, cert: leaf }, ...chain]
    .sort((a, b) => compareBytes(a.der, b.der))
    .map((c) => c.cert);

  const sign = async (content: Uint8Array): Promise<Uint8Array> => {
    const digest = await globalThis.crypto.subtle.digest("SHA-256", content as Uint8Array<ArrayBuffer>);
    const signingTime = new Date(Math.floor(now().getTime() / 1000) * 1000);
    const attributes = sortAttributes([
      new Attribute({
        type: OID.contentType,
        values: [new asn1js.ObjectIdentifier({ value: OID.data })],
      }),
      new Attribute({
        type: OID.signingTime,
        // RFC 5652 §11.3: UTCTime for 1950-2049, GeneralizedTime otherwise.
        values: [
          signingTime.getUTCFullYear() < 2050
            ? new asn1js.UTCTime({ valueDate: signingTime })
            : new asn1js.GeneralizedTime({ valueDate: signingTime }),
        ],
      }),
      new Attribute({
        type: OID.messageDigest,
        values: [new asn1js.OctetString({ valueHex: digest })],
      }),
    ]);
    const signedData = new SignedData({
      version: 1,
      encapContentInfo: new EncapsulatedContentInfo({ eContentType: OID.data }),
      certificates: embedded,
      signerInfos: [
        new SignerInfo({
          version: 1,
          sid: new IssuerAndSerialNumber({ issuer: leaf.issuer, serialNumber: leaf.serialNumber }),
          signedAttrs: new SignedAndUnsignedAttributes({ type: 0, attributes }),
        }),
      ],
    });
    // Set after construction: the constructor would split the content into a constructed
    // (BER) OCTET STRING; DER and Apple's own profiles use one primitive OCTET STRING.
    signedData.encapContentInfo.eContent = new asn1js.OctetString({ valueHex: content });
    await signedData.sign(privateKey, 0, "SHA-256", undefined, crypto);
    // Algorithm parameters as the RFCs ask (these fields are outside the signed attributes):
    // SHA-256 without parameters (RFC 5754 §2), sha256WithRSAEncryption with NULL (RFC 5754 §3.2);
    // ecdsa-with-SHA256 has none (RFC 5758 §3.2), as pkijs writes it.
    const signerInfo = signedData.signerInfos[0] as SignerInfo;
    signedData.digestAlgorithms = [new AlgorithmIdentifier({ algorithmId: OID.sha256 })];
    signerInfo.digestAlgorithm = new AlgorithmIdentifier({ algorithmId: OID.sha256 });
    if (signerInfo.signatureAlgorithm.algorithmId === OID.sha256WithRSAEncryption)
      signerInfo.signatureAlgorithm = new AlgorithmIdentifier({
        algorithmId: OID.sha256WithRSAEncryption,
        algorithmParams: new asn1js.Null(),
      });
    const contentInfo = new ContentInfo({ contentType: OID.signedData, content: signedData.toSchema() });
    return new Uint8Array(contentInfo.toSchema().toBER(false));
  };

  return {
    sign,
    certificate: leafSummary,
    chain: chain.map((c) => summary(c.cert)),
    keyAlgorithm,
    warnings,
  };
}

type SigningAlgorithm = RsaHashedImportParams | EcKeyImportParams;

function certificates(pem: string, name: string): Uint8Array[] {
  return blocks(pem, name)
    .filter((b) => b.label === "CERTIFICATE")
    .map((b) => b.der);
}

function blocks(pem: string, name: string): PemBlock[] {
  try {
    return parsePem(pem);
  } catch (e) {
    throw new SigningConfigError(`${name}: ${(e as Error).message}`);
  }
}

function parseCertificate(der: Uint8Array, name: string): Certificate {
  try {
    return Certificate.fromBER(der as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw new SigningConfigError(`${name}: not a valid X.509 certificate (${(e as Error).message})`);
  }
}

/** The WebCrypto algorithm for the certificate's public key type. */
function signingAlgorithm(cert: Certificate, name: string): SigningAlgorithm {
  const spki = cert.subjectPublicKeyInfo.algorithm;
  if (spki.algorithmId === OID.rsaEncryption) return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  if (spki.algorithmId === OID.ecPublicKey) {
    const curveOid =
      spki.algorithmParams instanceof asn1js.ObjectIdentifier
        ? spki.algorithmParams.valueBlock.toString()
        : "";
    const namedCurve = CURVES[curveOid];
    if (!namedCurve)
      throw new SigningConfigError(
        `${name}: EC curve ${curveOid || "(explicit parameters)"} is not supported; use P-256, P-384 or P-521`,
      );
    return { name: "ECDSA", namedCurve };
  }
  const what = spki.algorithmId === OID.rsaPss ? "RSA-PSS" : `key type ${spki.algorithmId}`;
  throw new SigningConfigError(`${name}: ${what} is not supported; use an RSA or ECDSA certificate`);
}

async function importPrivateKey(
  pem: string,
  algorithm: SigningAlgorithm,
  cert: Certificate,
  names: { certificate: string; privateKey: string },
): Promise<CryptoKey> {
  const all = blocks(pem, names.privateKey);
  const key = all.find((b) => b.label.endsWith("PRIVATE KEY"));
  if (!key) {
    const found = all.map((b) => b.label).join(", ");
    throw new SigningConfigError(
      `${names.privateKey}: no private key found (${found ? `only ${found}` : "no PEM block"}); ` +
        'expected "-----BEGIN PRIVATE KEY-----"',
    );
  }
  const file = /^[\w./-]+\.(pem|key)$|\//.test(names.privateKey) ? names.privateKey : "key.pem";
  if (key.label === "ENCRYPTED PRIVATE KEY" || /ENCRYPTED/.test(key.headers["Proc-Type"] ?? ""))
    throw new SigningConfigError(
      `${names.privateKey} is encrypted with a passphrase; mailconf needs it unencrypted. ` +
        `Convert it (you will be asked for the passphrase): openssl pkey -in ${file} -out key.pkcs8.pem`,
    );
  if (key.label === "RSA PRIVATE KEY" || key.label === "EC PRIVATE KEY")
    throw new SigningConfigError(
      `${names.privateKey} is a ${key.label === "RSA PRIVATE KEY" ? "PKCS#1 RSA" : "SEC 1 EC"} key ` +
        `("BEGIN ${key.label}"), which WebCrypto cannot import. Convert it to PKCS#8 with: ` +
        `openssl pkcs8 -topk8 -nocrypt -in ${file} -out key.pkcs8.pem`,
    );
  if (key.label !== "PRIVATE KEY")
    throw new SigningConfigError(
      `${names.privateKey}: "BEGIN ${key.label}" is not supported; expected "BEGIN PRIVATE KEY" (PKCS#8)`,
    );

  let info: PrivateKeyInfo;
  try {
    info = PrivateKeyInfo.fromBER(key.der as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw new SigningConfigError(`${names.privateKey}: not a valid PKCS#8 key (${(e as Error).message})`);
  }
  const keyType = keyTypeName(info.privateKeyAlgorithm.algorithmId);
  const certType = keyTypeName(cert.subjectPublicKeyInfo.algorithm.algorithmId);
  if (keyType !== certType)
    throw new SigningConfigError(
      `${names.privateKey} is an ${keyType} key but ${names.certificate} has an ${certType} key: ` +
        "the key does not belong to the certificate",
    );
  try {
    return await globalThis.crypto.subtle.importKey(
      "pkcs8",
      key.der as Uint8Array<ArrayBuffer>,
      algorithm,
      false,
      ["sign"],
    );
  } catch (e) {
    const curve = "namedCurve" in algorithm ? ` on curve ${algorithm.namedCurve} like the certificate` : "";
    throw new SigningConfigError(
      `${names.privateKey}: WebCrypto cannot import the key (${(e as Error).message}); it must be an ` +
        `unencrypted PKCS#8 ${keyType} key${curve}. Re-export it with: openssl pkcs8 -topk8 -nocrypt -in ${file} -out key.pkcs8.pem`,
    );
  }
}

function keyTypeName(oid: string): string {
  if (oid === OID.rsaEncryption) return "RSA";
  if (oid === OID.ecPublicKey) return "EC";
  if (oid === OID.rsaPss) return "RSA-PSS";
  return `unknown (${oid})`;
}

/** Signs a probe with the private key and verifies it with the certificate's public key. */
async function assertKeyMatches(
  privateKey: CryptoKey,
  cert: Certificate,
  algorithm: SigningAlgorithm,
  names: { certificate: string; privateKey: string },
): Promise<void> {
  const subtle = globalThis.crypto.subtle;
  const params = algorithm.name === "ECDSA" ? { name: "ECDSA", hash: "SHA-256" } : algorithm;
  const probe = new TextEncoder().encode("mailconf key/certificate match check");
  let matches = false;
  try {
    const publicKey = await subtle.importKey(
      "spki",
      cert.subjectPublicKeyInfo.toSchema().toBER(false),
      algorithm,
      false,
      ["verify"],
    );
    const signature = await subtle.sign(params, privateKey, probe);
    matches = await subtle.verify(params, publicKey, signature, probe);
  } catch {
    matches = false;
  }
  if (!matches)
    throw new SigningConfigError(
      `${names.privateKey} does not belong to ${names.certificate} (${summary(cert).subject}): ` +
        "signatures made with it would not verify. Give the key the certificate was issued for",
    );
}

function summary(cert: Certificate): CertificateSummary {
  return {
    subject: distinguishedName(cert.subject),
    issuer: distinguishedName(cert.issuer),
    serialNumber: hex(cert.serialNumber.valueBlock.valueHexView).toUpperCase(),
    notBefore: cert.notBefore.value,
    notAfter: cert.notAfter.value,
  };
}

function distinguishedName(name: RelativeDistinguishedNames): string {
  const parts = name.typesAndValues.map((tv) => {
    const value = (tv.value as { valueBlock?: { value?: unknown } }).valueBlock?.value;
    return `${NAME_SHORT[tv.type] ?? tv.type}=${typeof value === "string" ? value : "…"}`;
  });
  // Most specific first, as people read it: CN=…, O=…, C=…
  return parts.reverse().join(", ") || "(empty name)";
}

function sortAttributes(attributes: Attribute[]): Attribute[] {
  const encoded = attributes.map((a) => ({ a, der: new Uint8Array(a.toSchema().toBER(false)) }));
  return encoded.sort((x, y) => compareBytes(x.der, y.der)).map((x) => x.a);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
