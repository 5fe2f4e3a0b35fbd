/**
 * Node-only: the settings sources of `mailconf serve`, `check`, `dns`, `validate` and the publishing
 * commands, read from disk (settings files, an ISPDB folder, the SQLite file or PostgreSQL) and handed to the
 * composition root (composeStore in src/compose.ts), which layers them.
 */

import {
  type ComposedStore,
  ConfigError,
  composeStore,
  fileLayers,
  type SettingsFileSource,
} from "../compose.ts";
import { BUILTIN_PROVIDERS } from "../providers/builtin.ts";
import { formatPath } from "../providers/field-path.ts";
import type { MxResolver, MxStoreOptions } from "../providers/mx.ts";
import { LayeredStore, type SettingsStore } from "../providers/store.ts";
import { loadIndex } from "../store/published-cache.ts";
import { peekPublished } from "../store/sql-store.ts";
import type { loadIspdb } from "./config-files.ts";
import { type Database, openDatabase } from "./database.ts";

/** What `mailconf serve` and `mailconf check` read settings from. */
export interface SettingsSources {
  /** Settings files (YAML or JSON), highest precedence first. */
  configFiles?: string[];
  /** An ISPDB folder (or one clientConfig file). */
  ispdb?: string;
  /** Serve the built-in providers (default true). */
  builtin?: boolean;
  /**
   * Database of published settings: a `postgres://` URL, else a SQLite file path (created and
   * migrated if needed); none → no SQL store.
   */
  db?: string;
  /** Resolution by MX (see src/providers/mx.ts); none → unknown domains are not looked up in DNS. */
  mxResolver?: MxResolver;
  /** Cache and time bounds of resolution by MX. */
  mxOptions?: MxStoreOptions;
  /** Operator log (database rows that no longer validate, DNS failures). */
  log?: (message: string) => void;
  /**
   * How the SQL store answers lookups (SqlStoreOptions.cache): `startServer` holds everything in
   * memory (`full`); one-shot commands read the database (`off`, the default).
   */
  sqlCache?: "full" | "lru" | "off";
}

/** The composed store (store, layers, sql, report) plus the open database and the files' publicUrl. */
export interface LoadedSettings extends ComposedStore {
  /** The open database, when `db` was given. */
  database?: Database;
  /** `publicUrl` from the first settings file that sets one. */
  publicUrl?: string;
  /**
   * Reads the settings files and the ISPDB folder again and, only if all of them are valid (alias
   * targets included), makes them answer every lookup from then on; the database stays open.
   * @returns what was loaded, one line per layer
   * @throws ConfigError with every problem as `file:line: path: rule`; the last good settings stay
   */
  reload(): Promise<string[]>;
  /** Closes the database, if one was opened. */
  close(): Promise<void>;
}

/**
 * Loads every settings source into one store. Order of precedence (the first source that knows a
 * domain answers; within a source: exact → alias → wildcard): published settings (SQL, `db`) →
 * settings files in the order given → ISPDB folder → built-in providers; then, for a domain none
 * of them knows, resolution by MX over all of them (when `mxResolver` is given).
 * @throws ConfigError if a settings file is missing or invalid (ISPDB files with errors are skipped
 *   instead) or the database cannot be opened or migrated
 */
export async function loadSettings(sources: SettingsSources): Promise<LoadedSettings> {
  const fromFiles = await readFileSources(sources);
  const { files, ispdb } = fromFiles;
  let database: Database | undefined;
  if (sources.db) {
    try {
      database = await openDatabase(sources.db, { log: sources.log });
    } catch (e) {
      throw new ConfigError([`--db: ${(e as Error).message}`]);
    }
  }
  const builtin = sources.builtin === false ? undefined : BUILTIN_PROVIDERS;
  const composed = composeStore({
    sql: database,
    files,
    ispdb,
    builtin,
    mx: sources.mxResolver ? { resolver: sources.mxResolver, options: sources.mxOptions } : undefined,
    log: sources.log,
    sqlCache: sources.sqlCache,
    // Mode `full` only on Node: the Worker bundle stays without the in-memory index (SqlStoreOptions.loadIndex).
    sqlLoadIndex: loadIndex,
  });
  // Lookups of the request path answered from the published settings in memory, without an await
  // (SqlStore.peek; the Worker does without it, for its bundle size).
  const sql = composed.sql;
  if (sql) sql.peek = (domain) => peekPublished(sql.currentIndex, domain);
  if (database) {
    const migrated = database.migrated.length ? `, applied ${database.migrated.join(", ")}` : "";
    composed.report.unshift(`database: ${database.name}${migrated}`);
  }
  const problems = await fileProblems(composed.layers, fromFiles);
  if (problems.length > 0) {
    await database?.close();
    throw new ConfigError(problems);
  }
  const db = database;
  return {
    ...composed,
    database,
    publicUrl: files.find((f) => f.settings.publicUrl)?.settings.publicUrl,
    reload: async () => {
      const next = await readFileSources(sources);
      const read = fileLayers({ files: next.files, ispdb: next.ispdb, builtin });
      const candidate = composed.sql ? new LayeredStore([composed.sql, read.store]) : read.store;
      const problems = await fileProblems(candidate, next);
      if (problems.length > 0) throw new ConfigError(problems);
      composed.files.swap(read.store);
      return read.report;
    },
    close: async () => await db?.close(),
  };
}

type AliasCheck = { file: string; alias: string; target: string; line: number };
type AssignCheck = { file: string; domain: string; id: string; line: number };

/** Reads every settings file and the ISPDB folder. @throws ConfigError with every file's problems */
async function readFileSources(sources: SettingsSources): Promise<{
  files: SettingsFileSource[];
  ispdb?: { source: string } & Awaited<ReturnType<typeof loadIspdb>>;
  aliasChecks: AliasCheck[];
  assignChecks: AssignCheck[];
}> {
  const files: SettingsFileSource[] = [];
  const problems: string[] = [];
  const aliasChecks: AliasCheck[] = [];
  const assignChecks: AssignCheck[] = [];
  for (const file of sources.configFiles ?? []) {
    try {
      const { readSettingsFile } = await import("./config-files.ts");
      const { settings, lineOf } = await readSettingsFile(file);
      for (const [alias, target] of Object.entries(settings.aliases)) {
        aliasChecks.push({ file, alias, target, line: lineOf(["aliases", alias]) });
      }
      for (const [domain, id] of Object.entries(settings.assignedDomains ?? {})) {
        assignChecks.push({ file, domain, id, line: lineOf(["assignedDomains", domain]) });
      }
      files.push({ source: file, settings });
    } catch (e) {
      if (e instanceof ConfigError) problems.push(...e.problems);
      else throw e;
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  // The YAML and ISPDB modules load only when their source is given (CLI start-up time).
  const ispdb = sources.ispdb
    ? { source: sources.ispdb, ...(await (await import("./config-files.ts")).loadIspdb(sources.ispdb)) }
    : undefined;
  return { files, ispdb, aliasChecks, assignChecks };
}

/**
 * A domain assigned in a file must name a provider some source has; an alias must point at a
 * domain some source serves by name (not at another alias): a typo here would silently make the
 * domain unknown.
 * @returns the problems as `file:line: path: rule`
 */
async function fileProblems(
  layers: SettingsStore,
  { aliasChecks, assignChecks }: { aliasChecks: AliasCheck[]; assignChecks: AssignCheck[] },
): Promise<string[]> {
  const problems: string[] = [];
  for (const check of assignChecks) {
    if (!(await layers.findProvider?.(check.id)))
      problems.push(
        `${check.file}:${check.line}: ${formatPath(["assignedDomains", check.domain])}: no provider ${check.id} (in a settings file, the ISPDB folder, built in or published)`,
      );
  }
  for (const check of aliasChecks) {
    const hit = await layers.resolve(check.target);
    if (!hit || hit.via === "alias") {
      problems.push(
        `${check.file}:${check.line}: ${formatPath(["aliases", check.alias])}: ${
          hit ? `${check.target} is itself an alias of ${hit.aliasOf}` : `no settings for ${check.target}`
        }: point the alias at a domain that is served`,
      );
    }
  }
  return problems;
}
