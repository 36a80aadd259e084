// The CSV product import: the file is checked whole by the server (every bad row reported with
// its line, the good rows grouped by product), then posted in batches of rows. A product's rows
// stay in one batch when they fit; a larger product spans batches, each carrying the product's
// first row so the server finds the product again. Each row is imported under keys derived from
// the run's upload id and the row's line, so a retried batch creates nothing twice.
import { csrfToken, say } from "./agora.js";

const form = document.getElementById("import-form");
const bar = document.getElementById("import-bar");
const counts = document.getElementById("import-counts");
const progress = document.getElementById("import-progress");
const messages = document.getElementById("import-messages");
const report = document.getElementById("import-report");
const tbody = document.getElementById("import-rows");
const start = document.getElementById("import-start");
const texts = JSON.parse(form.dataset.messages);
let runs = 0;

/** A message of the page's language with its `%(name)s` placeholders filled. */
function t(key, values = {}) {
  return texts[key].replace(/%\((\w+)\)s/g, (_, name) => String(values[name]));
}

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
    const error = new Error(document.detail || t("answered", { status: response.status }));
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
  say(counts, t("progress", { processed: done + failed, total, done, failed }));
}

/** The products' rows cut into batches of at most `size` rows, each product's share with its
 * first row's product columns. */
function batches(products, size) {
  const all = [];
  let current = [];
  let count = 0;
  const flush = () => {
    all.push(current);
    current = [];
    count = 0;
  };
  for (const product of products) {
    if (count && count + product.rows.length > size) flush();
    for (let i = 0; i < product.rows.length; ) {
      const rows = product.rows.slice(i, i + size - count);
      current.push({ line: product.line, product: product.product, rows });
      count += rows.length;
      i += rows.length;
      if (count === size) flush();
    }
  }
  if (count) flush();
  return all;
}

async function postBatch(uploadId, batch) {
  // A batch that failed in transit is sent again as it was: its rows' keys make it harmless.
  for (let attempt = 1; ; attempt++) {
    try {
      return await post("/admin/products/import/rows", { uploadId, products: batch });
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
    message(t("tooLarge", { size: Math.ceil(file.size / 1024), max: Math.floor(maxBytes / 1024) }), "error");
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
  for (const bad of checked.errors) row(bad.line, t("line", { line: bad.line, text: bad.error }), false);
  if (checked.errors.length) message(t("rowErrors", { count: checked.errors.length }), "error");
  const total = checked.rows;
  progress.hidden = false;
  let done = 0;
  let failed = 0;
  show(done, failed, total);
  if (!total) {
    say(counts, t("nothing"));
    return;
  }
  // Each run has its own keys: a file sent again is matched by slug and SKU, not replayed.
  runs += 1;
  const uploadId = `${form.dataset.uploadId}-${runs}`;
  for (const batch of batches(checked.products, Number(form.dataset.batch))) {
    let answer;
    try {
      answer = await postBatch(uploadId, batch);
    } catch (error) {
      message(t("stopped", { line: batch[0].rows[0].line, error: error.message }), "error");
      return;
    }
    for (const result of answer.results) {
      if (result.ok) {
        done += 1;
        row(result.line, t("line", { line: result.line, text: result.message }), true, `/admin/products/${result.productId}`);
      } else {
        failed += 1;
        row(result.line, t("line", { line: result.line, text: result.error }), false);
      }
    }
    show(done, failed, total);
  }
  message(t("finished", { done, failed }), failed ? "error" : "success");
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
