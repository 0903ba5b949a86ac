// What a person can do about a failed task, by its `error_code` (docs/api.md, "Error
// codes"): a short remedy under the task's error, with a link to the manual's section
// that says more; task_rows.js asks for it with taskRemedy(task). The links lead to
// DOCS_URL (the page's #docs-url); without one, the remedy names the document and section
// instead.
import { whenText } from "./display.js";

const DEMANDING_SITES = ["production.md", "youtube-and-other-demanding-sites", "YouTube and other demanding sites"];
const CODES = ["api.md", "error-codes", "Error codes"];
// code -> [remedy, the manual's section (document, anchor, title)]
const REMEDIES = {
  unsupported_url: ["No site yt-dlp knows is at this URL, and no video or audio is on the page: check the link.", CODES],
  not_found: ["The video was removed or never existed: check the link.", CODES],
  forbidden: ["The site refused the server. Retrying seldom helps; the operator can give the server cookies or a proxy.", DEMANDING_SITES],
  login_required: ["Only signed-in viewers may watch it: the operator can give the server a signed-in account's cookies.", DEMANDING_SITES],
  bot_check: ["The site takes the server for a bot. The operator can give it an account's cookies, a JavaScript runtime and a proxy.", DEMANDING_SITES],
  age_restricted: ["Age-restricted: the operator can give the server a signed-in adult account's cookies.", DEMANDING_SITES],
  geo_blocked: ["Not available in the server's country: the operator can route the server through a proxy elsewhere.", DEMANDING_SITES],
  private: ["A private video: only an account the uploader allowed can fetch it (its cookies, set by the operator).", DEMANDING_SITES],
  live_not_started: ["The live stream has not started yet: retry once it is live.", CODES],
  rate_limited: ["The site asks the server to slow down: retry later.", DEMANDING_SITES],
  drm_protected: ["DRM-protected media cannot be downloaded.", CODES],
  format_unavailable: ["No format matches the quality asked for: choose another quality, or none.", CODES],
  site_error: ["The site failed or refused: retry later.", CODES],
  network: ["The server could not reach the site: check the link's host, then retry.", CODES],
  timeout: ["It took longer than the server allows: retry, or ask for a shorter clip.", CODES],
  too_large: ["Larger than the server allows: choose a lower quality or a shorter clip.", CODES],
  no_space: ["The server is short of disk space: retry later.", CODES],
  storage_failed: ["The server could not store the file: retry later.", CODES],
  not_allowed: ["The server does not fetch from this address.", CODES],
  invalid_request: ["Change what was asked for, as the error says.", CODES],
  conversion_failed: ["ffmpeg could not convert the download: try another output format.", CODES],
  key_rate_limited: ["This key has started as many tasks as it may for now: retry later.", CODES],
  quota_exceeded: ["This key's download allowance is used up: retry once it frees, or ask the operator for a larger one.", CODES],
  entries_failed: ["Every item failed: each item says why.", CODES],
  interrupted: ["The server stopped while running it: retry.", CODES],
  internal: ["The server failed: retry, and tell its operator if it fails again.", CODES],
};
const docsElement = document.getElementById("docs-url");
const docsUrl = docsElement ? JSON.parse(docsElement.textContent) : "";

function waitText(seconds) {
  if (!seconds) return "";
  return seconds < 120 ? ` (in ${seconds} s)` : ` (in ${Math.round(seconds / 60)} min)`;
}

function docsLink([documentName, anchor, title]) {
  if (!docsUrl) return document.createTextNode(`docs/${documentName}, “${title}”`);
  const link = document.createElement("a");
  link.href = `${docsUrl.replace(/\/$/, "")}/${documentName}#${anchor}`;
  link.rel = "noreferrer noopener";
  link.target = "_blank";
  link.textContent = title;
  return link;
}

// When a wait of `seconds` ends, with the day when it is not today's.
function freesText(seconds) {
  if (seconds < 12 * 3600) return whenText(seconds);
  const at = new Date(Date.now() + seconds * 1000);
  const day = at.toLocaleDateString([], { weekday: "short", month: "short", day: "numeric" });
  return `on ${day} at ${at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
}

function remedyText(task, text) {
  if (task.error_code === "quota_exceeded" && task.retry_after) {
    // When the allowance frees, rather than "retry later": a quota's window is long.
    return `This key's download allowance is used up; it frees ${freesText(task.retry_after)}.`;
  }
  return text.endsWith("retry later.") ? text.replace(/\.$/, `${waitText(task.retry_after)}.`) : text;
}

// A <p class="remedy"> for the failed task, or null when there is none to give.
export function taskRemedy(task) {
  const remedy = task.status === "error" && REMEDIES[task.error_code];
  if (!remedy) return null;
  const [text, section] = remedy;
  const retry = remedyText(task, text);
  const paragraph = document.createElement("p");
  paragraph.className = "remedy";
  paragraph.append(`${retry} See `, docsLink(section), ".");
  return paragraph;
}
