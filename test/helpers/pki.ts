/**
 * Throwaway certificate chains made with the openssl command line (an implementation independent
 * of the signer under test): root CA → intermediate CA → leaf with a TLS server certificate's
 * extensions (EKU serverAuth, as a Let's Encrypt certificate has), RSA or ECDSA.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Key type of every certificate in a chain. */
export type KeyKind = "rsa" | "ec-p256" | "ec-p384" | "ec-p521";

/** A chain on disk and as PEM text. */
export interface TestChain {
  dir: string;
  rootPath: string;
  intermediatePath: string;
  leafPath: string;
  /** PKCS#8 ("BEGIN PRIVATE KEY") key of the leaf. */
  leafKeyPath: string;
  /** Leaf followed by intermediate, like Let's Encrypt's fullchain.pem. */
  fullchainPath: string;
  root: string;
  intermediate: string;
  leaf: string;
  leafKey: string;
  /** The intermediate's key (a real key that does not belong to the leaf). */
  intermediateKey: string;
}

/** Runs openssl; throws with its stderr on failure. */
export function openssl(args: string[], options: { cwd?: string; input?: string } = {}): string {
  return execFileSync("openssl", args, {
    cwd: options.cwd,
    input: options.input,
    encoding: "utf8",
    timeout: 30_000,
    stdio: ["pipe", "pipe", "pipe"],
  });
}

function newKey(kind: KeyKind): string[] {
  if (kind === "rsa") return ["-newkey", "rsa:2048"];
  const curve = { "ec-p256": "P-256", "ec-p384": "P-384", "ec-p521": "P-521" }[kind];
  return ["-newkey", "ec", "-pkeyopt", `ec_paramgen_curve:${curve}`];
}

/**
 * Makes root → intermediate → leaf (`CN=autoconfig.test.example`), each valid for `days` from now.
 * @param kind key type for all three certificates
 */
export function makeChain(kind: KeyKind, days = 30): TestChain {
  const dir = mkdtempSync(join(tmpdir(), `mailconf-pki-${kind}-`));
  const run = (args: string[]) => openssl(args, { cwd: dir });
  writeFileSync(
    join(dir, "ca.ext"),
    "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
  );
  writeFileSync(
    join(dir, "leaf.ext"),
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:autoconfig.test.example\n",
  );
  run([
    "req",
    "-x509",
    ...newKey(kind),
    "-nodes",
    "-keyout",
    "root.key",
    "-out",
    "root.pem",
    "-days",
    String(days),
    "-subj",
    "/O=mailconf tests/CN=Test Root CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  const issue = (name: string, subject: string, issuer: string, ext: string) => {
    run([
      "req",
      ...newKey(kind),
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      subject,
    ]);
    run([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${issuer}.pem`,
      "-CAkey",
      `${issuer}.key`,
      "-set_serial",
      `0x${name === "int" ? "1001" : "2002"}`,
      "-days",
      String(days),
      "-sha256",
      "-extfile",
      ext,
      "-out",
      `${name}.pem`,
    ]);
  };
  issue("int", "/O=mailconf tests/CN=Test Intermediate CA", "root", "ca.ext");
  issue("leaf", "/CN=autoconfig.test.example", "int", "leaf.ext");
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  writeFileSync(join(dir, "fullchain.pem"), read("leaf.pem") + read("int.pem"));
  return {
    dir,
    rootPath: join(dir, "root.pem"),
    intermediatePath: join(dir, "int.pem"),
    leafPath: join(dir, "leaf.pem"),
    leafKeyPath: join(dir, "leaf.key"),
    fullchainPath: join(dir, "fullchain.pem"),
    root: read("root.pem"),
    intermediate: read("int.pem"),
    leaf: read("leaf.pem"),
    leafKey: read("leaf.key"),
    intermediateKey: read("int.key"),
  };
}

/** Result of `openssl cms -verify`: whether it verified, the extracted content, and openssl's messages. */
export interface CmsVerification {
  ok: boolean;
  content: Buffer;
  output: string;
}

/**
 * `openssl cms -verify -inform DER -CAfile <root> -purpose any` (reference/mobileconfig.md §9.2):
 * signature, content digest and chain to `rootPath`. `attime` (Unix seconds) checks at another time.
 */
export function cmsVerify(signed: Uint8Array, rootPath: string, attime?: number): CmsVerification {
  const dir = mkdtempSync(join(tmpdir(), "mailconf-cms-"));
  const input = join(dir, "signed.mobileconfig");
  const out = join(dir, "content.xml");
  writeFileSync(input, signed);
  const args = ["cms", "-verify", "-inform", "DER", "-in", input, "-CAfile", rootPath, "-purpose", "any"];
  if (attime !== undefined) args.push("-attime", String(attime));
  args.push("-out", out);
  try {
    const output = execFileSync("openssl", args, { encoding: "utf8", timeout: 30_000, stdio: "pipe" });
    return { ok: true, content: readFileSync(out), output };
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string };
    return { ok: false, content: Buffer.alloc(0), output: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}
