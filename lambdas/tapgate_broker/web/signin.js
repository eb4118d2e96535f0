// Screen (2): sign in with a discoverable passkey, choose a role, get credentials.
//
// passkey/options {roleArn} -> touch -> passkey/verify {…, console: true}. The answer
// (credentials and a console sign-in link) stays in the DOM of this tab only, and
// "Forget these credentials" clears it.

import { call } from "./api.js";
import { exportLines, processJSON, roleName } from "./formats.js";
import { describe } from "./messages.js";
import { $, busy, copyText, el, fail, formatDateTime, fromNow, notify, show } from "./ui.js";
import { getCredential, requireWebAuthn } from "./webauthn.js";

let expiryTimer = null;

export function startSignin(config) {
  const form = $("signin-form");
  const button = $("signin-button");
  const error = $("signin-error");

  config.then(
    (answer) => renderRoles(answer.roles || [], button),
    (problem) => {
      $("roles-status").textContent = "";
      fail(error, describe(problem, "signin"));
    },
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = form.querySelector("input[name=role]:checked");
    if (!chosen) return;
    const roleArn = chosen.value;
    notify(error, "");
    await busy(button, "Touch your key…", async () => {
      try {
        requireWebAuthn();
        const options = await call("POST", "passkey/options", { body: { roleArn } });
        const credential = await getCredential(options.publicKey);
        const session = await call("POST", "passkey/verify", {
          body: { ceremonyId: options.ceremonyId, credential, roleArn, console: true },
        });
        showSession(session);
      } catch (problem) {
        fail(error, describe(problem, "signin"), button);
      }
    });
  });

  $("signout").addEventListener("click", forget);
  for (const copy of document.querySelectorAll("button[data-copy]")) {
    copy.addEventListener("click", async () => {
      const source = $(copy.dataset.copy);
      const copied = await copyText(source.textContent, source);
      copy.textContent = copied ? "Copied" : "Select and copy";
      setTimeout(() => {
        copy.textContent = "Copy";
      }, 2000);
    });
  }
}

function renderRoles(roles, button) {
  const fieldset = $("roles");
  const status = $("roles-status");
  if (roles.length === 0) {
    status.textContent = "No roles are set up for tapgate yet. Ask your administrator.";
    return;
  }
  status.remove();
  roles.forEach((role, index) => {
    const id = `role-${index}`;
    const input = el("input", {
      attrs: { type: "radio", name: "role", id, value: role.arn },
    });
    input.checked = index === 0;
    const label = el("label", { className: "choice", attrs: { for: id } }, [
      el("span", { className: "choice-name", text: role.name || roleName(role.arn) }),
      el("span", { className: "choice-detail", text: role.arn }),
    ]);
    fieldset.append(input, label);
  });
  button.disabled = false;
}

function showSession(session) {
  $("session-identity").textContent = session.SourceIdentity || "you";
  $("session-role").textContent = roleName(session.RoleArn || "");
  $("export-lines").textContent = exportLines(session);
  $("process-json").textContent = processJSON(session);
  const link = $("console-link");
  if (session.consoleUrl) {
    link.href = session.consoleUrl;
    show(link);
  } else {
    link.href = "./";
    show(link, false);
  }
  const expires = new Date(session.Expiration);
  $("session-expiry").textContent = formatDateTime(expires);
  const tick = () => {
    const expired = expires.getTime() <= Date.now();
    $("session-remaining").textContent = expired ? "expired" : fromNow(expires);
    if (expired) {
      show($("console-link"), false);
      clearInterval(expiryTimer);
    }
  };
  clearInterval(expiryTimer);
  tick();
  expiryTimer = setInterval(tick, 30_000);
  show($("signin-form"), false);
  show($("session"));
  $("session").scrollIntoView({ block: "start" });
}

function forget() {
  clearInterval(expiryTimer);
  for (const id of ["export-lines", "process-json", "session-identity", "session-role"]) {
    $(id).textContent = "";
  }
  $("console-link").href = "./";
  show($("session"), false);
  show($("signin-form"));
}
