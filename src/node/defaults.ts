/**
 * Defaults of `mailconf serve` that its `--help` shows, apart from the modules that apply them
 * (./connections.ts, ./rate-limit.ts), so that building the command line (src/cli/serve.ts, run for
 * every `mailconf` call, `--version` included) loads none of the server's libraries.
 */

/** Default `ConnectionGuardOptions.maxPipelined` (./connections.ts). Browsers do not pipeline; clients that do send a few. */
export const DEFAULT_MAX_PIPELINED = 16;

/** Default `--rate-limit`: requests per client and minute. A mail client needs a handful per account. */
export const DEFAULT_RATE_LIMIT = 600;
