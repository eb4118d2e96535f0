// Small DOM helpers shared by the screens. Text goes in through textContent only.

import { waitFor } from "./messages.js";

export function $(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`missing element #${id}`);
  return element;
}

export function show(element, visible = true) {
  element.hidden = !visible;
}

/** Build an element with text; no HTML parsing anywhere. */
export function el(tag, { text, className, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

/** A notice paragraph: set its text and kind ("error", "ok", "info"), or hide it. */
export function notify(element, message, kind = "info") {
  element.classList.remove("error", "ok", "info");
  if (!message) {
    element.textContent = "";
    show(element, false);
    return;
  }
  element.classList.add(kind);
  element.textContent = message;
  show(element, true);
}

/**
 * Mark a button busy while ``work`` runs: disabled, its label replaced by ``busyLabel``.
 * Answers what ``work`` answers; always restores the button.
 */
export async function busy(button, busyLabel, work) {
  const label = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = busyLabel;
  try {
    return await work();
  } finally {
    button.textContent = label;
    button.removeAttribute("aria-busy");
    if (!button.dataset.waitUntil) button.disabled = false;
  }
}

/**
 * Show a failure; after a 429 or 503 keep ``button`` disabled and count the wait down
 * in the message, so a person sees when trying again makes sense.
 */
export function fail(element, described, button) {
  notify(element, described.message, "error");
  if (!button || !described.retryAfter) return;
  const until = Date.now() + described.retryAfter * 1000;
  button.dataset.waitUntil = String(until);
  button.disabled = true;
  const tick = () => {
    const left = Math.ceil((until - Date.now()) / 1000);
    if (left <= 0) {
      delete button.dataset.waitUntil;
      button.disabled = false;
      notify(element, "You can try again now.", "info");
      return;
    }
    element.textContent = described.message.replace(/Wait \d+ seconds?/, `Wait ${waitFor(left)}`);
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** A <time> element for an ISO timestamp, or ``fallback`` text when there is none. */
export function timeElement(iso, fallback = "never") {
  const when = iso ? new Date(iso) : null;
  if (!when || Number.isNaN(when.getTime())) return el("span", { text: fallback });
  return el("time", { text: dateTime.format(when), attrs: { datetime: when.toISOString() } });
}

export function formatDateTime(date) {
  return dateTime.format(date);
}

/** "in 59 minutes", "in 2 hours", "in 3 days", "1 minute ago". */
export function fromNow(date, now = Date.now()) {
  const minutes = Math.round((date.getTime() - now) / 60000);
  if (Math.abs(minutes) < 90) return relative.format(minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (Math.abs(hours) < 48) return relative.format(hours, "hour");
  return relative.format(Math.round(hours / 24), "day");
}

/** Copy text; Clipboard API first, then a selection of ``source`` and execCommand. */
export async function copyText(text, source) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    const copied = document.execCommand("copy");
    selection.removeAllRanges();
    return copied;
  }
}
