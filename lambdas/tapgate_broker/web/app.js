// The page's entry point: which screen to show, the tabs, and the browser support check.
//
// {apiUrl}/v1/enroll shows the enrollment screen (the token is in the fragment);
// {apiUrl}/v1/ shows sign-in and "My keys"; {apiUrl}/v1/?signin=cli&… signs in the CLI. Nothing here logs anything: the page
// handles secrets (enrollment tokens, AWS credentials) and keeps them in memory only.

import { call } from "./api.js";
import { startCliSignin } from "./cli.js";
import { startEnroll } from "./enroll.js";
import { startKeys } from "./keys.js";
import { NO_SUPPORT } from "./messages.js";
import { startSignin } from "./signin.js";
import { $, notify, show } from "./ui.js";
import { jsonSupport, webauthnAvailable } from "./webauthn.js";

function supportProblem() {
  if (!window.isSecureContext) {
    return "This page must be opened over HTTPS for security keys to work.";
  }
  return webauthnAvailable() ? null : NO_SUPPORT;
}

function setupTabs() {
  const tabs = [
    [$("tab-signin"), $("screen-signin")],
    [$("tab-keys"), $("screen-keys")],
  ];
  const select = (chosen) => {
    for (const [tab, panel] of tabs) {
      const selected = tab === chosen;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      show(panel, selected);
    }
  };
  for (const [index, [tab]] of tabs.entries()) {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const [next] = tabs[(index + step + tabs.length) % tabs.length];
      next.focus();
      select(next);
    });
  }
  show($("tabs"));
  select(tabs[0][0]);
}

/** Warn when this page's host cannot use the RP ID (e.g. 127.0.0.1 instead of localhost). */
function checkRpId(rpId) {
  const host = location.hostname;
  if (host === rpId || host.endsWith(`.${rpId}`)) return;
  notify(
    $("support"),
    `Security keys registered for ${rpId} cannot be used at ${host}. ` +
      `Open this page at an address under ${rpId}.`,
    "error",
  );
}

function main() {
  document.documentElement.dataset.webauthnJson = jsonSupport();
  const problem = supportProblem();
  if (problem) notify($("support"), problem, "error");

  const config = call("GET", "config");
  config.then((answer) => checkRpId(answer.rpId)).catch(() => {});

  if (/\/enroll\/?$/.test(location.pathname)) {
    // Opening a link again in this tab changes only the fragment, which reloads
    // nothing by itself: start over so the new (or reused) token gets checked.
    window.addEventListener("hashchange", () => {
      if (/(^#|&)token=/.test(location.hash)) location.reload();
    });
    document.title = "Register your key · tapgate";
    show($("screen-enroll"));
    startEnroll();
  } else if (new URLSearchParams(location.search).get("signin") === "cli") {
    document.title = "Sign in the tapgate CLI · tapgate";
    show($("screen-cli"));
    startCliSignin(config);
  } else {
    setupTabs();
    startSignin(config);
    startKeys();
  }
  document.documentElement.dataset.ready = "true";
}

main();
