/// `GET /docs`: the OpenAPI document (GET /openapi.json) rendered, each operation triable from the page:
/// "Try it" sends a GET at once; for a POST it opens an editable JSON body prefilled from the operation's
/// request example, and Send shows the status and the response body (an event stream as it arrives).
/// Self-contained like the playground (`WebPage`): no external loads, URLs relative to the service's root.
enum DocsPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Brevity API</title>
<link rel="icon" href="data:,">
<style>
:root { --bg: #fff; --fg: #222; --muted: #5b6470; --line: #d6dbe1; --panel: #f5f7f9; --get: #1f6f4a; --post: #2458a6; --focus: #2463c9;
        --ok: #1f6f4a; --bad: #9b2414; color-scheme: light dark }
@media (prefers-color-scheme: dark) {
  :root { --bg: #15181c; --fg: #e4e7eb; --muted: #9aa4af; --line: #343b44; --panel: #1d2126; --get: #4fb487; --post: #7aa7ff; --focus: #7aa7ff;
          --ok: #4fb487; --bad: #ff8f7e }
}
* { box-sizing: border-box }
[hidden] { display: none !important }
body { font: 15px/1.5 system-ui, sans-serif; max-width: 62rem; margin: 0 auto; padding: 1rem; color: var(--fg); background: var(--bg) }
a { color: var(--focus) }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .25rem 1rem }
header h1 { margin: .5rem 0 }
header nav { margin-left: auto }
h2 { margin-top: 2rem; border-bottom: 1px solid var(--line) }
.op { margin: 1rem 0; padding: .5rem 1rem .75rem; border-left: 4px solid var(--get); background: var(--panel); border-radius: 0 .375rem .375rem 0 }
.op.post { border-left-color: var(--post) }
.op h3 { font-size: 1rem; margin: .25rem 0; font-weight: 500; overflow-wrap: anywhere }
.m { font-weight: bold; text-transform: uppercase; margin-right: .5rem; color: var(--get) }
.post .m { color: var(--post) }
.codes { color: var(--muted); font-size: .85rem; margin: .25rem 0 }
input, select, textarea, button { font: inherit; color: inherit; max-width: 100% }
textarea, input, select { border: 1px solid var(--line); border-radius: .375rem; background: var(--bg); padding: .35rem .5rem }
textarea { width: 100%; min-height: 9rem; font: .85rem/1.4 ui-monospace, monospace; resize: vertical }
button { padding: .3rem .8rem; border: 1px solid var(--line); border-radius: .375rem; background: var(--bg); cursor: pointer }
button.send { background: var(--post); border-color: var(--post); color: #fff; font-weight: 600 }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px }
.panel { margin-top: .5rem }
.row { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .4rem 0 }
.status { font-weight: 600; margin: .5rem 0 0 }
.status.ok { color: var(--ok) }
.status.bad { color: var(--bad) }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: .375rem; padding: .5rem; overflow: auto; max-height: 28rem; font-size: .8rem;
      white-space: pre-wrap; overflow-wrap: anywhere; margin: .4rem 0 0 }
pre:empty { display: none }
#key-row label { font-size: .9rem }
</style>
</head>
<body>
<header>
  <h1 id="title">Brevity API</h1>
  <nav><a href="./">Playground</a> · <a href="openapi.json" id="spec-link">openapi.json</a></nav>
</header>
<p id="desc"></p>
<div class="row" id="key-row">
  <label for="api-key">Bearer key for the inference routes (when the service runs with --api-key):</label>
  <input id="api-key" type="password" autocomplete="off">
</div>
<h2>Operations</h2>
<div id="ops">Loading openapi.json…</div>
<h2>Schemas</h2>
<details><summary>components.schemas</summary><pre id="schemas"></pre></details>
<script>
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  // The service's root: this page is <root>docs (a path prefix in front is kept).
  const root = location.pathname.replace(/docs\/?$/, "");
  const url = (path) => root + path.replace(/^\//, "");
  $("spec-link").href = url("openapi.json");
  const el = (tag, props, ...children) => {
    const e = document.createElement(tag);
    Object.assign(e, props || {});
    e.append(...children);
    return e;
  };
  let doc = null;
  function resolve(node) {
    for (let n = 0; node && node.$ref && n < 16; n++) {
      node = node.$ref.replace(/^#\//, "").split("/").reduce((o, k) => (o ? o[k] : undefined), doc);
    }
    return node;
  }
  // [[name, value], ...]: the media type's example(s), else the schema's
  function examplesOf(op) {
    const body = resolve(op.requestBody);
    const media = body && body.content && body.content["application/json"];
    if (!media) return null;
    const from = (o) => {
      if (!o) return null;
      if (o.example !== undefined) return [["example", o.example]];
      if (o.examples && !Array.isArray(o.examples)) return Object.entries(o.examples).map(([k, v]) => [resolve(v).summary || k, resolve(v).value]);
      if (Array.isArray(o.examples) && o.examples.length) return o.examples.map((v, i) => ["example " + (i + 1), v]);
      return null;
    };
    return from(media) || from(resolve(media.schema)) || [["empty", {}]];
  }

  async function send(id, method, path, bodyText) {
    const status = $("status-" + id), out = $("response-" + id);
    status.className = "status";
    status.textContent = method.toUpperCase() + " " + path + " …";
    out.textContent = "";
    const headers = {};
    const key = $("api-key").value.trim();
    if (key) headers.Authorization = "Bearer " + key;
    const init = {method: method.toUpperCase(), headers};
    if (bodyText !== null) { headers["Content-Type"] = "application/json"; init.body = bodyText; }
    const t0 = performance.now();
    let r;
    try {
      r = await fetch(url(path), init);
    } catch (e) {
      status.className = "status bad";
      status.textContent = "No answer: " + (e.message || e);
      return;
    }
    const type = r.headers.get("Content-Type") || "";
    const line = () => r.status + " " + (r.statusText || "") + " · " + Math.round(performance.now() - t0) + " ms · " + (type || "no content type");
    status.className = "status " + (r.ok ? "ok" : "bad");
    status.textContent = line();
    status.dataset.status = String(r.status);
    if (type.startsWith("text/event-stream") && r.body) {
      const reader = r.body.getReader(), decoder = new TextDecoder();
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        // heartbeat comments (":") are left out
        out.textContent += decoder.decode(value, {stream: true}).replace(/^:\n\n/gm, "");
      }
      status.textContent = line();
      return;
    }
    const text = await r.text();
    if (type.includes("json")) {
      try { out.textContent = JSON.stringify(JSON.parse(text), null, 2); return; } catch (e) { /* shown as text */ }
    }
    out.textContent = text.length > 4000 ? text.slice(0, 4000) + "\n… (" + text.length + " characters)" : text;
  }

  function operation(path, method, op) {
    const id = op.operationId || (method + path).replace(/[^A-Za-z0-9]+/g, "-");
    const div = el("section", {className: "op " + method, id: "op-" + id});
    const title = el("h3", {}, el("span", {className: "m"}, method), el("code", {}, path), " — " + (op.summary || ""));
    div.append(title);
    if (op.description) div.append(el("p", {}, op.description));
    div.append(el("p", {className: "codes"}, "Responses: " + Object.keys(op.responses || {}).join(", ")));
    const examples = op.requestBody ? examplesOf(op) : null;
    const tryIt = el("button", {type: "button", id: "try-" + id, textContent: "Try it"});
    tryIt.setAttribute("aria-expanded", "false");
    tryIt.setAttribute("aria-controls", "panel-" + id);
    const panel = el("div", {className: "panel", id: "panel-" + id, hidden: true});
    const sendButton = el("button", {type: "button", className: "send", id: "send-" + id, textContent: examples ? "Send" : "Send again"});
    let body = null;
    if (examples) {
      body = el("textarea", {id: "body-" + id, spellcheck: false});
      body.value = JSON.stringify(examples[0][1], null, 2);
      const row = el("div", {className: "row"}, el("label", {htmlFor: "body-" + id, textContent: "Request body (JSON)"}));
      if (examples.length > 1) {
        const pick = el("select", {id: "example-" + id});
        pick.setAttribute("aria-label", "Example");
        examples.forEach(([name], i) => pick.append(el("option", {value: String(i), textContent: name})));
        pick.addEventListener("change", () => { body.value = JSON.stringify(examples[Number(pick.value)][1], null, 2); });
        row.append(pick);
      }
      panel.append(row, body);
      body.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); sendButton.click(); } });
    }
    const result = el("div", {id: "result-" + id},
      el("p", {className: "status", id: "status-" + id}), el("pre", {id: "response-" + id}));
    result.setAttribute("aria-live", "polite");
    panel.append(el("div", {className: "row"}, sendButton), result);
    sendButton.addEventListener("click", () => send(id, method, path, body ? body.value : null));
    tryIt.addEventListener("click", () => {
      const open = panel.hidden;
      panel.hidden = !open;
      tryIt.setAttribute("aria-expanded", String(open));
      tryIt.textContent = open ? "Hide" : "Try it";
      if (!open) return;
      if (body) body.focus(); else send(id, method, path, null);
    });
    div.append(tryIt, panel);
    return div;
  }

  fetch(url("openapi.json")).then((r) => r.json()).then((d) => {
    doc = d;
    $("title").textContent = doc.info.title + " " + doc.info.version;
    $("desc").textContent = doc.info.description;
    const ops = $("ops");
    ops.textContent = "";
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) ops.append(operation(path, method, op));
    }
    $("schemas").textContent = JSON.stringify(doc.components.schemas, null, 2);
  }).catch((e) => { $("ops").textContent = "Could not load openapi.json: " + e; });
})();
</script>
</body>
</html>
"""#
}
