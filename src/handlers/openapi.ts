/**
 * The OpenAPI 3.1 document of mailconf's HTTP API under `/api/v1/`, served at
 * `GET /api/v1/openapi.json`. A plain object: other endpoints add their paths here.
 *
 * The Provider schema is generated from the settings model (zod `toJSONSchema`, input side: what a
 * client sends, defaults shown as `default`), so the document cannot drift from what the API accepts.
 * Web APIs only.
 */
import * as z from "zod";
import { ProviderSchema } from "../providers/model.ts";
import { settingsOpenApiPath } from "./pages.ts";

function providerJsonSchema(): Record<string, unknown> {
  const { $schema: _drop, ...schema } = z.toJSONSchema(ProviderSchema, {
    io: "input",
    unrepresentable: "any",
  }) as Record<string, unknown>;
  return schema;
}

const json = (schema: unknown) => ({ "application/json": { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (description: string) => ({ description, content: json(ref("Errors")) });

const COMMON_ERRORS = {
  "401": {
    description: "No bearer token, or not a configured one (`WWW-Authenticate: Bearer`).",
    content: json(ref("Errors")),
  },
  "404": {
    description:
      "Not published; or the admin API is off (no admin token configured), then as plain text `Not found.`",
    content: {
      ...json(ref("Errors")),
      "text/plain": { schema: { type: "string", const: "Not found.\n" } },
    },
  },
  "503": errorResponse("The settings database failed; nothing was changed."),
};

const WRITE_ERRORS = {
  "400": errorResponse("Invalid body or path: every field error with its path, e.g. `incoming[0].port`."),
  "409": errorResponse("Conflicts with what is published, e.g. a domain already served by another provider."),
  "413": errorResponse("Body over 256 KiB."),
  "415": errorResponse("Body is not `application/json`."),
};

const listParams = [
  {
    name: "after",
    in: "query",
    description: "Cursor: the `next` value of the previous page.",
    schema: { type: "string" },
  },
  {
    name: "limit",
    in: "query",
    description: "Page size, 1-10000 (default 1000).",
    schema: { type: "integer", minimum: 1, maximum: 10000, default: 1000 },
  },
];

/** `400` of the list operations: a bad `limit`, named as `query.limit`. */
const LIST_ERRORS = {
  "400": errorResponse("A bad query parameter, e.g. `limit` outside 1-10000 (path `query.limit`)."),
};

const cascadeParam = {
  name: "cascade",
  in: "query",
  description:
    "`true`: also delete what points at it (assigned domains, aliases), in the same transaction. Default: refuse with 409 naming them.",
  schema: { type: "boolean", default: false },
};

const providerId = {
  name: "id",
  in: "path",
  required: true,
  description: "Provider id (lower-case letters, digits, dots and dashes), e.g. `example.org`.",
  schema: { type: "string" },
};

const domainParam = {
  name: "domain",
  in: "path",
  required: true,
  description:
    "Mail domain, any case, IDN or punycode; `*.example.com` (or `%2A.example.com`) for every subdomain.",
  schema: { type: "string" },
};

/** The document (OpenAPI 3.1.0). */
export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "mailconf API",
    version: "1",
    description:
      "Publish mail settings: providers (servers, as in a settings file) and the domains they serve. " +
      "Every admin operation needs `Authorization: Bearer <token>` (configured with --admin-token-file " +
      "or MAILCONF_ADMIN_TOKENS). Writes are visible to the next request; a failed write changes nothing.",
  },
  servers: [{ url: "/" }],
  security: [{ bearer: [] }],
  paths: {
    ...settingsOpenApiPath,
    "/api/v1/providers": {
      get: {
        operationId: "listProviders",
        summary: "List published providers",
        parameters: listParams,
        responses: {
          "200": {
            description: "A page of providers, by id.",
            content: json({
              type: "object",
              required: ["providers", "next"],
              properties: {
                providers: { type: "array", items: ref("ProviderSummary") },
                next: { type: ["string", "null"] },
              },
            }),
          },
          ...LIST_ERRORS,
          ...COMMON_ERRORS,
        },
      },
    },
    "/api/v1/providers/{id}": {
      parameters: [providerId],
      get: {
        operationId: "getProvider",
        summary: "Get a published provider",
        responses: {
          "200": { description: "The provider, with defaults applied.", content: json(ref("Provider")) },
          ...COMMON_ERRORS,
        },
      },
      put: {
        operationId: "putProvider",
        summary: "Create or replace a provider",
        description:
          "The body is a provider as in a settings file; `id` may be left out (the path gives it) or must " +
          "equal the path. Its `domains` (may be empty) replace the provider's own domain list; domains " +
          "assigned with PUT /api/v1/domains stay assigned (listing one of them in `domains` is a 409).",
        requestBody: { required: true, content: json(ref("Provider")) },
        responses: {
          "200": { description: "Replaced.", content: json(ref("Provider")) },
          "201": { description: "Created.", content: json(ref("Provider")) },
          ...WRITE_ERRORS,
          ...COMMON_ERRORS,
        },
      },
      delete: {
        operationId: "deleteProvider",
        summary: "Delete a provider and its own domains",
        description:
          "Refused (409, naming them) while domains assigned to it would be left without a provider, or aliases point at its domains; `?cascade=true` deletes those too.",
        parameters: [cascadeParam],
        responses: {
          "204": { description: "Deleted." },
          "400": errorResponse("`cascade` is not true or false."),
          "409": WRITE_ERRORS["409"],
          ...COMMON_ERRORS,
        },
      },
    },
    "/api/v1/domains": {
      get: {
        operationId: "listDomains",
        summary: "List published domains",
        parameters: [
          ...listParams,
          {
            name: "provider",
            in: "query",
            description: "Only the domains of this provider id.",
            schema: { type: "string" },
          },
        ],
        responses: {
          "200": {
            description: "A page of domain entries, by name.",
            content: json({
              type: "object",
              required: ["domains", "next"],
              properties: {
                domains: { type: "array", items: ref("DomainEntry") },
                next: { type: ["string", "null"] },
              },
            }),
          },
          ...LIST_ERRORS,
          ...COMMON_ERRORS,
        },
      },
    },
    "/api/v1/domains/{domain}": {
      parameters: [domainParam],
      get: {
        operationId: "getDomain",
        summary: "Get a published domain entry",
        responses: {
          "200": { description: "The entry.", content: json(ref("DomainEntry")) },
          ...COMMON_ERRORS,
        },
      },
      put: {
        operationId: "putDomain",
        summary: "Serve a domain with a provider, or as an alias of another domain",
        description:
          '`{"provider": "<id>"}`: the provider may be published, in a settings file, in the ISPDB folder ' +
          'or built in (e.g. `gmail.com` for a company on Google Workspace). `{"aliasOf": "<domain>"}`: ' +
          "served as that domain (Autodiscover answers with a redirect to it); no wildcard aliases.",
        requestBody: { required: true, content: json(ref("DomainTarget")) },
        responses: {
          "200": { description: "Replaced.", content: json(ref("DomainEntry")) },
          "201": { description: "Created.", content: json(ref("DomainEntry")) },
          ...WRITE_ERRORS,
          ...COMMON_ERRORS,
        },
      },
      delete: {
        operationId: "deleteDomain",
        summary: "Delete an assigned domain entry",
        description:
          "A domain listed in a provider's own `domains` is removed by replacing that provider (409). Refused (409, naming them) while aliases point at it; `?cascade=true` deletes them too.",
        parameters: [cascadeParam],
        responses: {
          "204": { description: "Deleted." },
          "400": errorResponse("A bad domain in the path, or `cascade` is not true or false."),
          "409": WRITE_ERRORS["409"],
          ...COMMON_ERRORS,
        },
      },
    },
    "/api/v1/openapi.json": {
      get: {
        operationId: "openapi",
        summary: "This document",
        security: [],
        responses: { "200": { description: "OpenAPI 3.1 document.", content: json({ type: "object" }) } },
      },
    },
  } as Record<string, unknown>,
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    schemas: {
      Provider: providerJsonSchema(),
      ProviderSummary: {
        type: "object",
        required: ["id", "displayName", "domains", "mxHosts", "updatedAt"],
        properties: {
          id: { type: "string" },
          displayName: { type: "string" },
          domains: { type: "array", items: { type: "string" } },
          mxHosts: { type: "array", items: { type: "string" } },
          updatedAt: { type: "string", format: "date-time" },
        },
      },
      DomainTarget: {
        oneOf: [
          {
            type: "object",
            required: ["provider"],
            additionalProperties: false,
            properties: { provider: { type: "string", description: "Provider id." } },
          },
          {
            type: "object",
            required: ["aliasOf"],
            additionalProperties: false,
            properties: { aliasOf: { type: "string", description: "The domain this one is an alias of." } },
          },
        ],
      },
      DomainEntry: {
        type: "object",
        required: ["domain", "origin", "updatedAt"],
        properties: {
          domain: { type: "string" },
          provider: { type: "string" },
          aliasOf: { type: "string" },
          origin: {
            type: "string",
            enum: ["provider", "assigned"],
            description:
              "`provider`: listed in the provider's own domains; `assigned`: set with PUT /api/v1/domains.",
          },
          updatedAt: { type: "string", format: "date-time" },
        },
      },
      Errors: {
        type: "object",
        required: ["errors"],
        properties: {
          errors: {
            type: "array",
            items: {
              type: "object",
              required: ["path", "message"],
              properties: {
                path: {
                  type: "string",
                  description: "Field path, e.g. `incoming[0].port`; `(root)` for the whole body.",
                },
                message: { type: "string" },
              },
            },
          },
        },
      },
    } as Record<string, unknown>,
  },
};
