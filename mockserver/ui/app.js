// The dashboard (GET /_mock/ui): reads the control API with fetch, renders with
// textContent only (a task's fields are data, never markup), polls for live refresh.
// URLs are relative to the page, so a fake mounted below a prefix works as well.
"use strict";

const TOKEN_KEY = "freepik-mock-control-token";
const TOKEN_HEADER = "x-mock-control-token";
const NAMESPACE_HEADER = "x-freepik-mock-namespace";
// The namespace shown: ?namespace=NAME in the page's URL, or the one picked in the list.
let namespace = new URLSearchParams(location.search).get("namespace") || "default";
let selected = null; // the task id whose timeline is shown
let timer = null;

function $(id) { return document.getElementById(id); }

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) tr.appendChild(cell instanceof Node ? cell : el("td", cell));
  return tr;
}

function statusCell(status, tag = "td") { return el(tag, status, "status status-" + status); }

function clockTime(at) {
  // Unix seconds on the fake's clock, shown as UTC with milliseconds.
  return typeof at === "number" ? new Date(at * 1000).toISOString().slice(11, 23) : "";
}

function since(at, start) {
  return typeof at === "number" ? `+${(at - start).toFixed(3)} s` : "";
}

async function call(method, path, body) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers[TOKEN_HEADER] = token;
  if (namespace !== "default") headers[NAMESPACE_HEADER] = namespace;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(`${response.status}: ${data.message || response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function showState(text, isError) {
  const state = $("state");
  state.textContent = text;
  state.className = isError ? "error" : "";
}

async function refresh() {
  try {
    const params = new URLSearchParams({ order: "newest", limit: "500" });
    const wanted = $("filter-status").value;
    const contains = $("filter-id").value.trim();
    if (wanted) params.set("status", wanted);
    if (contains) params.set("task_id", contains);
    const [clock, tasks, faults, namespaces] = await Promise.all([
      call("GET", "clock"), call("GET", "tasks?" + params), call("GET", "faults"),
      call("GET", "namespaces"),
    ]);
    renderNamespaces(namespaces.data);
    $("clock").textContent = `${clock.mode} clock ${clockTime(clock.now)}`;
    renderTasks(tasks.data);
    renderFaults(faults.data);
    if (selected) renderTimeline((await call("GET", `tasks/${encodeURIComponent(selected)}/timeline`)).data);
    showState(`updated ${new Date().toLocaleTimeString()}`, false);
  } catch (error) {
    if (error.status === 404 && selected) selected = null; // reset meanwhile
    showState(error.status === 401 ? "enter the control token" : String(error.message), true);
  }
}

function renderNamespaces(namespaces) {
  const select = $("namespace");
  const names = namespaces.map((entry) => entry.namespace);
  if (!names.includes(namespace)) names.push(namespace);
  if (select.options.length === names.length
      && names.every((name, i) => select.options[i].value === name)) return;
  select.replaceChildren(...names.map((name) => {
    const option = el("option", name);
    option.value = name;
    return option;
  }));
  select.value = namespace;
}

function renderTasks(tasks) {
  const body = $("tasks").tBodies[0];
  body.replaceChildren();
  for (const task of tasks) {
    const tr = row([task.task_id, statusCell(task.status), clockTime(task.created_at),
      clockTime(task.updated_at)]);
    tr.dataset.taskId = task.task_id;
    if (task.task_id === selected) tr.className = "selected";
    tr.addEventListener("click", () => { selected = task.task_id; refresh(); });
    body.appendChild(tr);
  }
  $("tasks-empty").hidden = tasks.length > 0;
}

function renderTimeline(timeline) {
  const task = timeline.task;
  const start = task.created_at;
  $("timeline-none").hidden = true;
  $("timeline").hidden = false;
  const summary = $("task-summary");
  summary.replaceChildren();
  const fields = [["task id", task.task_id], ["status", task.status], ["outcome", task.outcome],
    ["webhook", task.webhook_url || "none"], ["failure reason", task.failure_reason],
    ["result", task.generated.join(" ")]];
  for (const [name, value] of fields) {
    if (value === null || value === "") continue;
    summary.append(el("dt", name), el("dd", value));
  }
  summary.querySelector("dd").id = "task-id";

  const statuses = $("statuses");
  statuses.replaceChildren();
  for (const change of timeline.statuses) {
    const li = el("li");
    li.append(el("span", change.status, "status status-" + change.status),
      ` at ${clockTime(change.at)} (${since(change.at, start)})`);
    if (change.reason) li.append(` reason: ${change.reason}`);
    statuses.appendChild(li);
  }

  const hooks = $("webhooks").tBodies[0];
  hooks.replaceChildren();
  for (const attempt of timeline.webhooks) {
    const answer = attempt.status_code !== null
      ? `HTTP ${attempt.status_code}` : (attempt.error || "");
    const detail = attempt.status_code !== null && attempt.error && !attempt.error.startsWith("HTTP")
      ? ` ${attempt.error}` : "";
    const tr = row([attempt.attempt, attempt.event, `${clockTime(attempt.at)} (${since(attempt.at, start)})`,
      answer + detail, el("td", attempt.outcome, "outcome-" + attempt.outcome),
      attempt.next_attempt_at ? clockTime(attempt.next_attempt_at) : ""]);
    tr.className = "attempt";
    hooks.appendChild(tr);
  }
  if (!timeline.webhooks.length) {
    hooks.appendChild(row([el("td", task.webhook_url ? "none yet" : "no webhook_url", "muted")]));
  }

  const requests = $("requests").tBodies[0];
  requests.replaceChildren();
  for (const entry of timeline.requests) {
    const query = entry.query ? "?" + entry.query : "";
    requests.appendChild(row([clockTime(entry.at), `${entry.method} ${entry.path}${query}`,
      entry.status === null ? "none" : entry.status, entry.request_id || ""]));
  }
}

function renderFaults(faults) {
  const list = $("faults");
  list.replaceChildren();
  for (const fault of faults) {
    const what = fault.drop ? "drop" : (fault.status !== null ? fault.status : `${fault.delay_ms} ms`);
    const left = fault.times === null ? "until cleared" : `${fault.times} left`;
    list.appendChild(el("li", `${fault.method} ${fault.path} -> ${what} (${left}, matched ${fault.matched})`));
  }
  if (!faults.length) list.appendChild(el("li", "none", "muted"));
}

async function act(promise) {
  try { await promise; } catch (error) { showState(String(error.message), true); return; }
  refresh();
}

function schedule() {
  if (timer) clearInterval(timer);
  const every = Number($("refresh").value);
  timer = every > 0 ? setInterval(refresh, every) : null;
}

document.addEventListener("DOMContentLoaded", () => {
  $("token").value = sessionStorage.getItem(TOKEN_KEY) || "";
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value;
    if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
    refresh();
  });
  $("namespace").addEventListener("change", () => {
    namespace = $("namespace").value;
    selected = null;
    const url = new URL(location.href);
    if (namespace === "default") url.searchParams.delete("namespace");
    else url.searchParams.set("namespace", namespace);
    history.replaceState(null, "", url);
    refresh();
  });
  $("filter-id").addEventListener("input", refresh);
  $("filter-status").addEventListener("change", refresh);
  $("refresh").addEventListener("change", schedule);
  for (const button of document.querySelectorAll("button[data-status]")) {
    button.addEventListener("click", () => {
      if (selected) {
        act(call("POST", `tasks/${encodeURIComponent(selected)}/status`, { status: button.dataset.status }));
      }
    });
  }
  $("fault-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const times = $("fault-times").value;
    act(call("POST", "faults", {
      status: Number($("fault-status").value), method: $("fault-method").value || "*",
      path: $("fault-path").value || "*", times: times ? Number(times) : null,
    }));
  });
  $("faults-clear").addEventListener("click", () => act(call("DELETE", "faults")));
  refresh();
  schedule();
});
