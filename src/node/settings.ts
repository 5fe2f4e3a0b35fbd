/**
 * Node-only: the settings sources of `mailconf serve`, `check`, `dns`, `validate` and the publishing
 * commands, read from disk (settings files, an ISPDB folder, the SQLite file) and handed to the
 * composition root (composeStore in src/compose.ts), which layers them.
 */

import { type ComposedStore, ConfigError, composeStore, type SettingsFileSource } from "../compose.ts";
import { BUILTIN_PROVIDERS } from "../providers/builtin.ts";
import { formatPath } from "../providers/model.ts";
import type { MxResolver, MxStoreOptions } from "../providers/mx.ts";
import { loadIspdb, readSettingsFile } from "./config-files.ts";
import { openSqlite, type SqliteDatabase } from "./sqlite.ts";

/** What `mailconf serve` and `mailconf check` read settings from. */
export interface SettingsSources {
  /** Settings files (YAML or JSON), highest precedence first. */
  configFiles?: string[];
  /** An ISPDB folder (or one clientConfig file). */
  ispdb?: string;
  /** Serve the built-in providers (default true). */
  builtin?: boolean;
  /** SQLite file of published settings (created and migrated if needed); none → no SQL store. */
  db?: string;
  /** Resolution by MX (see src/providers/mx.ts); none → unknown domains are not looked up in DNS. */
  mxResolver?: MxResolver;
  /** Cache and time bounds of resolution by MX. */
  mxOptions?: MxStoreOptions;
  /** Operator log (database rows that no longer validate, DNS failures). */
  log?: (message: string) => void;
}

/** The composed store (store, layers, sql, report) plus the open database and the files' publicUrl. */
export interface LoadedSettings extends ComposedStore {
  /** The open database, when `db` was given. */
  database?: SqliteDatabase;
  /** `publicUrl` from the first settings file that sets one. */
  publicUrl?: string;
  /** Closes the database, if one was opened. */
  close(): void;
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
  const files: SettingsFileSource[] = [];
  const problems: string[] = [];
  const aliasChecks: { file: string; alias: string; target: string; line: number }[] = [];
  const assignChecks: { file: string; domain: string; id: string; line: number }[] = [];
  for (const file of sources.configFiles ?? []) {
    try {
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
  const ispdb = sources.ispdb ? { source: sources.ispdb, ...(await loadIspdb(sources.ispdb)) } : undefined;
  let database: SqliteDatabase | undefined;
  if (sources.db) {
    try {
      database = await openSqlite(sources.db);
    } catch (e) {
      throw new ConfigError([`--db ${sources.db}: ${(e as Error).message}`]);
    }
  }
  const composed = composeStore({
    sql: database,
    files,
    ispdb,
    builtin: sources.builtin === false ? undefined : BUILTIN_PROVIDERS,
    mx: sources.mxResolver ? { resolver: sources.mxResolver, options: sources.mxOptions } : undefined,
    log: sources.log,
  });
  if (database) {
    const migrated = database.migrated.length ? `, applied ${database.migrated.join(", ")}` : "";
    composed.report.unshift(`database: ${database.path}${migrated}`);
  }
  for (const check of assignChecks) {
    if (!(await composed.layers.findProvider?.(check.id)))
      problems.push(
        `${check.file}:${check.line}: ${formatPath(["assignedDomains", check.domain])}: no provider ${check.id} (in a settings file, the ISPDB folder, built in or published)`,
      );
  }
  // An alias must point at a domain some source serves by name (not at another alias): a typo here
  // would silently make the alias domain unknown.
  for (const check of aliasChecks) {
    const hit = await composed.layers.resolve(check.target);
    if (!hit || hit.via === "alias") {
      problems.push(
        `${check.file}:${check.line}: ${formatPath(["aliases", check.alias])}: ${
          hit ? `${check.target} is itself an alias of ${hit.aliasOf}` : `no settings for ${check.target}`
        }: point the alias at a domain that is served`,
      );
    }
  }
  if (problems.length > 0) {
    database?.close();
    throw new ConfigError(problems);
  }
  const db = database;
  return {
    ...composed,
    database,
    publicUrl: files.find((f) => f.settings.publicUrl)?.settings.publicUrl,
    close: () => db?.close(),
  };
}
