// What to tell a person when something fails: one sentence, and what to do next.
//
// Sources: the DOMException names of WebAuthn, the slug that ends an API problem's
// `type`, and the page's own network failure. ``context`` is "enroll", "signin" or
// "manage"; a few messages differ by what the person was doing.

import { ApiError, NetworkError } from "./api.js";

export const NO_SUPPORT =
  "This browser or device has no passkey or security key support. " +
  "Try a current version of Chrome, Edge, Firefox or Safari.";

export const LINK_INVALID = "This link has expired or was already used. Ask for a new one.";

const NOT_VERIFIED = {
  enroll: "Your key could not be verified. Try again, or use another key.",
  signin:
    "Your passkey could not be verified. Try again, or use a key registered for tapgate.",
  manage:
    "Your passkey could not be verified. Try again, or use a key registered for tapgate.",
};

/**
 * Map an error to {message, retryAfter, fatal}. ``fatal`` means retrying cannot help
 * (a used link); ``retryAfter`` is the seconds to wait when the API said so.
 */
export function describe(error, context) {
  if (error instanceof ApiError) return describeProblem(error, context);
  if (error instanceof NetworkError) {
    return plain("The tapgate service could not be reached. Check your connection and try again.");
  }
  switch (error?.name) {
    case "NotAllowedError":
    case "AbortError":
      return plain(
        "The request was cancelled or timed out. Try again, and touch your key when asked.",
      );
    case "InvalidStateError":
      return plain(
        context === "enroll"
          ? "This key is already registered. Use another key, or remove this one first."
          : "Your key is busy with another request. Try again.",
      );
    case "NotSupportedError":
      return plain(NO_SUPPORT);
    case "SecurityError":
      return plain(
        "Security keys cannot be used at this address. Open the page at its configured address.",
      );
    case "ConstraintError":
      return plain(
        "This key cannot do what is required here (a PIN or screen lock, or storing a passkey). " +
          "Try another key.",
      );
    case "TypeError":
      return plain("The server sent options this browser could not read. Reload and try again.");
    default:
      return plain("Your key reported an error. Try again.");
  }
}

function describeProblem(error, context) {
  const seconds = error.retryAfter ?? null;
  switch (error.slug) {
    case "enrollment-token-invalid":
      return { message: LINK_INVALID, retryAfter: null, fatal: true };
    case "ceremony-failed":
      return plain(NOT_VERIFIED[context] || NOT_VERIFIED.signin);
    case "throttled":
      return {
        message: `Too many attempts. Wait ${waitFor(seconds)} and try again.`,
        retryAfter: seconds,
        fatal: false,
      };
    case "forbidden":
      return plain(
        context === "signin"
          ? "You are not allowed to use this role. Choose another, or ask your administrator."
          : "You are not allowed to do this. Ask your administrator.",
      );
    case "not-found":
      return plain(
        context === "manage"
          ? "That key no longer exists, or this request expired. Show your keys again."
          : "This request expired. Try again.",
      );
    case "conflict":
      return plain(
        context === "enroll"
          ? "This key is already registered. Use another key."
          : "This request was already used. Try again.",
      );
    case "bad-request":
      return plain(error.detail ? `The request was refused: ${error.detail}` : GENERIC);
    case "dependency-unavailable":
      return {
        message: `The service is busy. Wait ${waitFor(seconds)} and try again.`,
        retryAfter: seconds,
        fatal: false,
      };
    default:
      return plain(GENERIC);
  }
}

/** "1 second", "7 seconds", or "a few seconds" when the server did not say. */
export function waitFor(seconds) {
  if (seconds === null || seconds === undefined) return "a few seconds";
  return seconds === 1 ? "1 second" : `${seconds} seconds`;
}

const GENERIC = "Something went wrong on the server. Try again later.";

function plain(message) {
  return { message, retryAfter: null, fatal: false };
}
