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
import { type AppDeps, getOnly } from "./handlers/context.ts";
import { dnsRoutes } from "./handlers/dns.ts";
import { mobileconfigRoutes } from "./handlers/mobileconfig.ts";
import { paccRoutes } from "./handlers/pacc.ts";
import { pagesRoutes } from "./handlers/pages.ts";

export type { AppDeps } from "./handlers/context.ts";

/** Builds the app. `deps.publicUrl` is used for every absolute URL in answers (never the Host header). */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.use(async (c, next) => {
    await next();
    c.header("X-Content-Type-Options", "nosniff");
  });
  autodiscoverRoutes(app, deps);
  autodiscoverV2Routes(app, deps);
  autoconfigRoutes(app, deps);
  mobileconfigRoutes(app, deps);
  paccRoutes(app, deps);
  pagesRoutes(app, deps);
  dnsRoutes(app, deps);
  adminRoutes(app, deps);
  getOnly(app, "/healthz", (c) => c.text("ok\n"));
  app.notFound((c) => c.text("Not found.\n", 404));
  app.onError((err, c) => {
    deps.log?.(`internal error: ${err.message}`);
    return c.text("Internal error.\n", 500);
  });
  return app;
}
