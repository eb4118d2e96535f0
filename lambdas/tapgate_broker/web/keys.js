// Screen (3): list my keys and remove one. Each step is one "manage" passkey ceremony:
// passkey/options {purpose: "manage"} -> touch -> passkey/credentials/list, and again
// for DELETE passkey/credentials/{id}. Removing asks for a confirmation first.

import { call } from "./api.js";
import { describe } from "./messages.js";
import { $, busy, el, fail, notify, show, timeElement } from "./ui.js";
import { getCredential, requireWebAuthn } from "./webauthn.js";

/** One manage ceremony: the {ceremonyId, credential} body the manage routes take. */
async function manageAssertion() {
  requireWebAuthn();
  const options = await call("POST", "passkey/options", { body: { purpose: "manage" } });
  const credential = await getCredential(options.publicKey);
  return { ceremonyId: options.ceremonyId, credential };
}

export function startKeys() {
  const button = $("keys-button");
  const error = $("keys-error");
  button.addEventListener("click", async () => {
    notify(error, "");
    notify($("keys-status"), "");
    const listed = await busy(button, "Touch your key…", async () => {
      try {
        const answer = await call("POST", "passkey/credentials/list", {
          body: await manageAssertion(),
        });
        renderKeys(answer);
        return true;
      } catch (problem) {
        fail(error, describe(problem, "manage"), button);
        return false;
      }
    });
    if (listed) button.textContent = "Show my keys again";
  });
}

function renderKeys(answer) {
  $("keys-user").textContent = answer.userName;
  const list = $("keys-list");
  list.replaceChildren(...answer.credentials.map(keyItem));
  updateEmpty();
  show($("keys"));
}

function updateEmpty() {
  const items = $("keys-list").querySelectorAll("li.key");
  show($("keys-empty"), items.length === 0);
  for (const item of items) {
    item.querySelector(".only-key").hidden = items.length !== 1;
  }
}

function keyItem(summary) {
  const name = summary.nickname || "Unnamed key";
  const remove = el("button", { className: "danger remove", text: "Remove", attrs: { type: "button" } });
  const confirm = el("button", {
    className: "danger confirm-remove",
    text: "Yes, remove it",
    attrs: { type: "button" },
  });
  const keep = el("button", { className: "secondary keep", text: "Keep it", attrs: { type: "button" } });
  const question = el("div", { className: "confirm", attrs: { role: "group" } }, [
    el("p", { text: `Remove “${name}”? You will confirm with one of your keys.` }),
    el("p", {
      className: "only-key hint",
      text: "This is your only key: without it you need a new enrollment link to sign in.",
    }),
    el("div", { className: "actions" }, [confirm, keep]),
  ]);
  question.hidden = true;
  const error = el("p", { className: "notice error key-error", attrs: { role: "alert" } });
  error.hidden = true;
  const details = el("dl", { className: "key-details" }, [
    el("dt", { text: "Added" }),
    el("dd", {}, [timeElement(summary.createdAt, "unknown")]),
    el("dt", { text: "Last used" }),
    el("dd", {}, [timeElement(summary.lastUsedAt, "never")]),
  ]);
  if (summary.backupEligible) {
    details.append(el("dt", { text: "Kind" }), el("dd", { text: "synced passkey" }));
  }
  if (summary.assurance) {
    // The level a role may require (synced, device-bound, certified) and why.
    details.append(
      el("dt", { text: "Assurance" }),
      el("dd", {
        className: "key-assurance",
        text: summary.assuranceReason
          ? `${summary.assurance} (${summary.assuranceReason})`
          : summary.assurance,
      }),
    );
  }
  if (summary.authenticator) {
    // Shown only when the key's attestation proved its model (with its AAGUID).
    details.append(
      el("dt", { text: "Model" }),
      el("dd", { text: `${summary.authenticator} (AAGUID ${summary.aaguid})` }),
    );
  }
  const item = el(
    "li",
    { className: "key", attrs: { "data-credential-id": summary.credentialId } },
    [el("p", { className: "key-name", text: name }), details, remove, question, error],
  );

  remove.addEventListener("click", () => {
    show(question);
    show(remove, false);
    confirm.focus();
  });
  keep.addEventListener("click", () => {
    show(question, false);
    show(remove);
    notify(error, "");
    remove.focus();
  });
  confirm.addEventListener("click", async () => {
    notify(error, "");
    await busy(confirm, "Touch your key…", async () => {
      try {
        const body = await manageAssertion();
        const id = encodeURIComponent(summary.credentialId);
        await call("DELETE", `passkey/credentials/${id}`, { body });
        item.remove();
        updateEmpty();
        notify($("keys-status"), `Removed “${name}”.`, "ok");
      } catch (problem) {
        fail(error, describe(problem, "manage"), confirm);
      }
    });
  });
  return item;
}
