/**
 * Carrying the end-to-end inputs and the Node server's answers from Node (globalSetup) into
 * workerd, which has no file system: vitest `provide`/`inject` with JSON-like values, bytes as
 * base64. Web APIs only.
 */
import type { E2EFiles } from "./cases.ts";
import {
  decodeAnswer,
  type E2EAnswer,
  type EncodedAnswer,
  encodeAnswer,
  fromBase64,
  toBase64,
} from "./http.ts";

/** {@link E2EFiles} with base64 bodies. */
export interface EncodedFiles {
  autodiscover: Record<string, string>;
  golden: Record<string, string>;
}

const mapValues = <A, B>(o: Record<string, A>, f: (a: A) => B): Record<string, B> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));

export const encodeFiles = (f: E2EFiles): EncodedFiles => ({
  autodiscover: mapValues(f.autodiscover, toBase64),
  golden: mapValues(f.golden, toBase64),
});
export const decodeFiles = (f: EncodedFiles): E2EFiles => ({
  autodiscover: mapValues(f.autodiscover, fromBase64),
  golden: mapValues(f.golden, fromBase64),
});
export const encodeAnswers = (a: Record<string, E2EAnswer[]>): Record<string, EncodedAnswer[]> =>
  mapValues(a, (list) => list.map(encodeAnswer));
export const decodeAnswers = (a: Record<string, EncodedAnswer[]>): Record<string, E2EAnswer[]> =>
  mapValues(a, (list) => list.map(decodeAnswer));

/** Profile signing material of a run (made by openssl in Node) and the fixed signing time. */
export interface E2ESigning {
  certificatePem: string;
  privateKeyPem: string;
  chainPem: string;
  /** ISO 8601, whole seconds, within the certificate's validity. */
  time: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    /** test/e2e/record-node-answers.ts: the signing secrets and time of the run. */
    e2eSigning: E2ESigning;
    /** test/e2e/record-node-answers.ts: the end-to-end input files. */
    e2eFiles: EncodedFiles;
    /** test/e2e/record-node-answers.ts: the Node server's answer to every case, by case id. */
    nodeAnswers: Record<string, EncodedAnswer[]>;
  }
}
