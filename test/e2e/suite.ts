/**
 * The shared end-to-end suite: defines one vitest test per case of test/e2e/cases.ts against a
 * target (the Node server, the Worker in workerd, `wrangler dev`). With `reference` (the Node
 * server's answers), every answer must also equal the reference byte for byte: status, the
 * app's headers and the body; only a case's declared volatile field is normalised first.
 * Web APIs only: runs inside workerd too.
 */
import { describe, expect, it } from "vitest";
import {
  type E2ECase,
  type E2ECaseOptions,
  type E2EFiles,
  type E2EValidators,
  e2eCases,
  type Volatile,
} from "./cases.ts";
import { type E2EAnswer, type E2ETargets, send, text } from "./http.ts";

/** Options of {@link defineE2ESuite}. */
export interface E2ESuiteOptions {
  /** Shown in test names, e.g. `node`, `workerd`. */
  runtime: string;
  /** The servers; called when a test runs (after beforeAll started them). */
  targets: () => E2ETargets;
  files: E2EFiles;
  /** With `signingTime`, the signed-profile cases run against `targets().signed`. */
  caseOptions?: E2ECaseOptions;
  validators?: E2EValidators;
  /** Answers of the reference server by case id; each answer must equal them byte for byte. */
  reference?: Record<string, E2EAnswer[]>;
  /** Runs only the cases this returns true for (default: all). */
  filter?: (c: E2ECase) => boolean;
}

/** Tolerance for a volatile time: the reference answers are recorded before the tests run. */
const TIME_TOLERANCE_MS = 15 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
const ERROR_TIME_RE = /<Error Time="(\d\d):(\d\d):(\d\d)\.(\d{3})" Id="/g;
const UPDATED_AT_RE = /"updatedAt":"([^"]*)"/g;

function expectRecent(ms: number, now: number, what: string): void {
  expect(Math.abs(ms - now), `${what} is not the current time`).toBeLessThanOrEqual(TIME_TOLERANCE_MS);
}

/**
 * Replaces a case's volatile field by a fixed marker, after checking it is what it claims; the
 * rest of the answer is left as it is.
 * - `autodiscover-error-time`: exactly one `<Error Time="hh:mm:ss.mmm"` (UTC), within 15 minutes
 *   of `now` (across midnight);
 * - `admin-updated-at`: every `"updatedAt":"…"` an ISO 8601 time and the `Last-Modified` header an
 *   HTTP date, each within 15 minutes of `now` (answers without them are unchanged).
 */
export function normaliseVolatile(answer: E2EAnswer, volatile: Volatile, now = Date.now()): E2EAnswer {
  let body = text(answer);
  const headers = { ...answer.headers };
  if (volatile === "autodiscover-error-time") {
    const matches = [...body.matchAll(ERROR_TIME_RE)];
    expect(matches, `${volatile}: one <Error Time="hh:mm:ss.mmm"> in ${body.slice(0, 400)}`).toHaveLength(1);
    const [whole, h, m, s, ms] = matches[0] as RegExpMatchArray;
    const timeOfDay = ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000 + Number(ms);
    const diff = Math.abs(timeOfDay - (now % DAY_MS));
    expect(
      Math.min(diff, DAY_MS - diff),
      `${volatile}: ${whole} is not the current time`,
    ).toBeLessThanOrEqual(TIME_TOLERANCE_MS);
    body = body.replace(whole as string, '<Error Time="(time of day)" Id="');
  } else {
    body = body.replace(UPDATED_AT_RE, (whole, iso: string) => {
      expect(iso, `${volatile}: ${whole}`).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expectRecent(Date.parse(iso), now, `${volatile}: ${whole}`);
      return '"updatedAt":"(time of write)"';
    });
    const modified = headers["last-modified"];
    if (modified !== undefined) {
      expect(modified, `${volatile}: Last-Modified`).toMatch(/^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/);
      expectRecent(Date.parse(modified), now, `${volatile}: Last-Modified ${modified}`);
      headers["last-modified"] = "(time of write)";
    }
  }
  return { ...answer, headers, body: new TextEncoder().encode(body) };
}

/** Asserts two answers are the same: status, app headers, body bytes (after the case's volatile field). */
export function expectSameAnswer(actual: E2EAnswer, expected: E2EAnswer, volatile?: Volatile): void {
  const a = volatile ? normaliseVolatile(actual, volatile) : actual;
  const e = volatile ? normaliseVolatile(expected, volatile) : expected;
  expect(a.status, "status").toBe(e.status);
  expect(a.headers, "headers").toEqual(e.headers);
  // Text first for a readable diff, then the exact bytes (a text decode would hide invalid UTF-8).
  expect(text(a), "body").toBe(text(e));
  expect(a.body.byteLength, "body length in bytes").toBe(e.body.byteLength);
  expect(
    a.body.every((byte, i) => byte === e.body[i]),
    "body bytes",
  ).toBe(true);
}

/** Defines the suite (call at module level of a test file). */
export function defineE2ESuite(options: E2ESuiteOptions): void {
  const cases = e2eCases(options.files, options.caseOptions).filter(options.filter ?? (() => true));
  const groups = [...new Set(cases.map((c) => c.group))];
  for (const group of groups) {
    describe(`${group} (${options.runtime})`, () => {
      for (const c of cases.filter((x) => x.group === group)) {
        it(c.title, async () => {
          const targets = options.targets();
          const answers: E2EAnswer[] = [];
          for (const request of c.requests) answers.push(await send(targets, request));
          c.check(answers, options.validators ?? {});
          if (options.reference) {
            const reference = options.reference[c.id];
            expect(reference, `no reference answer recorded for ${c.id}`).toBeDefined();
            expect(answers.length).toBe(reference?.length);
            answers.forEach((answer, i) => {
              expectSameAnswer(answer, (reference as E2EAnswer[])[i] as E2EAnswer, c.volatile);
            });
          }
        });
      }
    });
  }
}
