-- mailconf: published settings (the SQL store behind the admin API and the CLI).
-- One schema for SQLite on Node and for D1 on Cloudflare Workers. Applied in file-name order by
-- applyMigrations() (src/store/sql.ts) or by `wrangler d1 migrations apply`; both record
-- applied files in the table d1_migrations, so either may run first.
-- After editing or adding a file here, run `npm run migrations` (regenerates src/store/migrations.ts).

-- A published provider: the provider exactly as validated by the settings model (JSON text,
-- defaults applied), so a row reads back as it would from a settings file.
CREATE TABLE providers (
  id TEXT PRIMARY KEY NOT NULL,
  body TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- Mail domains: '*.example.com' rows serve every subdomain of example.com.
-- origin 'provider': listed in the provider's own "domains" (written with PUT /providers);
-- origin 'assigned': assigned one by one (PUT /domains), to a provider of any source by id, or as
-- an alias of another domain. Exactly one of provider_id and alias_of is set.
CREATE TABLE domains (
  domain TEXT PRIMARY KEY NOT NULL,
  provider_id TEXT,
  alias_of TEXT,
  origin TEXT NOT NULL CHECK (origin IN ('provider', 'assigned')),
  updated_at TEXT NOT NULL,
  CHECK ((provider_id IS NULL) <> (alias_of IS NULL)),
  CHECK (origin = 'assigned' OR provider_id IS NOT NULL)
);
CREATE INDEX domains_by_provider ON domains (provider_id, origin);

-- MX host names (or '*.suffix') a provider's customer domains point to (the provider's "mxHosts").
CREATE TABLE mx_hosts (
  pattern TEXT NOT NULL,
  provider_id TEXT NOT NULL,
  PRIMARY KEY (pattern, provider_id)
);
CREATE INDEX mx_hosts_by_provider ON mx_hosts (provider_id);
