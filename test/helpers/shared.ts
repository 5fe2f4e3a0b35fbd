/**
 * Paths to the external layer in ../shared (Mozilla's ISPDB corpus, Autodiscover fixtures, schemas,
 * Python validators) and wrappers that run its validators on a document; only tests inside
 * `describeShared` (test/helpers/external.ts) use them. Also the repository root, the in-repo
 * fixtures and temporary files, which every test may use.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, SHARED } from "./external-status.ts";

export { REPO_ROOT, SHARED };
/** ../shared/corpus/ispdb: Mozilla's ISPDB files (MPL 2.0: read there, never copied here). */
export const ISPDB_DIR = join(SHARED, "corpus/ispdb");
/** ../shared/corpus/autodiscover: the reference Autodiscover fixtures. */
export const AUTODISCOVER_DIR = join(SHARED, "corpus/autodiscover");
/** test/fixtures/ispdb: ISPDB-style provider files the project wrote, one feature of the real files each. */
export const FIXTURE_ISPDB_DIR = join(REPO_ROOT, "test/fixtures/ispdb");
/** test/fixtures/autodiscover: Autodiscover requests of every client shape, and reference answers. */
export const FIXTURE_AUTODISCOVER_DIR = join(REPO_ROOT, "test/fixtures/autodiscover");

const scratch = mkdtempSync(join(tmpdir(), "mailconf-test-"));
let counter = 0;

/** Writes `content` to a temporary file and returns its path. */
export function tempFile(name: string, content: string | Uint8Array): string {
  const path = join(scratch, `${++counter}-${name}`);
  writeFileSync(path, content);
  return path;
}

/** Result of a validator run: exit code and combined output. */
export interface ToolResult {
  status: number;
  output: string;
}

function run(cmd: string, args: string[]): ToolResult {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 30_000 });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** ../shared/tools/check-autoconfig-clients.py: would Thunderbird desktop and Thunderbird for Android accept it? */
export function checkAutoconfigClients(xml: string): ToolResult {
  return run("python3", [join(SHARED, "tools/check-autoconfig-clients.py"), tempFile("autoconfig.xml", xml)]);
}

/** xmllint against ../shared/schemas/autoconfig.rng (RELAX NG of draft-ietf-mailmaint-autoconfig). */
export function validateAutoconfigSchema(xml: string): ToolResult {
  return run("xmllint", [
    "--noout",
    "--relaxng",
    join(SHARED, "schemas/autoconfig.rng"),
    tempFile("autoconfig.xml", xml),
  ]);
}

/** ../shared/tools/validate-mobileconfig.py: Apple schema check of a profile (plain or signed). */
export function validateMobileconfig(profile: string | Uint8Array): ToolResult {
  return run("python3", [
    join(SHARED, "tools/validate-mobileconfig.py"),
    tempFile("profile.mobileconfig", profile),
  ]);
}

/** xmllint against Apple's plist DTD. */
export function validatePlistDtd(profile: string): ToolResult {
  return run("xmllint", [
    "--noout",
    "--dtdvalid",
    join(SHARED, "schemas/PropertyList-1.0.dtd"),
    tempFile("p.plist", profile),
  ]);
}

/** Is the text well-formed XML (xmllint)? */
export function wellFormed(xml: string): ToolResult {
  return run("xmllint", ["--noout", tempFile("doc.xml", xml)]);
}

/** The tool versions, for a skip message when a validator is missing. */
export function haveTool(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`]);
    return true;
  } catch {
    return false;
  }
}
