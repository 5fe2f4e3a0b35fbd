/**
 * The signing error, apart from the signer (./signer.ts) so that code which only needs to name it
 * (the Node entry reading the PEM files) does not load the ASN.1 libraries at start.
 *
 * Web APIs only.
 */

/** A signing configuration that cannot work; the message says what is wrong and how to fix it. */
export class SigningConfigError extends Error {
  override name = "SigningConfigError";
}
