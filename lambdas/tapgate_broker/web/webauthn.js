// WebAuthn ceremonies in the W3C JSON forms the API speaks (WebAuthn Level 3).
//
// Browsers that have PublicKeyCredential.parseCreationOptionsFromJSON,
// parseRequestOptionsFromJSON and PublicKeyCredential#toJSON use them; others get
// the small fallback below, which converts only the binary fields the API sends
// and reads (base64url without padding <-> ArrayBuffer).

/** Whether this browser can run WebAuthn ceremonies at all. */
export function webauthnAvailable() {
  return (
    typeof window.PublicKeyCredential === "function" &&
    typeof navigator.credentials?.create === "function" &&
    typeof navigator.credentials?.get === "function"
  );
}

/** "native" when the browser has the JSON helpers, "fallback" when this module converts. */
export function jsonSupport() {
  const PKC = window.PublicKeyCredential;
  const native =
    typeof PKC?.parseCreationOptionsFromJSON === "function" &&
    typeof PKC?.parseRequestOptionsFromJSON === "function" &&
    typeof PKC?.prototype?.toJSON === "function";
  return native ? "native" : "fallback";
}

/** Thrown when there is no WebAuthn in this browser; mapped like NotSupportedError. */
export class NoWebAuthnError extends Error {
  constructor() {
    super("WebAuthn is not available in this browser");
    this.name = "NotSupportedError";
  }
}

/** Throw NoWebAuthnError before any request is made, when a ceremony cannot run here. */
export function requireWebAuthn() {
  if (!webauthnAvailable()) throw new NoWebAuthnError();
}

let pending = null; // the AbortController of the ceremony in progress, if any

function nextSignal() {
  pending?.abort();
  pending = new AbortController();
  return pending.signal;
}

/** Run navigator.credentials.create with creation options JSON; answer RegistrationResponseJSON. */
export async function createCredential(optionsJSON) {
  requireWebAuthn();
  const publicKey =
    jsonSupport() === "native"
      ? PublicKeyCredential.parseCreationOptionsFromJSON(optionsJSON)
      : creationOptionsFromJSON(optionsJSON);
  const credential = await navigator.credentials.create({ publicKey, signal: nextSignal() });
  return credentialToJSON(credential);
}

/** Run navigator.credentials.get with request options JSON; answer AuthenticationResponseJSON. */
export async function getCredential(optionsJSON) {
  requireWebAuthn();
  const publicKey =
    jsonSupport() === "native"
      ? PublicKeyCredential.parseRequestOptionsFromJSON(optionsJSON)
      : requestOptionsFromJSON(optionsJSON);
  const credential = await navigator.credentials.get({ publicKey, signal: nextSignal() });
  return credentialToJSON(credential);
}

function credentialToJSON(credential) {
  if (credential === null) {
    throw new DOMException("No credential was returned", "NotAllowedError");
  }
  if (typeof credential.toJSON === "function") return credential.toJSON();
  return fallbackCredentialToJSON(credential);
}

// --- the fallback -------------------------------------------------------------------

export function creationOptionsFromJSON(json) {
  const options = { ...json, challenge: toBuffer(json.challenge) };
  options.user = { ...json.user, id: toBuffer(json.user.id) };
  if (Array.isArray(json.excludeCredentials)) {
    options.excludeCredentials = json.excludeCredentials.map(descriptorFromJSON);
  }
  return options;
}

export function requestOptionsFromJSON(json) {
  const options = { ...json, challenge: toBuffer(json.challenge) };
  if (Array.isArray(json.allowCredentials)) {
    options.allowCredentials = json.allowCredentials.map(descriptorFromJSON);
  }
  return options;
}

function descriptorFromJSON(descriptor) {
  return { ...descriptor, id: toBuffer(descriptor.id) };
}

export function fallbackCredentialToJSON(credential) {
  const source = credential.response;
  const response = { clientDataJSON: toBase64url(source.clientDataJSON) };
  if ("attestationObject" in source) {
    response.attestationObject = toBase64url(source.attestationObject);
    response.transports =
      typeof source.getTransports === "function" ? source.getTransports() : [];
    if (typeof source.getAuthenticatorData === "function") {
      response.authenticatorData = toBase64url(source.getAuthenticatorData());
    }
    if (typeof source.getPublicKeyAlgorithm === "function") {
      response.publicKeyAlgorithm = source.getPublicKeyAlgorithm();
    }
  } else {
    response.authenticatorData = toBase64url(source.authenticatorData);
    response.signature = toBase64url(source.signature);
    if (source.userHandle) response.userHandle = toBase64url(source.userHandle);
  }
  const json = {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response,
    clientExtensionResults:
      typeof credential.getClientExtensionResults === "function"
        ? credential.getClientExtensionResults()
        : {},
  };
  if (credential.authenticatorAttachment) {
    json.authenticatorAttachment = credential.authenticatorAttachment;
  }
  return json;
}

/** base64url (padding optional) -> ArrayBuffer; TypeError on anything else. */
export function toBuffer(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*={0,2}$/.test(text)) {
    throw new TypeError("expected a base64url string");
  }
  const base64 = text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  if (base64.length % 4 === 1) throw new TypeError("expected a base64url string");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

/** ArrayBuffer or a view -> base64url without padding. */
export function toBase64url(data) {
  const bytes =
    data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 1) binary += String.fromCharCode(bytes[i]);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
