// The CSV product import: the file is checked whole by the server (every bad row reported with
// its line), then its good rows are posted in batches; each row is imported under keys derived
// from this page's upload id and the row's line, so a retried batch creates nothing twice.
import { csrfToken, say } from "./agora.js";

const form = document.getElementById("import-form");
const bar = document.getElementById("import-bar");
const counts = document.getElementById("import-counts");
const progress = document.getElementById("import-progress");
const messages = document.getElementById("import-messages");
const report = document.getElementById("import-report");
const tbody = document.getElementById("import-rows");
const start = document.getElementById("import-start");

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken() },
    body: JSON.stringify(body),
  });
  let document = {};
  try {
    document = await response.json();
  } catch {
    document = {};
  }
  if (!response.ok) {
    const error = new Error(document.detail || `The server answered ${response.status}.`);
    error.status = response.status;
    throw error;
  }
  return document;
}

function message(text, kind) {
  const p = document.createElement("p");
  p.className = `notice ${kind}`;
  if (kind === "error") p.setAttribute("role", "alert");
  p.textContent = text;
  messages.append(p);
}

function row(line, text, ok, href) {
  const tr = document.createElement("tr");
  const th = document.createElement("td");
  th.textContent = String(line);
  const td = document.createElement("td");
  td.className = ok ? "ok-text" : "bad-text";
  if (href) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    td.append(a);
  } else {
    td.textContent = text;
  }
  tr.dataset.line = String(line);
  tr.append(th, td);
  tbody.append(tr);
  report.hidden = false;
}

function show(done, failed, total) {
  bar.max = Math.max(total, 1);
  bar.value = done + failed;
  bar.setAttribute("aria-valuemax", String(Math.max(total, 1)));
  bar.setAttribute("aria-valuenow", String(done + failed));
  say(counts, `${done + failed} of ${total} rows processed: ${done} imported, ${failed} failed.`);
}

async function postBatch(uploadId, batch) {
  // A batch that failed in transit is sent again as it was: its rows' keys make it harmless.
  for (let attempt = 1; ; attempt++) {
    try {
      return await post("/admin/products/import/rows", { uploadId, rows: batch });
    } catch (error) {
      const retryable = !error.status || error.status >= 500 || error.status === 429;
      if (attempt >= 3 || !retryable) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

async function run(file) {
  messages.replaceChildren();
  tbody.replaceChildren();
  report.hidden = true;
  const maxBytes = Number(form.dataset.maxBytes);
  if (file.size > maxBytes) {
    message(`The file is ${Math.ceil(file.size / 1024)} KiB; at most ${Math.floor(maxBytes / 1024)} KiB.`, "error");
    return;
  }
  const text = await file.text();
  let checked;
  try {
    checked = await post("/admin/products/import/validate", { csv: text });
  } catch (error) {
    message(error.message, "error");
    return;
  }
  for (const bad of checked.errors) row(bad.line, `Line ${bad.line}: ${bad.error}`, false);
  if (checked.errors.length) {
    message(`${checked.errors.length} row(s) have errors and will not be imported (see the lines below).`, "error");
  }
  const rows = checked.rows;
  const total = rows.length;
  progress.hidden = false;
  let done = 0;
  let failed = 0;
  show(done, failed, total);
  if (!total) {
    say(counts, "No row to import.");
    return;
  }
  const size = Number(form.dataset.batch);
  const uploadId = form.dataset.uploadId;
  for (let i = 0; i < rows.length; i += size) {
    const batch = rows.slice(i, i + size);
    let answer;
    try {
      answer = await postBatch(uploadId, batch);
    } catch (error) {
      message(`Stopped at line ${batch[0].line}: ${error.message}`, "error");
      return;
    }
    for (const result of answer.results) {
      if (result.ok) {
        done += 1;
        row(result.line, `Imported: ${result.slug}`, true, `/admin/products/${result.productId}`);
      } else {
        failed += 1;
        row(result.line, `Line ${result.line}: ${result.error}`, false);
      }
    }
    show(done, failed, total);
  }
  message(`Import finished: ${done} imported, ${failed} failed.`, failed ? "error" : "success");
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = document.getElementById("import-file").files[0];
  if (!file) return;
  start.disabled = true;
  try {
    await run(file);
  } finally {
    start.disabled = false;
  }
});
