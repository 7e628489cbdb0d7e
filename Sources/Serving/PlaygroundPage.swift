/// `GET /`: paste texts (or drop .txt/.md files), choose the mode, lengths and beams, and watch the
/// summaries stream in from `POST /summarize/stream` (read from the fetch body: EventSource cannot POST),
/// with the result's tokens, latency and model, and errors as the API gives them. /health says which
/// modes and models serve.
enum PlaygroundPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Brevity playground</title>
<link rel="icon" href="data:,">
<style>
:root { --bg: #fff; --fg: #1d2127; --muted: #5b6470; --line: #d6dbe1; --panel: #f5f7f9; --accent: #1f6f4a; --accent-fg: #fff;
        --err-bg: #fdf0ef; --err-fg: #8a1f11; --err-line: #e3a59c; --focus: #2463c9; color-scheme: light dark }
@media (prefers-color-scheme: dark) {
  :root { --bg: #15181c; --fg: #e4e7eb; --muted: #9aa4af; --line: #343b44; --panel: #1d2126; --accent: #4fb487; --accent-fg: #0b1a12;
          --err-bg: #3a1c19; --err-fg: #ffb4a8; --err-line: #7c3a31; --focus: #7aa7ff }
}
* { box-sizing: border-box }
[hidden] { display: none !important }
html { -webkit-text-size-adjust: 100% }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg) }
a { color: var(--focus) }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .25rem 1rem; padding: .75rem 1rem; border-bottom: 1px solid var(--line) }
header h1 { font-size: 1.25rem; margin: 0 }
header nav { margin-left: auto }
#health { width: 100%; margin: 0; color: var(--muted); font-size: .9rem; overflow-wrap: anywhere }
#health strong { color: var(--fg); font-weight: 600 }
main { display: grid; gap: 1.25rem; padding: 1rem; max-width: 80rem; margin: 0 auto }
@media (min-width: 60rem) { main { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); align-items: start } }
h2 { font-size: 1.05rem; margin: 0 0 .5rem }
fieldset { border: 1px solid var(--line); border-radius: .5rem; margin: 0 0 1rem; padding: .5rem .75rem .75rem; min-width: 0 }
legend { padding: 0 .25rem; font-weight: 600 }
.fields { display: grid; grid-template-columns: repeat(auto-fit, minmax(8.5rem, 1fr)); gap: .5rem .75rem }
.field { display: flex; flex-direction: column; gap: .15rem; min-width: 0 }
label { font-size: .9rem; font-weight: 500 }
.hint { font-size: .8rem; color: var(--muted); margin: .25rem 0 0 }
input, select, textarea, button { font: inherit; color: inherit; max-width: 100% }
input, select, textarea { width: 100%; padding: .4rem .5rem; border: 1px solid var(--line); border-radius: .375rem; background: var(--bg) }
textarea { resize: vertical; min-height: 7rem; line-height: 1.4 }
button, .button { display: inline-flex; align-items: center; gap: .35rem; padding: .45rem .9rem; border: 1px solid var(--line); border-radius: .375rem;
                  background: var(--panel); cursor: pointer; font-size: .95rem; text-decoration: none; color: inherit }
button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-fg); font-weight: 600 }
button:disabled { opacity: .55; cursor: default }
:focus-visible, #file:focus-visible + label { outline: 3px solid var(--focus); outline-offset: 2px }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap }
.text { margin-bottom: .75rem }
.text-head { display: flex; align-items: center; gap: .5rem; margin-bottom: .2rem }
.text-head .source { color: var(--muted); font-size: .8rem; overflow-wrap: anywhere }
.text-head button { margin-left: auto; padding: .1rem .5rem; font-size: .8rem }
#texts.dragging textarea, textarea.dragging { border-color: var(--accent); border-style: dashed; background: var(--panel) }
textarea[aria-invalid="true"] { border-color: var(--err-fg) }
.row { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center }
.actions { margin-top: .25rem }
kbd { font: .8rem ui-monospace, monospace; border: 1px solid var(--line); border-radius: .25rem; padding: 0 .25rem }
#status { color: var(--muted); min-height: 1.5em; margin: 0 0 .5rem }
#error { border: 1px solid var(--err-line); background: var(--err-bg); color: var(--err-fg); border-radius: .5rem; padding: .6rem .8rem; margin-bottom: 1rem;
         overflow-wrap: anywhere }
#error p { margin: 0 }
#error code { font-weight: 600 }
.result { border: 1px solid var(--line); border-radius: .5rem; padding: .6rem .8rem; margin-bottom: .75rem; background: var(--panel) }
.result h3 { font-size: .95rem; margin: 0 0 .25rem; color: var(--muted) }
.summary { margin: 0; white-space: pre-line; overflow-wrap: anywhere; min-height: 1.5em }
.streaming .summary::after { content: "▍"; color: var(--accent); animation: blink 1s steps(1) infinite }
@keyframes blink { 50% { opacity: 0 } }
@media (prefers-reduced-motion: reduce) { .streaming .summary::after { animation: none } }
.stats { margin: .35rem 0 0; font-size: .85rem; color: var(--muted) }
#meta { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; margin: 0 0 .75rem; font-size: .9rem }
#meta div { display: flex; gap: .35rem }
#meta dt { color: var(--muted) }
#meta dd { margin: 0; font-weight: 600; overflow-wrap: anywhere }
details { margin-top: 1rem }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--panel); border: 1px solid var(--line); border-radius: .375rem; padding: .5rem;
      font-size: .8rem; margin: .5rem 0 0 }
.empty { color: var(--muted) }
</style>
</head>
<body>
<header>
  <h1>Brevity playground</h1>
  <nav><a href="docs" id="docs-link">API docs</a></nav>
  <p id="health" aria-live="polite">Reading /health…</p>
</header>
<main>
<section aria-labelledby="input-title">
  <h2 id="input-title">Texts</h2>
  <form id="form" novalidate>
    <div id="texts"></div>
    <div class="row">
      <button type="button" id="add-text">+ Add text</button>
      <input type="file" id="file" class="sr-only" accept=".txt,.md,.markdown,text/plain,text/markdown" multiple>
      <label class="button" for="file">Open .txt/.md…</label>
      <button type="button" id="sample">Sample text</button>
    </div>
    <p class="hint" id="texts-hint">Paste text, or drop .txt and .md files on a text box (a file each; more files add texts). Every text is summarized in one request.</p>
    <fieldset>
      <legend>Parameters</legend>
      <div class="fields">
        <div class="field">
          <label for="mode">Mode</label>
          <select id="mode" name="mode"><option value="">service default</option></select>
        </div>
        <div class="field">
          <label for="max-length">Max length</label>
          <input id="max-length" name="max_length" type="number" inputmode="numeric" min="1" step="1" placeholder="default">
        </div>
        <div class="field">
          <label for="min-length">Min length</label>
          <input id="min-length" name="min_length" type="number" inputmode="numeric" min="0" step="1" placeholder="default">
        </div>
        <div class="field" id="abstractive-options">
          <label for="num-beams">Beams</label>
          <input id="num-beams" name="num_beams" type="number" inputmode="numeric" min="1" step="1" placeholder="default" aria-describedby="beams-hint">
        </div>
        <div class="field" id="extractive-options" hidden>
          <label for="strategy">Strategy</label>
          <select id="strategy" name="strategy">
            <option value="">default (position)</option>
            <option value="position">position</option>
            <option value="pacsum">pacsum</option>
            <option value="centrality">centrality</option>
            <option value="lead">lead</option>
          </select>
        </div>
        <div class="field" id="sentences-option" hidden>
          <label for="num-sentences">Sentences</label>
          <input id="num-sentences" name="num_sentences" type="number" inputmode="numeric" min="1" step="1" placeholder="by length">
        </div>
      </div>
      <p class="hint" id="length-hint">Lengths count the summary's tokens. Beams: 1 streams token by token; a beam search streams each token once all its beams agree on it.</p>
      <p class="hint sr-only" id="beams-hint">1 streams token by token</p>
    </fieldset>
    <details id="settings">
      <summary>API key</summary>
      <div class="field">
        <label for="api-key">Bearer key (when the service runs with --api-key)</label>
        <input id="api-key" type="password" autocomplete="off">
      </div>
    </details>
    <div class="row actions">
      <button type="submit" id="submit" class="primary">Summarize</button>
      <button type="button" id="stop" disabled>Stop</button>
      <span class="hint" id="shortcut"><kbd>Ctrl</kbd>/<kbd>⌘</kbd>+<kbd>Enter</kbd> summarizes, <kbd>Esc</kbd> stops</span>
    </div>
  </form>
</section>
<section aria-labelledby="output-title" id="output" data-state="idle">
  <h2 id="output-title">Summaries</h2>
  <p id="status" role="status"></p>
  <div id="error" role="alert" hidden>
    <p><strong id="error-status"></strong> <span id="error-type"></span></p>
    <p id="error-detail"><code id="error-field"></code><span id="error-sep"></span><span id="error-message"></span></p>
  </div>
  <dl id="meta" hidden>
    <div><dt>latency</dt><dd id="meta-latency"></dd></div>
    <div><dt>first token</dt><dd id="meta-first"></dd></div>
    <div><dt>tokens</dt><dd id="meta-tokens"></dd></div>
    <div><dt>model</dt><dd id="meta-model"></dd></div>
    <div><dt>mode</dt><dd id="meta-mode"></dd></div>
  </dl>
  <div id="results" aria-live="polite" aria-busy="false"><p class="empty">Summaries appear here as they stream in.</p></div>
  <details id="request">
    <summary>Request</summary>
    <pre id="request-curl"></pre>
  </details>
</section>
</main>
<script>
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  // The page is served at the service's root; behind a path prefix it may be reached without the slash.
  const root = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
  const url = (path) => root + path;
  $("docs-link").href = url("docs");
  const textsEl = $("texts"), form = $("form"), modeEl = $("mode");
  let health = null, running = null;
  const sample = "The city council approved a new budget on Tuesday, raising spending on schools and roads by eight percent. " +
    "The mayor said the plan would add two hundred teachers and repair forty bridges over the next three years. " +
    "Critics on the council argued that the increase relies on a property tax rise that many families cannot afford. " +
    "The budget takes effect in July after a final public hearing.";

  // ---- /health: model, device, dtype and the modes served
  function showHealth(h) {
    const el = $("health");
    el.textContent = "";
    const part = (label, value, id) => {
      if (value === undefined || value === null || value === "") return;
      if (el.childNodes.length) el.append(" · ");
      el.append(label + " ");
      const s = document.createElement("strong");
      if (id) s.id = id;
      s.textContent = value;
      el.append(s);
    };
    const models = h.models || {};
    part("model", h.model, "model");
    for (const m of ["abstractive", "extractive"]) if (models[m] && models[m] !== h.model) part(m, models[m], "model-" + m);
    part("device", h.gpu ? h.device + " (" + h.gpu + ")" : h.device, "device");
    part("dtype", h.dtype, "dtype");
    part("modes", (h.modes || []).join(", "), "modes");
    if (h.ready === false) part("status", h.warmup_error ? "not ready: " + h.warmup_error : "loading", "ready");
  }
  function setModes(h) {
    const modes = h && Array.isArray(h.modes) && h.modes.length ? h.modes : null;
    if (!modes) return;
    modeEl.textContent = "";
    for (const m of modes) {
      const o = document.createElement("option");
      o.value = m;
      o.textContent = m;
      modeEl.append(o);
    }
    modeEl.value = modes.includes(h.mode) ? h.mode : modes[0];
    modeEl.disabled = modes.length < 2;
    modeChanged();
  }
  async function loadHealth() {
    try {
      const r = await fetch(url("health"), {headers: {Accept: "application/json"}});
      health = await r.json();
      showHealth(health);
      setModes(health);
      if (health.ready === false) setTimeout(loadHealth, 2000);
    } catch (e) {
      $("health").textContent = "Could not read /health: " + e.message;
    }
  }
  function currentMode() { return modeEl.value || (health && health.mode) || "abstractive"; }
  function modeChanged() {
    const extractive = currentMode() === "extractive";
    $("abstractive-options").hidden = extractive;
    $("extractive-options").hidden = !extractive;
    $("sentences-option").hidden = !extractive;
    $("length-hint").textContent = extractive
      ? "Extractive: whole sentences of the text. Sentences, else lengths as a budget of the embedding model's tokens, else 3 sentences."
      : "Lengths count the summary's tokens. Beams: 1 streams token by token; a beam search streams each token once all its beams agree on it.";
  }
  modeEl.addEventListener("change", modeChanged);

  // ---- texts: one box each, files dropped or opened
  function textBoxes() { return Array.from(textsEl.querySelectorAll("textarea")); }
  function addText(value, source) {
    const i = textBoxes().length;
    const wrap = document.createElement("div");
    wrap.className = "text";
    const head = document.createElement("div");
    head.className = "text-head";
    const label = document.createElement("label");
    label.htmlFor = "text-" + i;
    label.textContent = "Text " + (i + 1);
    const src = document.createElement("span");
    src.className = "source";
    src.id = "source-" + i;
    src.textContent = source ? "from " + source : "";
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", "Remove text " + (i + 1));
    remove.addEventListener("click", () => removeText(wrap));
    head.append(label, src, remove);
    const ta = document.createElement("textarea");
    ta.id = "text-" + i;
    ta.rows = 7;
    ta.value = value || "";
    ta.placeholder = "Paste the text to summarize, or drop a .txt or .md file here";
    ta.setAttribute("aria-describedby", "texts-hint");
    ta.addEventListener("input", () => ta.removeAttribute("aria-invalid"));
    ta.addEventListener("dragover", (e) => { if (hasFiles(e)) { e.preventDefault(); ta.classList.add("dragging"); } });
    ta.addEventListener("dragleave", () => ta.classList.remove("dragging"));
    ta.addEventListener("drop", (e) => {
      ta.classList.remove("dragging");
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.stopPropagation();
      loadFiles(e.dataTransfer.files, textBoxes().indexOf(ta));
    });
    wrap.append(head, ta);
    textsEl.append(wrap);
    renumber();
    return ta;
  }
  function removeText(wrap) {
    const boxes = textBoxes();
    if (boxes.length < 2) { boxes[0].value = ""; $("source-0").textContent = ""; boxes[0].focus(); return; }
    const at = boxes.indexOf(wrap.querySelector("textarea"));
    wrap.remove();
    renumber();
    const left = textBoxes();
    left[Math.min(at, left.length - 1)].focus();
  }
  function renumber() {
    textsEl.querySelectorAll(".text").forEach((wrap, i) => {
      const ta = wrap.querySelector("textarea"), label = wrap.querySelector("label"), src = wrap.querySelector(".source");
      ta.id = "text-" + i;
      label.htmlFor = ta.id;
      label.textContent = "Text " + (i + 1);
      src.id = "source-" + i;
      const remove = wrap.querySelector("button.remove");
      remove.setAttribute("aria-label", "Remove text " + (i + 1));
    });
  }
  function hasFiles(e) { return e.dataTransfer && Array.from(e.dataTransfer.types || []).includes("Files"); }
  const textFile = (f) => /\.(txt|md|markdown|text)$/i.test(f.name) || /^text\//.test(f.type);
  async function loadFiles(files, at) {
    clearError();
    const list = Array.from(files || []);
    const refused = list.filter((f) => !textFile(f)).map((f) => f.name);
    let boxes = textBoxes();
    let target = at >= 0 ? at : boxes.findIndex((b) => !b.value.trim());
    for (const f of list.filter(textFile)) {
      const text = await f.text();
      boxes = textBoxes();
      let ta;
      if (target >= 0 && target < boxes.length) ta = boxes[target]; else ta = addText();
      ta.value = text;
      ta.removeAttribute("aria-invalid");
      $("source-" + textBoxes().indexOf(ta)).textContent = "from " + f.name;
      boxes = textBoxes();
      target = boxes.findIndex((b, i) => i > boxes.indexOf(ta) && !b.value.trim());
      if (target < 0) target = boxes.length;
    }
    if (refused.length) showError({type: "unsupported_file", field: null, message: "only .txt and .md files can be read: " + refused.join(", ")}, "file");
  }
  textsEl.addEventListener("dragover", (e) => { if (hasFiles(e)) { e.preventDefault(); textsEl.classList.add("dragging"); } });
  textsEl.addEventListener("dragleave", (e) => { if (!textsEl.contains(e.relatedTarget)) textsEl.classList.remove("dragging"); });
  textsEl.addEventListener("drop", (e) => {
    textsEl.classList.remove("dragging");
    if (!hasFiles(e)) return;
    e.preventDefault();
    loadFiles(e.dataTransfer.files, -1);
  });
  $("file").addEventListener("change", (e) => { loadFiles(e.target.files, -1).then(() => { e.target.value = ""; }); });
  $("add-text").addEventListener("click", () => addText().focus());
  $("sample").addEventListener("click", () => {
    const boxes = textBoxes();
    const ta = boxes.find((b) => !b.value.trim()) || addText();
    ta.value = sample;
    $("source-" + textBoxes().indexOf(ta)).textContent = "sample";
    ta.focus();
  });

  // ---- the request
  function intField(id) {
    const v = $(id).value.trim();
    return v === "" ? undefined : Number(v);
  }
  function requestBody() {
    const body = {texts: textBoxes().map((t) => t.value)};
    const mode = modeEl.value;
    if (mode) body.mode = mode;
    const put = (name, value) => { if (value !== undefined) body[name] = value; };
    put("max_length", intField("max-length"));
    put("min_length", intField("min-length"));
    if (currentMode() === "extractive") {
      if ($("strategy").value) body.strategy = $("strategy").value;
      put("num_sentences", intField("num-sentences"));
    } else {
      put("num_beams", intField("num-beams"));
    }
    return body;
  }
  function showRequest(body) {
    const where = new URL(url("summarize/stream"), location.href).href;
    const json = JSON.stringify(body);
    $("request-curl").textContent = "curl -N " + where + " -H 'Content-Type: application/json' -d '" + json.replace(/'/g, "'\\''") + "'";
  }

  // ---- results and errors
  function clearError() {
    $("error").hidden = true;
    textBoxes().forEach((t) => t.removeAttribute("aria-invalid"));
  }
  // err: the API's {"type", "field", "message"}; status: the HTTP status, or where the error came from
  function showError(err, status) {
    $("error-status").textContent = typeof status === "number" ? String(status) : (status || "error");
    $("error-type").textContent = err.type || "";
    $("error-field").textContent = err.field || "";
    $("error-sep").textContent = err.field ? ": " : "";
    $("error-message").textContent = err.message || "";
    $("error").hidden = false;
    const m = /^(?:texts|inputs)\[(\d+)\]$/.exec(err.field || "");
    const box = m && textBoxes()[Number(m[1])];
    if (box) box.setAttribute("aria-invalid", "true");
    if (box && !running) box.focus();
  }
  function slots(n) {
    const results = $("results");
    results.textContent = "";
    const out = [];
    for (let i = 0; i < n; i++) {
      const sec = document.createElement("section");
      sec.className = "result streaming";
      sec.id = "result-" + i;
      const h = document.createElement("h3");
      h.id = "result-title-" + i;
      h.textContent = "Summary " + (i + 1);
      sec.setAttribute("aria-labelledby", h.id);
      const p = document.createElement("p");
      p.className = "summary";
      p.id = "summary-" + i;
      const stats = document.createElement("p");
      stats.className = "stats";
      stats.id = "stats-" + i;
      sec.append(h, p, stats);
      results.append(sec);
      out.push({sec, p, stats, tokens: 0});
    }
    return out;
  }
  function setState(state) {
    $("output").dataset.state = state;
    const busy = state === "streaming";
    $("results").setAttribute("aria-busy", String(busy));
    $("submit").disabled = busy;
    $("stop").disabled = !busy;
  }
  const ms = (x) => (x < 10 ? x.toFixed(1) : Math.round(x)) + " ms";

  async function showHTTPError(r) {
    const text = await r.text();
    let err;
    try { err = JSON.parse(text).error; } catch (e) { err = null; }
    if (!err || typeof err !== "object") err = {type: r.statusText || "http_error", field: null, message: text.slice(0, 500)};
    const retry = r.headers.get("Retry-After");
    if (retry) err = Object.assign({}, err, {message: (err.message || "") + " (retry after " + retry + " s)"});
    showError(err, r.status);
  }

  // Server-Sent Events from a fetch body: blocks separated by a blank line, "event:" and "data:" lines,
  // ":" comments (the service's heartbeats) skipped.
  async function readEvents(body, onEvent) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    const dispatch = (block) => {
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line === "" || line[0] === ":") continue;
        const c = line.indexOf(":");
        const field = c < 0 ? line : line.slice(0, c);
        let value = c < 0 ? "" : line.slice(c + 1);
        if (value[0] === " ") value = value.slice(1);
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
      }
      if (data.length) onEvent(event, data.join("\n"));
    };
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true}).replace(/\r\n?/g, "\n");
      let k;
      while ((k = buffer.indexOf("\n\n")) >= 0) {
        dispatch(buffer.slice(0, k));
        buffer = buffer.slice(k + 2);
      }
    }
    buffer += decoder.decode();
    if (buffer.trim()) dispatch(buffer);
  }

  async function summarize() {
    if (running) return;
    clearError();
    const body = requestBody();
    showRequest(body);
    const out = slots(body.texts.length);
    $("meta").hidden = true;
    const controller = new AbortController();
    running = controller;
    setState("streaming");
    $("status").textContent = "Summarizing " + body.texts.length + (body.texts.length === 1 ? " text…" : " texts…");
    // one column (a phone): bring the summaries into view
    if (window.matchMedia("(max-width: 60rem)").matches) $("output").scrollIntoView({block: "start"});
    const t0 = performance.now();
    let first = null, finished = false;
    const headers = {"Content-Type": "application/json", Accept: "text/event-stream"};
    const key = $("api-key").value.trim();
    if (key) headers.Authorization = "Bearer " + key;
    try {
      const r = await fetch(url("summarize/stream"), {method: "POST", headers, body: JSON.stringify(body), signal: controller.signal});
      if (!r.ok) {
        await showHTTPError(r);
        $("results").textContent = "";
        $("status").textContent = "The service answered " + r.status + ".";
        setState("error");
        finished = true;
        return;
      }
      await readEvents(r.body, (event, data) => {
        let d;
        try { d = JSON.parse(data); } catch (e) { return; }
        if (event === "token") {
          const slot = out[d.index];
          if (!slot) return;
          if (first === null) first = performance.now() - t0;
          slot.p.textContent += d.text;
          slot.tokens += (d.token_ids || []).length;
        } else if (event === "result") {
          finished = true;
          showResult(d, out, first, performance.now() - t0);
        } else if (event === "error") {
          finished = true;
          out.forEach((s) => s.sec.classList.remove("streaming"));
          showError(d.error || {type: "error", message: data}, "stream error");
          $("status").textContent = "The stream ended with an error.";
          setState("error");
        }
      });
      if (!finished) {
        showError({type: "incomplete", field: null, message: "the stream ended without a result"}, "stream");
        setState("error");
      }
    } catch (e) {
      out.forEach((s) => s.sec.classList.remove("streaming"));
      if (controller.signal.aborted) {
        $("status").textContent = "Stopped.";
        setState("stopped");
      } else {
        showError({type: "network", field: null, message: e.message || String(e)}, "no answer");
        $("status").textContent = "";
        setState("error");
      }
    } finally {
      running = null;
      if ($("output").dataset.state === "streaming") setState("error");
    }
  }

  function showResult(d, out, first, total) {
    const summaries = d.summaries || [];
    let generated = 0, input = 0;
    summaries.forEach((s, i) => {
      const slot = out[i];
      if (!slot) return;
      slot.sec.classList.remove("streaming");
      slot.p.textContent = s.text;   // the result's text is the summary; the tokens streamed add up to it
      const parts = [];
      if (s.input_tokens !== undefined) { parts.push(s.input_tokens + " input tokens"); input += s.input_tokens; }
      if (s.generated_tokens !== undefined) { parts.push(s.generated_tokens + " generated"); generated += s.generated_tokens; }
      if (s.sentences) parts.push(s.sentences.length + " of " + s.input_sentences + " sentences");
      if (s.truncated) parts.push("input truncated to the model's window");
      slot.stats.textContent = parts.join(" · ");
    });
    $("meta-latency").textContent = d.latency_ms !== undefined ? ms(d.latency_ms) : ms(total);
    $("meta-first").textContent = first === null ? "–" : ms(first);
    $("meta-tokens").textContent = input + " in" + (summaries.some((s) => s.generated_tokens !== undefined) ? " / " + generated + " out" : "");
    $("meta-model").textContent = (d.model || "") + (d.device ? " (" + d.device + ")" : "");
    $("meta-mode").textContent = d.mode || currentMode();
    $("meta").hidden = false;
    $("status").textContent = summaries.length + (summaries.length === 1 ? " summary" : " summaries") + " in " + ms(total) + ".";
    setState("done");
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); summarize(); });
  $("stop").addEventListener("click", () => { if (running) running.abort(); });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); summarize(); }
    else if (e.key === "Escape" && running) { running.abort(); }
  });

  addText();
  modeChanged();
  loadHealth();
})();
</script>
</body>
</html>
"""#
}
