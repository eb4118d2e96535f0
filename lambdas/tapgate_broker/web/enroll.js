// Screen (1): register a key from an enrollment link, {apiUrl}/v1/enroll#token=…
//
// The token is read from the fragment (browsers never send it to a server) and then
// removed from the address bar and the history entry, so it is not left on screen,
// in a bookmark or in a shared link. It lives in this module's memory until the key
// is registered; it goes to the API only as "Authorization: Bearer".
// `enrollment/options` does not use the token up, so a cancelled touch can be retried.

import { call } from "./api.js";
import { describe, LINK_INVALID } from "./messages.js";
import { $, busy, fail, notify, show } from "./ui.js";
import { createCredential, requireWebAuthn } from "./webauthn.js";

// Older options than this are fetched again at the touch: the server's ceremony
// lives a few minutes, and a person may take their time choosing a name.
const OPTIONS_MAX_AGE_MS = 120_000;

/** The token from ``#token=…``, and the fragment gone from the address bar. */
export function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get("token");
  if (location.hash) history.replaceState(history.state, "", location.pathname + location.search);
  return token && /^[A-Za-z0-9_-]{16,512}$/.test(token) ? token : null;
}

export function startEnroll() {
  let token = takeToken();
  const status = $("enroll-status");
  const form = $("enroll-form");
  const error = $("enroll-error");
  const button = $("enroll-button");
  let prepared = null; // {answer, at}: options fetched before the touch

  const closeLink = (message) => {
    token = null;
    prepared = null;
    show(form, false);
    notify(status, "");
    notify(error, message, "error");
  };

  if (!token) {
    notify(status, "");
    notify(
      error,
      "This page needs the whole enrollment link you were sent. Open that link again " +
        "(for safety, this page removes the secret part from the address bar).",
      "error",
    );
    return;
  }

  const fetchOptions = async () => {
    const at = Date.now();
    const answer = await call("POST", "enrollment/options", { body: {}, token });
    return { answer, at };
  };

  fetchOptions().then(
    (fresh) => {
      prepared = fresh;
      $("enroll-user").textContent = fresh.answer.userName;
      notify(status, "");
      show(form);
      $("enroll-nickname").focus();
    },
    (problem) => {
      const described = describe(problem, "enroll");
      if (described.fatal) closeLink(LINK_INVALID);
      else {
        notify(status, "");
        fail(error, described);
      }
    },
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!token) return;
    notify(error, "");
    const nickname = $("enroll-nickname").value.trim();
    await busy(button, "Touch your key…", async () => {
      try {
        requireWebAuthn();
        // One fetch at most between the click and the ceremony (Safari's user-gesture rule).
        const usable = prepared && Date.now() - prepared.at < OPTIONS_MAX_AGE_MS;
        const { answer } = usable ? prepared : await fetchOptions();
        prepared = null;
        const credential = await createCredential(answer.publicKey);
        const body = { ceremonyId: answer.ceremonyId, credential };
        if (nickname) body.nickname = nickname;
        const result = await call("POST", "enrollment/verify", { body, token });
        token = null; // used up by the server; forget it here too
        finish(answer.userName, result.credential?.nickname || nickname);
      } catch (problem) {
        const described = describe(problem, "enroll");
        if (described.fatal) closeLink(described.message);
        else fail(error, described, button);
      }
    });
  });
}

function finish(userName, nickname) {
  show($("enroll-form"), false);
  notify($("enroll-error"), "");
  const name = nickname ? `“${nickname}”` : "Your key";
  $("enroll-done-text").textContent =
    `Done. ${name} is registered for ${userName}. You can now sign in with it.`;
  show($("enroll-done"));
  $("enroll-next").focus();
}
