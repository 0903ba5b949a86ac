// The web page of ytdlphost: start tasks and follow them through the API (the same
// endpoints as any client), signed in by the session cookie plus Django's CSRF token.
// No framework and no build step; every message is shown in the page, never alert().
"use strict";

(function () {
  const FOREGROUND_POLL_MS = 1000; // changes appear within a second
  // With nothing waiting or running, only a task started elsewhere can change the list:
  // asked less often (this page's own actions and a return to the tab ask at once).
  const IDLE_POLL_MS = 5000;
  const BACKGROUND_POLL_MS = 15000; // a hidden tab asks far less often
  const TYPE_LABELS = {}; // "get_video" -> "Video", from the server's list of types
  const taskTypes = JSON.parse(document.getElementById("task-types").textContent);
  for (const option of taskTypes) TYPE_LABELS[option.type] = option.label;
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;

  // --- Talking to the API ----------------------------------------------------------

  class SignedOut extends Error {}

  async function api(method, path, body, headers) {
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
      signedOut();
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

  function errorOf(result) {
    if (result.data && result.data.error) return result.data.error;
    return `The server answered ${result.response.status}.`;
  }

  function signedOut() {
    stopPolling();
    setText(tasksStatus, "You were signed out; loading the sign-in page…");
    window.location.reload();
  }

  // --- Small helpers ---------------------------------------------------------------

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function setText(node, text) {
    if (node && node.textContent !== text) node.textContent = text;
  }

  function formatBytes(bytes) {
    if (bytes === null || bytes === undefined) return "";
    const units = ["bytes", "KB", "MB", "GB", "TB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1000 && unit < units.length - 1) {
      value /= 1000;
      unit += 1;
    }
    return unit === 0 ? `${value} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
  }

  function formatSeconds(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const total = Math.round(seconds);
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
  }

  function typeLabel(taskType) {
    return TYPE_LABELS[taskType] || taskType.replace(/^get_/, "").replace(/_/g, " ");
  }

  const STATUS_WORDS = { processing: "in progress", error: "failed" };
  const isLive = (taskType) => taskType.startsWith("get_live_");
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // --- The start form --------------------------------------------------------------

  const form = document.getElementById("start-form");
  const formStatus = document.getElementById("form-status");
  let qualities = null; // {url, video: [...heights], audio: [...bitrates]} once looked up

  function selectedType() {
    const value = document.getElementById("type").value;
    return taskTypes.find((option) => option.type === value);
  }

  function qualityKind(option) {
    if (option.fields.includes("video_format")) return "video";
    if (option.fields.includes("audio_format")) return "audio";
    return null;
  }

  function fillQualities() {
    const select = document.getElementById("quality");
    const kind = qualityKind(selectedType());
    const current = select.value;
    select.replaceChildren(el("option", { value: "", text: "Best" }));
    const url = document.getElementById("url").value.trim();
    if (!kind || !qualities || qualities.url !== url) return;
    for (const value of qualities[kind]) {
      const text = kind === "video" ? `${value}p` : `${Math.round(value)} kbit/s`;
      select.append(el("option", { value: String(value), text }));
    }
    if ([...select.options].some((option) => option.value === current)) select.value = current;
  }

  function showFieldsOfType() {
    const option = selectedType();
    for (const node of form.querySelectorAll("[data-for]")) {
      const name = node.dataset.for;
      const shown =
        name === "quality" ? qualityKind(option) !== null : option.fields.includes(name);
      node.hidden = !shown;
    }
    const output = document.getElementById("output_format");
    const current = output.value;
    output.replaceChildren(el("option", { value: "", text: "As the source" }));
    for (const format of option.output_formats) {
      output.append(el("option", { value: format, text: format }));
    }
    if (option.output_formats.includes(current)) output.value = current;
    fillQualities();
  }

  function clearErrors() {
    for (const node of form.querySelectorAll(".field-error")) {
      node.hidden = true;
      node.textContent = "";
    }
    for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
    setText(formStatus, "");
    formStatus.classList.remove("error");
  }

  // The API names the field of each problem ("duration: This field is required."; several
  // are joined with "; "): each is shown next to its field, the rest under the button.
  function showErrors(message) {
    const general = [];
    for (const part of message.split("; ")) {
      const match = /^([a-z_]+): (.*)$/.exec(part);
      const target = match && document.getElementById(`${match[1]}-error`);
      if (target && !target.closest("[hidden]")) {
        target.textContent = match[2];
        target.hidden = false;
        document.getElementById(match[1]).setAttribute("aria-invalid", "true");
      } else {
        general.push(part);
      }
    }
    if (general.length) {
      setText(formStatus, general.join(" "));
      formStatus.classList.add("error");
    }
    const invalid = form.querySelector("[aria-invalid]");
    if (invalid) invalid.focus();
  }

  function requestBody(option) {
    const body = { url: document.getElementById("url").value.trim() };
    for (const name of ["output_format", "start_time", "end_time", "duration", "start"]) {
      if (!option.fields.includes(name)) continue;
      const value = document.getElementById(name).value.trim();
      if (value !== "") body[name] = value;
    }
    const quality = document.getElementById("quality").value;
    const kind = qualityKind(option);
    if (quality && kind === "video") body.video_format = `bestvideo[height<=${quality}]`;
    if (quality && kind === "audio") body.audio_format = `bestaudio[abr<=${quality}]`;
    return body;
  }

  let countdownTimer = null;

  // A 429: say when the key may try again, counting down from Retry-After.
  function rateLimited(seconds, message) {
    const button = document.getElementById("start-button");
    let left = Math.max(1, seconds);
    clearInterval(countdownTimer);
    button.disabled = true;
    formStatus.classList.add("error");
    const tick = () => {
      if (left <= 0) {
        clearInterval(countdownTimer);
        button.disabled = false;
        formStatus.classList.remove("error");
        setText(formStatus, "You may start a task again.");
        return;
      }
      setText(formStatus, `Too many requests: ${message} You may try again in ${left} s.`);
      left -= 1;
    };
    tick();
    countdownTimer = setInterval(tick, 1000);
  }

  async function submitTask(event) {
    event.preventDefault();
    clearErrors();
    const option = selectedType();
    const body = requestBody(option);
    if (!body.url) {
      showErrors("url: Enter the URL of a video, a song or a live stream.");
      return;
    }
    const button = document.getElementById("start-button");
    button.disabled = true;
    setText(formStatus, "Starting…");
    let rateLimitedFor = 0;
    try {
      const result = await api("POST", option.endpoint, body);
      if (result.response.ok) {
        setText(formStatus, "Started: the task is in the list below.");
        pollNow();
      } else if (result.response.status === 429) {
        rateLimitedFor = parseInt(result.response.headers.get("Retry-After") || "60", 10);
        const text = errorOf(result).replace(/; try again in \d+ seconds?$/, ".");
        rateLimited(rateLimitedFor, text);
      } else {
        setText(formStatus, "");
        showErrors(errorOf(result));
      }
    } catch (error) {
      if (error instanceof SignedOut) return;
      setText(formStatus, "Could not reach the server; check the connection and try again.");
      formStatus.classList.add("error");
    } finally {
      if (!rateLimitedFor) button.disabled = false;
    }
  }

  // Quality: a get_info task on the URL, then its `qualities` summary.
  async function lookUpQualities() {
    const status = document.getElementById("quality-status");
    const button = document.getElementById("lookup");
    const url = document.getElementById("url").value.trim();
    clearErrors();
    if (!url) {
      showErrors("url: Enter a URL first; its qualities are then looked up.");
      return;
    }
    button.disabled = true;
    setText(status, "Looking up the qualities…");
    try {
      const created = await api("POST", "/get_info", { url });
      if (!created.response.ok) {
        setText(status, `Could not look up the qualities: ${errorOf(created)}`);
        return;
      }
      pollNow();
      const taskId = created.data.task_id;
      let task = null;
      for (let attempt = 0; attempt < 240; attempt += 1) {
        const result = await api("GET", `/status/${taskId}`);
        task = result.data;
        if (!result.response.ok || ["completed", "error"].includes(task.status)) break;
        await sleep(500);
      }
      if (!task || task.status !== "completed") {
        setText(status, `Could not look up the qualities: ${(task && task.error) || "no answer"}`);
        return;
      }
      const found = await api("GET", `${task.file}?qualities`);
      const summary = found.data.qualities;
      const heights = new Set();
      const bitrates = new Set();
      for (const format of Object.values(summary.video)) if (format.height) heights.add(format.height);
      for (const format of Object.values(summary.audio)) if (format.abr) bitrates.add(format.abr);
      qualities = {
        url,
        video: [...heights].sort((a, b) => b - a),
        audio: [...bitrates].sort((a, b) => b - a),
      };
      fillQualities();
      const count = qualities.video.length + qualities.audio.length;
      setText(
        status,
        count ? "Qualities found: choose one, or keep Best." : "No separate qualities found: Best it is."
      );
    } catch (error) {
      if (!(error instanceof SignedOut)) setText(status, "Could not look up the qualities.");
    } finally {
      button.disabled = false;
    }
  }

  if (form) {
    form.addEventListener("submit", submitTask);
    document.getElementById("type").addEventListener("change", showFieldsOfType);
    document.getElementById("url").addEventListener("input", fillQualities);
    const lookup = document.getElementById("lookup");
    if (lookup) lookup.addEventListener("click", lookUpQualities);
    showFieldsOfType();
  }

  // --- The task list ---------------------------------------------------------------

  const tasksStatus = document.getElementById("tasks-status");
  const list = document.getElementById("tasks");
  const rendered = new Map(); // task id -> {key, node}
  const notes = new Map(); // task id -> a message about the last action on it
  const infos = new Map(); // task id -> the info.json fields of a completed get_info task
  let etag = null;
  let lastTasks = [];

  function progressBar(task) {
    const progress = task.progress || {};
    const percent = progress.percent;
    const bar = el("div", {
      className: "progress",
      role: "progressbar",
      "aria-label": "Progress",
      "aria-valuemin": "0",
      "aria-valuemax": "100",
      "aria-valuenow": percent === null || percent === undefined ? null : String(percent),
      "aria-valuetext":
        percent === null || percent === undefined
          ? `${formatBytes(progress.downloaded_bytes) || "starting"}`
          : `${percent}%`,
    });
    const fill = el("div", { className: "progress-fill" });
    if (percent === null || percent === undefined) bar.classList.add("indeterminate");
    else fill.style.width = `${Math.min(100, Math.max(0, percent))}%`; // CSSOM: allowed by the CSP
    bar.append(fill);
    return bar;
  }

  function progressText(task) {
    const progress = task.progress || {};
    const parts = [];
    if (progress.percent !== null && progress.percent !== undefined) parts.push(`${progress.percent}%`);
    if (progress.downloaded_bytes) {
      parts.push(
        progress.total_bytes
          ? `${formatBytes(progress.downloaded_bytes)} of ${formatBytes(progress.total_bytes)}`
          : formatBytes(progress.downloaded_bytes)
      );
    }
    if (progress.speed) parts.push(`${formatBytes(progress.speed)}/s`);
    if (progress.eta !== null && progress.eta !== undefined) parts.push(`ETA ${formatSeconds(progress.eta)}`);
    return parts.join(" · ") || (isLive(task.task_type) ? "Recording…" : "Downloading…");
  }

  function infoDetails(task) {
    const info = infos.get(task.task_id);
    const box = el("div", { className: "info" });
    if (!info) {
      box.append(el("p", { className: "hint", text: "Loading the metadata…" }));
      loadInfo(task);
      return box;
    }
    if (info.error) {
      box.append(el("p", { className: "error", text: info.error }));
      return box;
    }
    const facts = el("dl", { className: "facts" });
    const fact = (name, value) => {
      if (value === null || value === undefined || value === "") return;
      facts.append(el("dt", { text: name }), el("dd", { text: String(value) }));
    };
    fact("Title", info.title);
    fact("Uploader", info.uploader);
    fact("Duration", info.duration ? formatSeconds(info.duration) : null);
    box.append(facts);
    if (info.thumbnail) {
      // The page loads nothing from other sites (its Content-Security-Policy): the
      // thumbnail is a link to the source's image.
      box.append(
        el("p", {}, el("a", { href: info.thumbnail, rel: "noreferrer noopener", target: "_blank", text: "Thumbnail" }))
      );
    }
    const rows = [];
    for (const [id, format] of Object.entries(info.qualities.video)) {
      rows.push([id, format.height ? `${format.height}p` : "", format.fps || "", format.vcodec || "", formatBytes(format.filesize)]);
    }
    for (const [id, format] of Object.entries(info.qualities.audio)) {
      rows.push([id, format.abr ? `${Math.round(format.abr)} kbit/s audio` : "audio", "", format.acodec || "", formatBytes(format.filesize)]);
    }
    if (rows.length) {
      const table = el("table", {});
      table.append(el("caption", { text: "Qualities" }));
      const head = el("tr", {});
      for (const name of ["Format", "Quality", "FPS", "Codec", "Size"]) head.append(el("th", { scope: "col", text: name }));
      table.append(el("thead", {}, head));
      const body = el("tbody", {});
      for (const row of rows) {
        const tr = el("tr", {});
        for (const cell of row) tr.append(el("td", { text: String(cell) }));
        body.append(tr);
      }
      table.append(body);
      box.append(el("div", { className: "table-wrap" }, table));
    } else {
      box.append(el("p", { className: "hint", text: "No qualities listed." }));
    }
    return box;
  }

  async function loadInfo(task) {
    if (infos.has(task.task_id)) return;
    infos.set(task.task_id, null);
    try {
      const result = await api("GET", `${task.file}?title&uploader&duration&thumbnail&qualities`);
      infos.set(
        task.task_id,
        result.response.ok ? result.data : { error: `Could not load the metadata: ${errorOf(result)}` }
      );
    } catch (error) {
      infos.set(task.task_id, { error: "Could not load the metadata." });
    }
    render(lastTasks);
  }

  function actionButton(task, label, handler, className) {
    const button = el("button", {
      type: "button",
      className: className || "secondary",
      "aria-describedby": `title-${task.task_id}`,
      "data-action": label,
      text: label,
    });
    button.addEventListener("click", () => handler(task, button));
    return button;
  }

  async function act(task, button, method, path, body, done) {
    button.disabled = true;
    notes.set(task.task_id, "Working…");
    render(lastTasks);
    try {
      const result = await api(method, path, body);
      notes.set(task.task_id, result.response.ok ? done : errorOf(result));
      if (result.response.status === 429) {
        const wait = result.response.headers.get("Retry-After");
        notes.set(task.task_id, `${errorOf(result).replace(/; try again in \d+ seconds?$/, "")}; try again in ${wait} s.`);
      }
    } catch (error) {
      if (error instanceof SignedOut) return;
      notes.set(task.task_id, "Could not reach the server; try again.");
    }
    pollNow();
  }

  const cancel = (task, button) => act(task, button, "POST", `/cancel/${task.task_id}`, {}, "Cancelled.");
  const keep = (task, button) =>
    act(task, button, "POST", `/cancel/${task.task_id}`, { keep: true }, "Stopping; the recording is kept.");
  const retry = (task, button) => act(task, button, "POST", `/retry/${task.task_id}`, undefined, "Started again.");
  const remove = (task, button) =>
    act(task, button, "DELETE", `/delete_task/${task.task_id}`, undefined, "Deleted.");

  function taskItem(task) {
    const unfinished = task.status === "waiting" || task.status === "processing";
    const item = el("li", { className: `task status-${task.status}`, "data-task-id": task.task_id });
    const title = el("h3", { id: `title-${task.task_id}`, className: "task-title", text: task.title || task.url });
    item.append(title);
    const statusText = task.cancelled ? "cancelled" : STATUS_WORDS[task.status] || task.status;
    item.append(el("p", { className: "task-meta", text: `${typeLabel(task.task_type)} · ${statusText}` }));
    if (task.title) item.append(el("p", { className: "task-url", text: task.url }));
    if (task.status === "processing") {
      item.append(progressBar(task));
      item.append(el("p", { className: "task-progress", text: progressText(task) }));
    }
    if (task.status === "waiting") item.append(el("p", { className: "hint", text: "Waiting for a worker…" }));
    if (task.status === "error") item.append(el("p", { className: "error", text: task.error }));
    if (task.status === "completed" && task.task_type === "get_info") item.append(infoDetails(task));
    const actions = el("div", { className: "task-actions" });
    if (task.status === "completed" && task.file) {
      if (task.task_type === "get_info") {
        actions.append(el("a", { href: task.file, className: "button-link", text: "Raw JSON" }));
      } else {
        actions.append(el("a", { href: task.file, className: "button-link", text: "Download" }));
        if (task.file_size !== null && task.file_size !== undefined) {
          actions.append(el("span", { className: "size", text: formatBytes(task.file_size) }));
        }
      }
    }
    if (task.status === "error") actions.append(actionButton(task, "Retry", retry));
    if (unfinished) {
      actions.append(actionButton(task, "Cancel", cancel));
      if (isLive(task.task_type) && task.status === "processing") {
        actions.append(actionButton(task, "Stop and keep", keep));
      }
    } else {
      actions.append(actionButton(task, "Delete", remove, "danger"));
    }
    item.append(actions);
    const note = notes.get(task.task_id);
    if (note) item.append(el("p", { className: "note", role: "status", text: note }));
    return item;
  }

  // Each item is rebuilt only when its task changed, so a focused button stays focused
  // (or its replacement of the same name takes the focus) while the list updates.
  function render(tasks) {
    lastTasks = tasks;
    if (!tasks.length) setText(tasksStatus, "No tasks yet. Paste a link above and press Start.");
    else setText(tasksStatus, `${tasks.length} task${tasks.length === 1 ? "" : "s"}, newest first.`);
    const seen = new Set();
    let previous = null;
    for (const task of tasks) {
      seen.add(task.task_id);
      const key = JSON.stringify([task, notes.get(task.task_id) || "", infos.get(task.task_id) || null]);
      let entry = rendered.get(task.task_id);
      if (!entry || entry.key !== key) {
        const node = taskItem(task);
        if (entry) {
          const focused = entry.node.contains(document.activeElement) ? document.activeElement : null;
          entry.node.replaceWith(node);
          if (focused) {
            const action = focused.dataset.action;
            const same = action && node.querySelector(`[data-action="${action}"]`);
            (same || node.querySelector("button, a") || node).focus?.();
          }
        }
        entry = { key, node };
        rendered.set(task.task_id, entry);
      }
      const expected = previous ? previous.nextSibling : list.firstChild;
      if (expected !== entry.node) list.insertBefore(entry.node, expected);
      previous = entry.node;
    }
    for (const [id, entry] of rendered) {
      if (!seen.has(id)) {
        entry.node.remove();
        rendered.delete(id);
        notes.delete(id);
      }
    }
  }

  // One request per cycle for the whole list; an unchanged list is a 304 without a body.
  // A visible page that has an ETag long-polls: the server answers when the list changes
  // or after LONG_POLL_SECONDS (a 304), and the page asks again at once, so an open page
  // costs one parked request rather than one request a second.
  const LONG_POLL_SECONDS = 25;
  let timer = null;
  let polling = true;
  let inFlight = false;
  let longPolled = false;

  async function poll() {
    clearTimeout(timer);
    if (inFlight) return;
    inFlight = true;
    const longPoll = etag !== null && !document.hidden;
    longPolled = false;
    try {
      const path = longPoll ? `/tasks?limit=50&wait=${LONG_POLL_SECONDS}` : "/tasks?limit=50";
      const result = await api("GET", path, undefined, etag ? { "If-None-Match": etag } : {});
      longPolled = longPoll && (result.response.status === 200 || result.response.status === 304);
      if (result.response.status === 200) {
        etag = result.response.headers.get("ETag");
        render(result.data.tasks);
      } else if (result.response.status !== 304) {
        setText(tasksStatus, `Could not load the tasks: ${errorOf(result)} Trying again…`);
      }
    } catch (error) {
      if (error instanceof SignedOut) return;
      setText(tasksStatus, "Could not reach the server; trying again…");
    } finally {
      inFlight = false;
    }
    schedule();
  }

  function schedule() {
    if (!polling) return;
    clearTimeout(timer);
    const busy = lastTasks.some((task) => task.status === "waiting" || task.status === "processing");
    let delay = document.hidden ? BACKGROUND_POLL_MS : busy ? FOREGROUND_POLL_MS : IDLE_POLL_MS;
    if (longPolled && !document.hidden) delay = 0; // the server did the waiting
    timer = setTimeout(poll, delay);
  }

  function pollNow() {
    if (polling) setTimeout(poll, 0);
  }

  function stopPolling() {
    polling = false;
    clearTimeout(timer);
  }

  window.addEventListener("focus", pollNow);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) pollNow();
    else schedule();
  });
  poll();
})();
