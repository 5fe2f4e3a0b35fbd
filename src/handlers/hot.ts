/**
 * The hot endpoints (autoconfig, Autodiscover POX and v2, Apple profiles) as one table of
 * runtime-neutral answer functions: the Hono routes call them (src/handlers/autoconfig.ts …), and
 * so does the Node fast path (src/node/fast-path.ts), which answers these requests without
 * building a Web Request, a Hono context or a Response. One piece of code reads each request and
 * decides its answer, so both paths send the same status, headers and body.
 */
import { AUTOCONFIG_DOMAIN_ROUTE, AUTOCONFIG_PATHS, answerAutoconfig } from "./autoconfig.ts";
import { answerAutodiscoverPost } from "./autodiscover.ts";
import { isAutodiscoverXmlPath, MAX_AUTODISCOVER_BODY_BYTES } from "./autodiscover-request.ts";
import { answerV2, isV2Path } from "./autodiscover-v2.ts";
import type { CappedBody } from "./body.ts";
import type { Answer, AppDeps, NoteDomain, RequestParts } from "./context.ts";
import { PROFILE_PATHS, type ProfileEndpoint, profileEndpoint } from "./mobileconfig.ts";

/** The route names of the access log and metrics for the hot endpoints (as routeOf gives them). */
export const POX_ROUTE = "/autodiscover/autodiscover.xml";
export const V2_ROUTE = "/autodiscover/autodiscover.json";

/** One matched hot route: its name for logs and metrics, and its answer (`undefined`: not this route after all). */
export interface HotRoute {
  route: string;
  /** The route reads the request body, at most this many bytes (Autodiscover POST). */
  bodyBytes?: number;
  /** Synchronous when the answer is at hand (store in memory, answer kept), else a Promise. */
  answer(
    request: RequestParts,
    readBody: (maxBytes: number) => Promise<CappedBody>,
    note: NoteDomain,
  ): Answer | undefined | Promise<Answer | undefined>;
}

/** The hot endpoints of one app (the profile cache belongs to it). */
export interface HotEndpoints {
  /** The profile endpoint, to be shared with the app (createApp's second argument). */
  profile: ProfileEndpoint;
  /**
   * The hot route a GET or POST for `path` goes to, in the app's routing order (POX, v2, autoconfig,
   * profiles), or `undefined` for any other request. `path` must be the raw path without `%`
   * (percent-decoding would change it) and without dot segments (URL would remove them).
   */
  match(method: string, path: string): HotRoute | undefined;
}

const autoconfigRoutes = new Set<string>(AUTOCONFIG_PATHS);
const profileRoutes = new Set<string>(PROFILE_PATHS);
const V1_1 = "/v1.1/";

/** Builds the hot endpoints of an app; pass `profile` to createApp, so both share the profile cache. */
export function hotEndpoints(deps: AppDeps): HotEndpoints {
  const profile = profileEndpoint(deps);
  const pox: HotRoute = {
    route: POX_ROUTE,
    bodyBytes: MAX_AUTODISCOVER_BODY_BYTES,
    answer: (request, readBody, note) => answerAutodiscoverPost(deps, request.method, readBody, note),
  };
  const v2: HotRoute = {
    route: V2_ROUTE,
    answer: (request, _readBody, note) => answerV2(deps, request.method, request.url, note),
  };
  const autoconfig = new Map<string, HotRoute>();
  for (const path of AUTOCONFIG_PATHS)
    autoconfig.set(path, {
      route: path,
      answer: (request, _readBody, note) => answerAutoconfig(deps, request, undefined, note),
    });
  const byDomain: HotRoute = {
    route: AUTOCONFIG_DOMAIN_ROUTE,
    answer: (request, _readBody, note) =>
      answerAutoconfig(deps, request, request.path.slice(V1_1.length), note),
  };
  const profiles = new Map<string, HotRoute>();
  for (const path of PROFILE_PATHS)
    profiles.set(path, { route: path, answer: (request, _readBody, note) => profile.answer(request, note) });
  return {
    profile,
    match(method, path) {
      if (isAutodiscoverXmlPath(path)) return pox;
      if (method !== "GET") return undefined;
      if (isV2Path(path)) return v2;
      if (autoconfigRoutes.has(path)) return autoconfig.get(path);
      if (profileRoutes.has(path)) return profiles.get(path);
      if (path.startsWith(V1_1) && path.length > V1_1.length && path.indexOf("/", V1_1.length) < 0)
        return byDomain;
      return undefined;
    },
  };
}
