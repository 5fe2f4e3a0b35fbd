/**
 * createApp(deps) → the Hono app: every route, security headers and error mapping.
 * Runtime-neutral: the Node entry (src/node/server.ts) and the Workers entry (src/worker/index.ts) wrap it.
 * A new client format = one template + one handler + one line here.
 */
import { Hono } from "hono";
import { adminRoutes } from "./handlers/admin.ts";
import { autoconfigRoutes } from "./handlers/autoconfig.ts";
import { autodiscoverRoutes } from "./handlers/autodiscover.ts";
import { autodiscoverV2Routes } from "./handlers/autodiscover-v2.ts";
import { type AppDeps, COMMON_HEADERS, getOnly } from "./handlers/context.ts";
import { dnsRoutes } from "./handlers/dns.ts";
import { mobileconfigRoutes, type ProfileEndpoint, profileEndpoint } from "./handlers/mobileconfig.ts";
import { operationsMiddleware } from "./handlers/operations.ts";
import { paccRoutes } from "./handlers/pacc.ts";
import { pagesRoutes } from "./handlers/pages.ts";

export type { AppDeps } from "./handlers/context.ts";

/**
 * Builds the app. `deps.publicUrl` is used for every absolute URL in answers (never the Host header).
 * @param profile the profile endpoint, when a runtime entry also answers profiles itself
 *   (src/node/fast-path.ts, with src/handlers/hot.ts): both must share it (its profile cache)
 */
export function createApp(deps: AppDeps, profile: ProfileEndpoint = profileEndpoint(deps)): Hono {
  const app = new Hono();
  // Headers set before the handler runs, never after: a response changed after it was built is
  // rebuilt (Hono) and loses @hono/node-server's fast path. Hot handlers return `toResponse(answer)` with
  // these headers in their own constant header object instead (src/handlers/context.ts). First, so
  // the operations middleware's own answers (429) carry them too.
  app.use((c, next) => {
    c.header("X-Content-Type-Options", COMMON_HEADERS["X-Content-Type-Options"]);
    return next();
  });
  app.use(operationsMiddleware(deps.ops));
  autodiscoverRoutes(app, deps);
  autodiscoverV2Routes(app, deps);
  autoconfigRoutes(app, deps);
  mobileconfigRoutes(app, deps, profile);
  paccRoutes(app, deps);
  pagesRoutes(app, deps);
  dnsRoutes(app, deps);
  adminRoutes(app, deps);
  getOnly(app, "/healthz", (c) => c.text("ok\n"));
  // Ready = settings loaded and the store readable; a load balancer sends no traffic while 503.
  getOnly(app, "/readyz", async (c) => {
    try {
      await deps.ops?.ready?.();
    } catch (e) {
      deps.log?.(`readyz: not ready: ${(e as Error).message}`);
      return c.text("not ready: the settings store cannot be read\n", 503, { "Cache-Control": "no-store" });
    }
    return c.text("ready\n", 200, { "Cache-Control": "no-store" });
  });
  app.notFound((c) => c.text("Not found.\n", 404));
  app.onError((err, c) => {
    deps.log?.(`internal error: ${err.message}`);
    return c.text("Internal error.\n", 500);
  });
  return app;
}
