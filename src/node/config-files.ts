/**
 * Node-only: reading settings files (YAML or JSON) and ISPDB folders from disk.
 *
 * Errors name the file, the line, the field path and the rule, e.g.
 * `settings.yaml:12: providers[0].incoming[1].port: expected an integer 1-65535, got "99x"`.
 * JSON is read with the YAML parser (JSON is YAML 1.2), so both report lines the same way.
 */
import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { isNode, LineCounter, parseDocument, stringify } from "yaml";
import { ConfigError } from "../compose.ts";
import { parseIspdb } from "../providers/ispdb.ts";
import { type FieldError, formatPath, parseSettings, type SettingsFile } from "../providers/model.ts";
import type { ProviderEntry } from "../providers/store.ts";

/** A configuration error: every problem, each as `file:line: path: rule` (one class for both runtimes). */
export { ConfigError };

/**
 * A settings file's content as YAML (`mailconf providers export`), read back by
 * {@link parseSettingsText}. Long strings stay on one line (no folding).
 *
 * The yaml package is imported statically here, never imported dynamically by a command:
 * yaml is CommonJS, and in the esbuild bundle (scripts/build.ts) a dynamically imported CommonJS
 * package becomes a chunk with only a default export, so a destructured named export is undefined.
 * @param doc `{ providers, assignedDomains?, aliases? }` as in a settings file
 * @returns the YAML text without a trailing newline
 */
export function formatSettingsYaml(doc: object): string {
  return stringify(doc, { lineWidth: 0 }).trimEnd();
}

/**
 * Parses settings text (YAML or JSON) and validates it.
 * @param text file contents
 * @param fileName shown in error messages
 * @throws ConfigError with one `file:line: path: rule` line per problem
 */
export function parseSettingsText(text: string, fileName: string): SettingsFile {
  return parseSettingsWithLines(text, fileName).settings;
}

/** A validated settings file and a way back from a field path to its line, for later checks. */
export interface SettingsFileLines {
  settings: SettingsFile;
  /** 1-based line of the deepest node of `path` present in the file. */
  lineOf(path: (string | number)[]): number;
}

/**
 * {@link parseSettingsText}, also returning the line lookup (used to report alias targets that
 * no source serves, which only the whole store can tell).
 * @throws ConfigError as parseSettingsText
 */
export function parseSettingsWithLines(text: string, fileName: string): SettingsFileLines {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const line = e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line;
        return `${fileName}:${line}: ${e.message.split("\n")[0]}`;
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // The yaml library refuses alias bombs ("Excessive alias count …") while building the value.
    throw new ConfigError([`${fileName}:1: ${(e as Error).message}; expand the YAML aliases (&/*) by hand`]);
  }
  const result = parseSettings(data);
  if (result.ok) return { settings: result.value, lineOf: (path) => lineOf(doc, lineCounter, path) };
  throw new ConfigError(
    result.errors.map(
      (e: FieldError) =>
        `${fileName}:${lineOf(doc, lineCounter, e.path)}: ${formatPath(e.path)}: ${e.message}`,
    ),
  );
}

/** The line of the deepest node of `path` present in the document (1-based). */
function lineOf(doc: ReturnType<typeof parseDocument>, lc: LineCounter, path: (string | number)[]): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
  }
  return 1;
}

/**
 * Reads and validates one settings file.
 * @throws ConfigError (file missing or unreadable, syntax error, validation error)
 */
export async function loadSettingsFile(path: string): Promise<SettingsFile> {
  return (await readSettingsFile(path)).settings;
}

/**
 * {@link loadSettingsFile} with the line lookup of {@link parseSettingsWithLines}.
 * @throws ConfigError (file missing or unreadable, syntax error, validation error)
 */
export async function readSettingsFile(path: string): Promise<SettingsFileLines> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new ConfigError([
      `${path}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    ]);
  }
  return parseSettingsWithLines(text, path);
}

/** Result of loading an ISPDB folder: the providers, and the files skipped with their reasons. */
export interface IspdbFolder {
  entries: ProviderEntry[];
  skipped: { file: string; reason: string }[];
  warnings: { file: string; message: string }[];
}

/**
 * Loads every `*.xml` file of an ISPDB folder (or one file). A file with errors is skipped and
 * reported by name and reason; the rest are served.
 * @throws ConfigError only if the folder itself cannot be read
 */
export async function loadIspdb(path: string): Promise<IspdbFolder> {
  let files: string[];
  try {
    files = path.toLowerCase().endsWith(".xml")
      ? [path]
      : (await readdir(path))
          .filter((f) => f.toLowerCase().endsWith(".xml"))
          .sort()
          .map((f) => join(path, f));
  } catch (e) {
    throw new ConfigError([
      `${path}: cannot read the ISPDB folder (${(e as NodeJS.ErrnoException).code ?? e})`,
    ]);
  }
  const out: IspdbFolder = { entries: [], skipped: [], warnings: [] };
  for (const file of files) {
    const name = basename(file);
    // Bytes, not text: parseIspdb refuses invalid UTF-8 instead of reading it as U+FFFD.
    const bytes = await readFile(file).catch((e: NodeJS.ErrnoException) => e);
    if (!(bytes instanceof Uint8Array)) {
      out.skipped.push({ file: name, reason: `cannot read (${bytes.code})` });
      continue;
    }
    const result = parseIspdb(bytes, name);
    if (!result.ok) {
      out.skipped.push({
        file: name,
        reason: result.errors.map((e) => `${formatPath(e.path)}: ${e.message}`).join("; "),
      });
      continue;
    }
    for (const message of result.warnings) out.warnings.push({ file: name, message });
    out.entries.push({ provider: result.provider, source: `ispdb:${name}` });
  }
  // A declared emailProvider id is served only where it names one file (zoho.* all declare zoho.com).
  const declared = new Map<string, number>();
  for (const { provider } of out.entries) {
    const own = provider.emailProviderId ?? provider.id;
    declared.set(own, (declared.get(own) ?? 0) + 1);
  }
  for (const entry of out.entries) {
    const own = entry.provider.emailProviderId;
    if (own !== undefined && (declared.get(own) ?? 0) > 1) {
      const { emailProviderId: _, ...rest } = entry.provider;
      entry.provider = rest;
    }
  }
  return out;
}
