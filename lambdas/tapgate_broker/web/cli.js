// Screen (4): browser sign-in for the tapgate CLI (RFC 8252 with PKCE).
//
// The CLI opens {apiUrl}/v1/?signin=cli&role=ARN&port=PORT&state=S&code_challenge=C.
// On the button press: passkey/options {roleArn} -> touch -> passkey/code {…} -> the
// browser goes to the CLI's loopback callback (plain HTTP, 127.0.0.1:PORT/callback with
// the code and the state) and nowhere else. No credentials reach this page: the CLI
// exchanges the code with its PKCE verifier.

import { call } from "./api.js";
import { roleName } from "./formats.js";
import { describe } from "./messages.js";
import { $, busy, fail, notify, show } from "./ui.js";
import { getCredential, requireWebAuthn } from "./webauthn.js";

// The same shapes the broker checks (tapgate_contract.limits and api/requests.py).
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const PORT = /^[1-9]\d{3,4}$/;
const PORT_MIN = 1024;
const PORT_MAX = 65535;
const STATE = /^[A-Za-z0-9_-]{16,128}$/;
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** The CLI's request from the page's query, or null with why it is refused. */
export function cliRequest(search) {
  const query = new URLSearchParams(search);
  const role = query.get("role") || "";
  const port = query.get("port") || "";
  const state = query.get("state") || "";
  const challenge = query.get("code_challenge") || "";
  if (!ROLE_ARN.test(role)) return { problem: "The link does not name an IAM role." };
  const number = PORT.test(port) ? Number(port) : 0;
  if (number < PORT_MIN || number > PORT_MAX) {
    return { problem: "The link does not name a port of the tapgate CLI on this computer." };
  }
  if (!STATE.test(state) || !CHALLENGE.test(challenge)) {
    return { problem: "The link is incomplete. Run the tapgate command again." };
  }
  return { role, port: number, state, challenge };
}

/**
 * The only target the page sends a code to: the broker's redirect URI, accepted only when
 * it is plain HTTP to 127.0.0.1 on the CLI's port at /callback, with nothing else in it.
 */
export function callbackUrl(redirectUri, request, code) {
  let target;
  try {
    target = new URL(redirectUri);
  } catch {
    return null;
  }
  const loopback =
    target.protocol === "http:" &&
    target.hostname === "127.0.0.1" &&
    target.port === String(request.port) &&
    target.pathname === "/callback" &&
    !target.username &&
    !target.password &&
    !target.search &&
    !target.hash;
  if (!loopback) return null;
  target.searchParams.set("code", code);
  target.searchParams.set("state", request.state);
  return target.href;
}

export function startCliSignin(config) {
  const error = $("cli-error");
  const button = $("cli-button");
  const request = cliRequest(location.search);
  if (request.problem) {
    fail(error, { message: request.problem });
    show($("cli-form"), false);
    return;
  }
  $("cli-role-arn").textContent = request.role;
  $("cli-role").textContent = roleName(request.role);
  $("cli-port").textContent = String(request.port);
  config.then(
    (answer) => {
      const known = (answer.roles || []).find((role) => role.arn === request.role);
      if (known?.name) $("cli-role").textContent = known.name;
      if (!known) fail(error, { message: "This role is not available through tapgate." });
    },
    () => {},
  );
  $("cli-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    notify(error, "");
    await busy(button, "Touch your key…", async () => {
      try {
        requireWebAuthn();
        const options = await call("POST", "passkey/options", { body: { roleArn: request.role } });
        const credential = await getCredential(options.publicKey);
        const answer = await call("POST", "passkey/code", {
          body: {
            ceremonyId: options.ceremonyId,
            credential,
            roleArn: request.role,
            codeChallenge: request.challenge,
            codeChallengeMethod: "S256",
            redirectPort: request.port,
          },
        });
        const target = callbackUrl(answer.redirectUri, request, answer.code);
        if (!target) {
          fail(error, { message: "The service answered an unexpected address; nothing was sent." });
          return;
        }
        show($("cli-form"), false);
        notify($("cli-status"), "Signed in. Handing over to the tapgate CLI…", "ok");
        location.assign(target);
      } catch (problem) {
        fail(error, describe(problem, "signin"), button);
      }
    });
  });
}
