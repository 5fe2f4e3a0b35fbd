/**
 * Signs Apple configuration profiles: the profile's exact UTF-8 bytes wrapped in CMS SignedData
 * (RFC 5652), DER, content attached, SHA-256, signed attributes (contentType, signingTime,
 * messageDigest), the signing certificate plus its intermediates — the format of Apple's own
 * signed profiles and of `openssl cms -sign -binary -nodetach -outform DER -md sha256`
 * (reference/mobileconfig.md §9.1, §9.4).
 *
 * The ASN.1 structures are PeculiarVentures' schema modules (@peculiar/asn1-cms, asn1-x509,
 * asn1-pkcs8, asn1-ecc over asn1-schema); digests and signatures are WebCrypto (`crypto.subtle`)
 * only, so the same code signs on Node.js and on Cloudflare Workers (secrets arrive there as PEM
 * text). Keys: RSA (PKCS#1 v1.5 signatures) and ECDSA (P-256, P-384, P-521), as unencrypted
 * PKCS#8 PEM ("BEGIN PRIVATE KEY").
 *
 * DER by construction: asn1-schema writes definite minimal lengths and a primitive OCTET STRING
 * for the content, but writes a SET OF in the order given, so the two SETs with more than one
 * element (signed attributes, certificates) are sorted here by their encodings (X.690 §11.6);
 * ECDSA signatures are converted from WebCrypto's r‖s to a DER `Ecdsa-Sig-Value` with minimal
 * INTEGERs (RFC 5753 §7.2, X.690 §8.3.2). `openssl cms -cmsout -outform DER` re-encodes the
 * result to the same bytes (test/signing.test.ts).
 *
 * Everything is checked once, up front ({@link createProfileSigner}): the key must import, must
 * belong to the certificate, and the certificate must be valid now. Problems throw
 * {@link SigningConfigError} with a message an operator can act on.
 *
 * Determinism: with the same `now`, RSA output is byte-for-byte identical on every runtime
 * (PKCS#1 v1.5 signatures are deterministic); ECDSA signatures are randomised by design, so two
 * ECDSA-signed copies differ in the signature bytes only. Compare Node vs workerd output with RSA.
 */

import {
  Attribute,
  CertificateChoices,
  CertificateSet,
  CMSVersion,
  ContentInfo,
  DigestAlgorithmIdentifier,
  DigestAlgorithmIdentifiers,
  EncapsulatedContent,
  EncapsulatedContentInfo,
  IssuerAndSerialNumber,
  id_contentType,
  id_data,
  id_messageDigest,
  id_signedData,
  id_signingTime,
  MessageDigest,
  SignatureAlgorithmIdentifier,
  SignedData,
  SignerIdentifier,
  SignerInfo,
  SignerInfos,
  SigningTime,
} from "@peculiar/asn1-cms";
import { ECDSASigValue, ECParameters } from "@peculiar/asn1-ecc";
import { PrivateKeyInfo } from "@peculiar/asn1-pkcs8";
import {
  AsnAnyConverter,
  AsnArray,
  AsnConvert,
  AsnObjectIdentifierConverter,
  AsnType,
  AsnTypeTypes,
  OctetString,
} from "@peculiar/asn1-schema";
import { type AttributeValue, Certificate, type Name } from "@peculiar/asn1-x509";
import { SigningConfigError } from "./errors.ts";
import { type PemBlock, parsePem } from "./pem.ts";

export { SigningConfigError };

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
  sha256: "2.16.840.1.101.3.4.2.1",
  sha256WithRSAEncryption: "1.2.840.113549.1.1.11",
  ecdsaWithSHA256: "1.2.840.10045.4.3.2",
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

/**
 * `SignedAttributes ::= SET SIZE (1..MAX) OF Attribute` (RFC 5652 §5.3). asn1-cms declares it as
 * a type only; the signature covers this SET's DER (tag 0x31), not the `[0] IMPLICIT` field (§5.4).
 */
class SignedAttributes extends AsnArray<Attribute> {}
AsnType({ type: AsnTypeTypes.Set, itemType: Attribute })(SignedAttributes);

/**
 * A certificate embedded as read. asn1-schema serialises an object that has `toASN`/`fromASN`
 * through them instead of re-encoding its parsed fields, so a detail that a re-encoding could
 * change (an explicit default, a string type) cannot break the certificate's own signature.
 */
class EncodedCertificate extends Certificate {
  readonly der: ArrayBuffer;
  constructor(der: Uint8Array) {
    super();
    this.der = toArrayBuffer(der);
  }
  /** The certificate's bytes as an asn1js tree (which writes a parsed DER tree back unchanged). */
  toASN(): ReturnType<typeof AsnAnyConverter.toASN> {
    return AsnAnyConverter.toASN(this.der);
  }
  fromASN(): this {
    throw new Error("EncodedCertificate is only written, never parsed");
  }
}

/** A certificate: the DER bytes as given and their parsed fields. */
interface ParsedCertificate {
  der: Uint8Array;
  cert: Certificate;
}

/**
 * Validates a certificate, key and chain and returns a signer.
 * @throws SigningConfigError when the certificate or key cannot be read, the key is not
 *   unencrypted PKCS#8 (the message gives the `openssl` command that converts it), the key
 *   type is unsupported, the key does not belong to the certificate, or the certificate is
 *   not valid at `now()` (expired or not yet valid)
 */
export async function createProfileSigner(options: ProfileSignerOptions): Promise<ProfileSigner> {
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
  const chain: ParsedCertificate[] = [];
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
  const { issuer, subject, serialNumber } = leaf.tbsCertificate;
  const selfIssued = sameName(issuer, subject);
  if (!selfIssued && !chain.some((c) => sameName(c.cert.tbsCertificate.subject, issuer)))
    warnings.push(
      `no intermediate certificate for ${leafSummary.subject} (issuer ${leafSummary.issuer}) was given: ` +
        "devices may show the profile as Not Verified. Use fullchain.pem or --sign-chain",
    );
  for (const c of chain) {
    const s = summary(c.cert);
    if (at > s.notAfter)
      warnings.push(`chain certificate ${s.subject} expired on ${s.notAfter.toISOString()}`);
  }

  const ecdsa = "namedCurve" in algorithm;
  const keyAlgorithm = ecdsa
    ? `ECDSA ${algorithm.namedCurve}`
    : `RSA ${(privateKey.algorithm as RsaHashedKeyAlgorithm).modulusLength}`;

  // DER: a SET OF is sorted by encoding (X.690 §11.6), as OpenSSL writes the certificates.
  const embedded = new CertificateSet(
    [leafDer, ...chain.map((c) => c.der)]
      .sort(compareBytes)
      .map((der) => new CertificateChoices({ certificate: new EncodedCertificate(der) })),
  );
  const sid = new SignerIdentifier({
    issuerAndSerialNumber: new IssuerAndSerialNumber({ issuer, serialNumber }),
  });
  // SHA-256 without parameters (RFC 5754 §2); sha256WithRSAEncryption with NULL (RFC 5754 §3.2);
  // ecdsa-with-SHA256 without (RFC 5758 §3.2), whatever the curve, as OpenSSL's `-md sha256`.
  const sha256 = () => new DigestAlgorithmIdentifier({ algorithm: OID.sha256 });
  const signatureAlgorithm = () =>
    ecdsa
      ? new SignatureAlgorithmIdentifier({ algorithm: OID.ecdsaWithSHA256 })
      : new SignatureAlgorithmIdentifier({ algorithm: OID.sha256WithRSAEncryption, parameters: null });

  const sign = async (content: Uint8Array): Promise<Uint8Array> => {
    const subtle = globalThis.crypto.subtle;
    const digest = await subtle.digest("SHA-256", content as Uint8Array<ArrayBuffer>);
    const signingTime = new Date(Math.floor(now().getTime() / 1000) * 1000);
    const signedAttrs = sortByEncoding([
      new Attribute({
        attrType: id_contentType,
        attrValues: [AsnConvert.serialize(AsnObjectIdentifierConverter.toASN(id_data))],
      }),
      // RFC 5652 §11.3: UTCTime for 1950-2049, GeneralizedTime from 2050 (asn1-x509's Time).
      new Attribute({
        attrType: id_signingTime,
        attrValues: [AsnConvert.serialize(new SigningTime(signingTime))],
      }),
      new Attribute({
        attrType: id_messageDigest,
        attrValues: [AsnConvert.serialize(new MessageDigest(digest))],
      }),
    ]);
    const signature = await subtle.sign(
      signParams(algorithm),
      privateKey,
      AsnConvert.serialize(new SignedAttributes(signedAttrs)),
    );
    const signerInfo = new SignerInfo({
      version: CMSVersion.v1,
      sid,
      digestAlgorithm: sha256(),
      signedAttrs,
      signatureAlgorithm: signatureAlgorithm(),
      signature: new OctetString(ecdsa ? ecdsaSigValue(new Uint8Array(signature)) : signature),
    });
    const signedData = new SignedData({
      version: CMSVersion.v1,
      digestAlgorithms: new DigestAlgorithmIdentifiers([sha256()]),
      // One primitive OCTET STRING, as DER and Apple's own profiles have it.
      encapContentInfo: new EncapsulatedContentInfo({
        eContentType: id_data,
        eContent: new EncapsulatedContent({ single: new OctetString(content) }),
      }),
      certificates: embedded,
      signerInfos: new SignerInfos([signerInfo]),
    });
    const contentInfo = new ContentInfo({
      contentType: id_signedData,
      content: AsnConvert.serialize(signedData),
    });
    return new Uint8Array(AsnConvert.serialize(contentInfo));
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

/** The WebCrypto `sign`/`verify` parameters: ECDSA takes its hash there, RSA from the key. */
function signParams(algorithm: SigningAlgorithm): Algorithm | EcdsaParams {
  return "namedCurve" in algorithm ? { name: "ECDSA", hash: "SHA-256" } : { name: algorithm.name };
}

/**
 * WebCrypto's ECDSA signature (r‖s, each the curve's size: 32, 48 or 66 bytes) as DER
 * `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 5753 §7.2, RFC 3279 §2.2.3).
 */
function ecdsaSigValue(raw: Uint8Array): ArrayBuffer {
  const half = raw.length / 2;
  return AsnConvert.serialize(
    new ECDSASigValue({ r: positiveInteger(raw.subarray(0, half)), s: positiveInteger(raw.subarray(half)) }),
  );
}

/**
 * A big-endian unsigned number as the content octets of a DER INTEGER: no leading zero octet
 * unless the next octet's high bit is set, which would make the number negative (X.690 §8.3.2).
 */
function positiveInteger(bytes: Uint8Array): ArrayBuffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const value = bytes.subarray(start);
  const pad = (value[0] ?? 0) & 0x80 ? 1 : 0;
  const out = new Uint8Array(value.length + pad);
  out.set(value, pad);
  return out.buffer;
}

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
    return AsnConvert.parse(der, Certificate);
  } catch (e) {
    throw new SigningConfigError(`${name}: not a valid X.509 certificate (${(e as Error).message})`);
  }
}

/** The WebCrypto algorithm for the certificate's public key type. */
function signingAlgorithm(cert: Certificate, name: string): SigningAlgorithm {
  const spki = cert.tbsCertificate.subjectPublicKeyInfo.algorithm;
  if (spki.algorithm === OID.rsaEncryption) return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  if (spki.algorithm === OID.ecPublicKey) {
    const curveOid = namedCurve(spki.parameters);
    const curve = CURVES[curveOid];
    if (!curve)
      throw new SigningConfigError(
        `${name}: EC curve ${curveOid || "(explicit parameters)"} is not supported; use P-256, P-384 or P-521`,
      );
    return { name: "ECDSA", namedCurve: curve };
  }
  const what = spki.algorithm === OID.rsaPss ? "RSA-PSS" : `key type ${spki.algorithm}`;
  throw new SigningConfigError(`${name}: ${what} is not supported; use an RSA or ECDSA certificate`);
}

/** The curve OID of EC public key parameters (RFC 5480 §2.1.1), or "" for explicit or no parameters. */
function namedCurve(parameters: ArrayBuffer | null | undefined): string {
  if (!parameters) return "";
  try {
    return AsnConvert.parse(parameters, ECParameters).namedCurve ?? "";
  } catch {
    return "";
  }
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
    info = AsnConvert.parse(key.der, PrivateKeyInfo);
  } catch (e) {
    throw new SigningConfigError(`${names.privateKey}: not a valid PKCS#8 key (${(e as Error).message})`);
  }
  const keyType = keyTypeName(info.privateKeyAlgorithm.algorithm);
  const certType = keyTypeName(cert.tbsCertificate.subjectPublicKeyInfo.algorithm.algorithm);
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
  const params = signParams(algorithm);
  const probe = new TextEncoder().encode("mailconf key/certificate match check");
  let matches = false;
  try {
    const publicKey = await subtle.importKey(
      "spki",
      AsnConvert.serialize(cert.tbsCertificate.subjectPublicKeyInfo),
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
  const tbs = cert.tbsCertificate;
  return {
    subject: distinguishedName(tbs.subject),
    issuer: distinguishedName(tbs.issuer),
    serialNumber: hex(new Uint8Array(tbs.serialNumber)).toUpperCase(),
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
  };
}

/** The name's attributes in encoded order (every RDN's, flattened). */
function attributes(name: Name) {
  return Array.from(name).flatMap((rdn) => Array.from(rdn));
}

/** A name attribute's text, or `undefined` when it is not a string type asn1-x509 decodes. */
function attributeText(value: AttributeValue): string | undefined {
  return (
    value.utf8String ??
    value.printableString ??
    value.ia5String ??
    value.bmpString ??
    value.teletexString ??
    value.universalString
  );
}

function distinguishedName(name: Name): string {
  const parts = attributes(name).map(
    (atv) => `${NAME_SHORT[atv.type] ?? atv.type}=${attributeText(atv.value) ?? "…"}`,
  );
  // Most specific first, as people read it: CN=…, O=…, C=…
  return parts.reverse().join(", ") || "(empty name)";
}

/**
 * Whether two names match as RFC 5280 §7.1 compares them: same attribute types in the same order,
 * string values equal ignoring case and runs of spaces, other values byte for byte.
 */
function sameName(a: Name, b: Name): boolean {
  const key = (name: Name) =>
    attributes(name).map((atv) => {
      const text = attributeText(atv.value);
      const value =
        text === undefined
          ? `#${hex(new Uint8Array(AsnConvert.serialize(atv.value)))}`
          : `"${text.trim().replace(/\s+/g, " ").toLowerCase()}`;
      return `${atv.type}=${value}`;
    });
  const ka = key(a);
  const kb = key(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

/** Sorts the elements of a SET OF by their DER encodings (X.690 §11.6). */
function sortByEncoding<T extends object>(items: T[]): T[] {
  return items
    .map((item) => ({ item, der: new Uint8Array(AsnConvert.serialize(item)) }))
    .sort((x, y) => compareBytes(x.der, y.der))
    .map((x) => x.item);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
