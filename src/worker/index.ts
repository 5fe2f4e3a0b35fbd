/**
 * Cloudflare Workers entry (wrangler.toml `main`). Only the fetch handler is exported: workerd
 * takes every export of the main module for an entrypoint. Everything else is in
 * src/worker/app.ts; see docs/workers.md.
 */
import { createWorker } from "./app.ts";

export default createWorker();
