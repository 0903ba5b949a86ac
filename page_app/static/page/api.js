// Talking to the API: the same endpoints as any client, signed in by the session cookie
// plus Django's CSRF token; the API's messages in the page's words; and what a 429's
// Retry-After means for the requests the page sends next.

const csrfToken = document.querySelector('meta[name="csrf-token"]').content;

export class SignedOut extends Error {}

let whenSignedOut = () => {};

// What the page does when the API says it is signed out (page.js: stop, and reload).
export function onSignedOut(handler) {
  whenSignedOut = handler;
}

export async function api(method, path, body, headers) {
  const init = {
    method,
    credentials: "same-origin",
    cache: "no-store",
    headers: { Accept: "application/json", ...(headers || {}) },
  };
  if (method !== "GET") init.headers["X-CSRFToken"] = csrfToken;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    // The key was deleted meanwhile (or the session ended): the page signs out.
    whenSignedOut();
    throw new SignedOut();
  }
  let data = null;
  if (response.status !== 304 && response.status !== 204) {
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
  }
  return { response, data };
}

// The API's messages are written for API clients: they name endpoints and fields. The
// page says the same in its own words, at the field concerned (`fields`: the first
// shows the text, every one is marked invalid). Any other message is shown as it is.
const PAGE_WORDS = [
  {
    api: /^The URL is a playlist: send it to \/get_playlist/,
    fields: ["url"],
    text: "This URL is a playlist: choose Playlist under Type to download its entries, or paste the URL of one video.",
  },
  {
    api: /^The URL is not a live stream; use \/get_video or \/get_audio/,
    fields: ["url"],
    text: "This URL is not a live stream: choose Video or Audio under Type.",
  },
  {
    api: /^The URL is a live stream; use \/get_live_video or \/get_live_audio/,
    fields: ["url"],
    text: "This URL is a live stream: choose Live video or Live audio under Type to record it.",
  },
  {
    api: /^end_time must be after start_time$/,
    fields: ["end_time", "start_time"],
    text: "The end must be after the start.",
  },
];

export function inPageWords(message) {
  const known = PAGE_WORDS.find((words) => words.api.test(message || ""));
  return known ? { fields: known.fields, text: known.text } : { fields: [], text: message };
}

export function errorOf(result) {
  if (result.data && result.data.error) return result.data.error;
  return `The server answered ${result.response.status}.`;
}

// --- Retry-After ------------------------------------------------------------------

// A 429 without Retry-After (the API always sends one) is taken to mean a minute.
const RETRY_AFTER_UNSAID_SECONDS = 60;

// Whole seconds until a refused request may be sent again: Retry-After is either
// seconds or an HTTP date (RFC 9110).
export function retryAfterSeconds(response) {
  const value = (response.headers.get("Retry-After") || "").trim();
  if (/^\d+$/.test(value)) return Math.max(1, parseInt(value, 10));
  const date = Date.parse(value);
  if (!Number.isNaN(date)) return Math.max(1, Math.ceil((date - Date.now()) / 1000));
  return RETRY_AFTER_UNSAID_SECONDS;
}

// A 429's message, without its own "try again in N seconds" ending: the page says when.
export function refusalOf(result) {
  return errorOf(result).replace(/; try again in \d+ seconds?\.?$/, ".");
}

// Starting a task (Start, Look up qualities, a row's Retry) counts against the key's
// request limit, so one 429 answers them all: none of them is sent before its
// Retry-After has passed. The listeners (the form's countdown, the rows' Retry buttons)
// hear when such a wait begins, with the refusal's message.
let startsRefusedUntil = 0;
const startsRefusedListeners = [];

export function startRefused(result) {
  const until = Date.now() + retryAfterSeconds(result.response) * 1000;
  startsRefusedUntil = Math.max(startsRefusedUntil, until);
  for (const listener of startsRefusedListeners) listener(refusalOf(result));
}

// Whole seconds left before a task may be started again (0: now).
export function startsRefusedFor() {
  return Math.max(0, Math.ceil((startsRefusedUntil - Date.now()) / 1000));
}

export function onStartsRefused(listener) {
  startsRefusedListeners.push(listener);
}
