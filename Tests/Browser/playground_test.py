#!/usr/bin/env python3
"""Browser test of the playground (GET /) and the interactive /docs of a running Brevity service.

Usage: playground_test.py BASE_URL [--screenshot FILE [--screenshot-mode MODE] [--screenshot-text FILE ...]]
(scripts/browser-test.sh starts a service and runs it)

Headless Debian chromium through chromium-driver (CHROMIUM and CHROMEDRIVER name other binaries). It starts
nothing itself. Each step prints "ok" with its time; the first failure prints "FAIL", what the page showed,
and exits 1.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

TEXT_A = ("The city council approved a new budget on Tuesday, raising spending on schools and roads by eight percent. "
          "The mayor said the plan would add two hundred teachers and repair forty bridges over the next three years. "
          "Critics on the council argued that the increase relies on a property tax rise that many families cannot afford. "
          "The budget takes effect in July after a final public hearing.")
TEXT_B = ("Scientists reported that the comet will pass close to Earth next month and should be visible to the naked eye. "
          "It last came this near more than six thousand years ago. Observers in the northern hemisphere will see it best "
          "just after sunset, low on the western horizon. Astronomers expect its tail to brighten as it nears the sun.")
TIMEOUT = 60


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def http(base, path, body=None):
    """(status, parsed JSON) of GET or POST base+path."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"} if body is not None else {})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return r.status, json.loads(r.read()), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null"), dict(e.headers)


class Playground:
    def __init__(self, base, screenshot, screenshot_mode=None, screenshot_texts=None):
        self.base = base if base.endswith("/") else base + "/"
        self.screenshot = screenshot
        self.screenshot_mode = screenshot_mode
        self.screenshot_texts = screenshot_texts or [TEXT_A, TEXT_B]
        options = Options()
        options.binary_location = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser") or ""
        check(options.binary_location, "no chromium binary (apt-get install chromium, or set CHROMIUM)")
        for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000",
                    "--lang=en-US", "--no-first-run", "--disable-extensions"]:
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver_path = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
        check(driver_path, "no chromedriver binary (apt-get install chromium-driver, or set CHROMEDRIVER)")
        self.driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
        self.driver.set_page_load_timeout(TIMEOUT)
        self.health = None

    # ---- helpers
    def el(self, id_):
        return self.driver.find_element(By.ID, id_)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def text_of(self, id_):
        """textContent, exactly (WebElement.text trims and folds whitespace)."""
        return self.js("const e = document.getElementById(arguments[0]); return e ? e.textContent : null;", id_)

    def wait(self, what, condition, timeout=TIMEOUT):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(lambda d: condition())
        except TimeoutException:
            raise Failure(f"timed out after {timeout} s waiting for {what}")

    def state(self):
        return self.js("return document.getElementById('output').dataset.state;")

    def select_mode(self, mode):
        if self.el("mode").is_enabled():
            Select(self.el("mode")).select_by_value(mode)
        check(self.el("mode").get_attribute("value") == mode, f"#mode is not {mode}")

    def set_value(self, id_, value):
        e = self.el(id_)
        e.clear()
        if value:
            e.send_keys(value)

    def fill(self, id_, value):
        """Sets a long text at once (typing it is what stream_abstractive does)."""
        self.js("const e = document.getElementById(arguments[0]); e.value = arguments[1];"
                "e.dispatchEvent(new Event('input', {bubbles: true}));", id_, value)

    def request_body(self):
        """The JSON body the page sent, from its curl line (#request-curl)."""
        curl = self.text_of("request-curl")
        start = curl.index(" -d '") + len(" -d '")
        return json.loads(curl[start:-1].replace("'\\''", "'"))

    def watch_summary(self):
        """Records every text #summary-0 shows (each token event replaces its text node)."""
        self.js("""
            window.__seen = [];
            const seen = window.__seen;
            new MutationObserver((records) => {
              for (const r of records) for (const n of r.addedNodes) if (n.nodeType === 3) seen.push(n.data);
            }).observe(document.getElementById('results'), {childList: true, subtree: true});""")

    def summarize(self, keyboard=False):
        """Submits (Ctrl+Enter or the button) and waits for the result; returns the request body sent."""
        if keyboard:
            self.el("text-0").send_keys(Keys.CONTROL, Keys.ENTER)
        else:
            self.el("submit").click()
        self.wait("the stream to start", lambda: self.state() != "idle")
        self.wait("the result event (#output data-state done)", lambda: self.state() in ("done", "error", "stopped"))
        if self.state() != "done":
            raise Failure(f"the page shows {self.state()}: {self.describe_error()}")
        return self.request_body()

    def describe_error(self):
        return " ".join(filter(None, (self.text_of(i) for i in ("error-status", "error-type", "error-field", "error-message"))))

    def compare_with_api(self, body):
        """The page's summaries equal POST /summarize's for the body it sent."""
        status, api, _ = http(self.base, "summarize", body)
        check(status == 200, f"POST /summarize answered {status}: {api}")
        for i, s in enumerate(api["summaries"]):
            shown = self.text_of(f"summary-{i}")
            check(shown == s["text"], f"summary {i}: the page shows {shown!r}, POST /summarize gives {s['text']!r}")
            stats = self.text_of(f"stats-{i}")
            check(f"{s['input_tokens']} input tokens" in stats, f"summary {i}: stats {stats!r} lack input_tokens {s['input_tokens']}")
            if "generated_tokens" in s:
                check(f"{s['generated_tokens']} generated" in stats, f"summary {i}: stats {stats!r} lack generated_tokens")
        check(self.text_of(f"summary-{len(api['summaries'])}") is None, "more summaries shown than texts sent")
        model = self.text_of("meta-model")
        check(api["model"] in model, f"#meta-model {model!r} does not name {api['model']}")
        check(self.text_of("meta-latency").endswith(" ms"), "no latency shown")
        return api

    def log_problems(self):
        """Console messages about the Content-Security-Policy or loads from elsewhere."""
        logs = self.driver.get_log("browser")
        return [e["message"] for e in logs if "Content Security Policy" in e["message"] or "Refused to" in e["message"]]

    def external_loads(self):
        return self.js("""const o = location.origin;
            return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(o) && !n.startsWith('data:'));""")

    # ---- the steps
    def load(self):
        status, self.health, _ = http(self.base, "health")
        check(status == 200, f"GET /health answered {status}")
        with urllib.request.urlopen(self.base, timeout=TIMEOUT) as r:
            csp = r.headers.get("Content-Security-Policy", "")
            check(r.headers.get("Content-Type") == "text/html; charset=utf-8", f"GET / Content-Type {r.headers.get('Content-Type')}")
        check("default-src 'none'" in csp and "connect-src 'self'" in csp, f"GET / Content-Security-Policy {csp!r}")
        self.driver.get(self.base)
        model = self.health["model"]
        self.wait(f"#model to show {model}", lambda: self.text_of("model") == model)
        modes = Select(self.el("mode")).options
        shown = [o.get_attribute("value") for o in modes]
        check(shown == self.health["modes"], f"#mode offers {shown}, /health serves {self.health['modes']}")
        return f"model {model} ({self.text_of('device')}, {self.text_of('dtype')}); modes {', '.join(shown)}"

    def stream(self, beams, keyboard):
        """Summarizes TEXT_A with `beams` beams, watching #summary-0: (token updates seen, the final text)."""
        self.select_mode("abstractive")
        self.set_value("text-0", TEXT_A)
        self.set_value("max-length", "24")
        self.set_value("min-length", "")
        self.set_value("num-beams", str(beams))
        self.watch_summary()
        body = self.summarize(keyboard=keyboard)
        check(body == {"texts": [TEXT_A], "mode": "abstractive", "max_length": 24, "num_beams": beams}, f"request body {body}")
        seen = [s for s in self.js("return window.__seen;") if s]
        final = self.text_of("summary-0")
        check(len(seen) >= 2, f"the summary came only with its result: the page showed {seen}")
        check(all(final.startswith(s) for s in seen[:-1]), f"the streamed text does not grow into the summary: {seen}")
        self.compare_with_api(body)
        return seen, final

    def stream_abstractive(self):
        if "abstractive" not in self.health["modes"]:
            return "skipped: no abstractive model served"
        seen, final = self.stream(1, keyboard=True)
        return f"{len(seen) - 1} token updates, then the result: {final!r} equals POST /summarize"

    def stream_beams(self):
        """A beam search streams its summary as its beams agree on it: token updates before the result."""
        if "abstractive" not in self.health["modes"]:
            return "skipped: no abstractive model served"
        seen, final = self.stream(3, keyboard=False)
        return f"{len(seen) - 1} settled updates before the result: {final!r} equals POST /summarize"

    def several_texts(self):
        self.fill("text-0", TEXT_A)
        self.el("add-text").click()
        self.wait("#text-1", lambda: self.js("return !!document.getElementById('text-1');"))
        check(self.driver.switch_to.active_element.get_attribute("id") == "text-1", "Add text does not focus the new text")
        self.fill("text-1", TEXT_B)
        body = self.summarize()
        check(body["texts"] == [TEXT_A, TEXT_B], f"texts sent {body['texts']}")
        self.compare_with_api(body)
        # back to one text
        self.el("text-1").find_element(By.XPATH, "..").find_element(By.CSS_SELECTOR, "button.remove").click()
        check(self.js("return document.querySelectorAll('#texts textarea').length;") == 1, "Remove left more than one text")
        return "2 texts in one request, both equal to POST /summarize"

    def files(self):
        """Open .md and .txt files (one each, more add texts), drop one on a text, refuse other files."""
        folder = tempfile.mkdtemp(prefix="brevity-browser-")
        paths = []
        for name, text in [("notes.md", "# Budget\n\n" + TEXT_A), ("comet.txt", TEXT_B), ("photo.png", "not text")]:
            paths.append(os.path.join(folder, name))
            with open(paths[-1], "w") as f:
                f.write(text)
        self.el("text-0").clear()
        self.el("file").send_keys("\n".join(paths[:2]))
        self.wait("the files' texts", lambda: self.js("return !!document.getElementById('text-1');")
                  and self.el("text-1").get_attribute("value") == TEXT_B)
        check(self.el("text-0").get_attribute("value") == "# Budget\n\n" + TEXT_A, "notes.md is not text 1")
        check(self.text_of("source-0") == "from notes.md" and self.text_of("source-1") == "from comet.txt",
              f"sources shown: {self.text_of('source-0')!r}, {self.text_of('source-1')!r}")
        # a drop on text 2 replaces it; a .png is refused with a message
        self.js("""const dt = new DataTransfer();
            dt.items.add(new File([arguments[0]], 'dropped.txt', {type: 'text/plain'}));
            dt.items.add(new File(['x'], 'photo.png', {type: 'image/png'}));
            document.getElementById('text-1').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));""",
                TEXT_A)
        self.wait("the dropped file's text", lambda: self.el("text-1").get_attribute("value") == TEXT_A)
        self.wait("the refused file's message", lambda: self.el("error").is_displayed())
        check("photo.png" in self.text_of("error-message"), f"error shown: {self.describe_error()}")
        check(self.js("return document.querySelectorAll('#texts textarea').length;") == 2, "the drop added a text")
        self.el("text-1").find_element(By.XPATH, "..").find_element(By.CSS_SELECTOR, "button.remove").click()
        self.fill("text-0", TEXT_A)
        shutil.rmtree(folder)
        return "notes.md and comet.txt opened into texts 1 and 2; dropped.txt replaced text 2; photo.png refused"

    def empty_text_error(self):
        status, api, _ = http(self.base, "summarize", {"texts": [""]})
        check(status == 422, f"POST /summarize with an empty text answered {status}")
        self.el("text-0").clear()
        self.el("submit").click()
        self.wait("#error to show", lambda: self.el("error").is_displayed())
        check(self.state() == "error", f"state {self.state()}")
        shown = (self.text_of("error-status"), self.text_of("error-type"), self.text_of("error-field"), self.text_of("error-message"))
        expected = ("422", api["error"]["type"], api["error"]["field"], api["error"]["message"])
        check(shown == expected, f"#error shows {shown}, the API answers {expected}")
        check(self.el("text-0").get_attribute("aria-invalid") == "true", "#text-0 is not marked aria-invalid")
        return f"422 {shown[1]} {shown[2]}: {shown[3]}"

    def extractive(self):
        if "extractive" not in self.health["modes"]:
            return "skipped: no extractive model served (mode select offers " + ", ".join(self.health["modes"]) + ")"
        self.select_mode("extractive")
        check(self.el("strategy").is_displayed() and not self.el("num-beams").is_displayed(), "extractive fields not shown")
        self.fill("text-0", TEXT_A)
        self.set_value("max-length", "")
        self.set_value("num-sentences", "2")
        Select(self.el("strategy")).select_by_value("position")
        body = self.summarize()
        check(body == {"texts": [TEXT_A], "mode": "extractive", "strategy": "position", "num_sentences": 2}, f"request body {body}")
        api = self.compare_with_api(body)
        check(self.text_of("meta-mode") == "extractive", "mode not shown as extractive")
        self.set_value("num-sentences", "")
        self.select_mode(self.health["mode"])
        return f"{api['model']}: {api['summaries'][0]['text'][:60]!r}…"

    def take_screenshot(self):
        if not self.screenshot:
            return "skipped (--screenshot FILE)"
        self.driver.set_window_size(1280, 1100)
        self.driver.get(self.base)
        self.wait("#model", lambda: self.text_of("model") == self.health["model"])
        mode = self.screenshot_mode or ("abstractive" if "abstractive" in self.health["modes"] else self.health["mode"])
        check(mode in self.health["modes"], f"the service does not serve {mode} summaries")
        self.select_mode(mode)
        if mode == "abstractive":
            self.set_value("num-beams", "1")
            self.set_value("max-length", "40")
        for i, text in enumerate(self.screenshot_texts):
            if i:
                self.el("add-text").click()
            self.fill(f"text-{i}", text)
        self.summarize()
        self.js("document.activeElement.blur(); window.scrollTo(0, 0);")
        os.makedirs(os.path.dirname(os.path.abspath(self.screenshot)), exist_ok=True)
        check(self.driver.save_screenshot(self.screenshot), "the screenshot was not saved")
        size = self.js("return window.innerWidth + 'x' + window.innerHeight;")
        return f"{self.screenshot} ({size} viewport)"

    def docs(self):
        self.driver.get(self.base + "docs")
        self.wait("#try-health", lambda: self.js("return !!document.getElementById('try-health');"))
        self.el("try-health").click()
        self.wait("GET /health's status", lambda: self.js("return document.getElementById('status-health').dataset.status;"))
        status = self.js("return document.getElementById('status-health').dataset.status;")
        check(status == "200", f"Try it on GET /health shows {status}")
        health = json.loads(self.text_of("response-health"))
        check(health.get("model") == self.health["model"], f"GET /health from /docs: {health}")
        # POST /summarize with its example body, edited
        self.el("try-summarize").click()
        body = json.loads(self.el("body-summarize").get_attribute("value"))
        check(isinstance(body.get("texts"), list) and body["texts"], f"the example body {body}")
        self.el("send-summarize").click()
        self.wait("POST /summarize's status", lambda: self.js("return document.getElementById('status-summarize').dataset.status;"))
        status = self.js("return document.getElementById('status-summarize').dataset.status;")
        check(status == "200", f"Send on POST /summarize shows {status}: {self.text_of('response-summarize')}")
        check(len(json.loads(self.text_of("response-summarize"))["summaries"]) == len(body["texts"]), "POST /summarize's response")
        # the stream's example shows its events
        self.el("try-summarizeStream").click()
        self.el("send-summarizeStream").click()
        self.wait("the stream's result event", lambda: "event: result" in self.text_of("response-summarizeStream"))
        problems = self.log_problems() + self.external_loads()
        check(not problems, f"/docs: {problems}")
        return "GET /health 200 with its JSON; POST /summarize and /summarize/stream with their examples"

    def narrow(self):
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": True})
        try:
            self.driver.get(self.base)
            self.wait("#model", lambda: self.text_of("model") == self.health["model"])
            width = lambda: self.js("return [document.documentElement.scrollWidth, document.documentElement.clientWidth, window.innerWidth];")
            w = width()
            check(w[1] <= 390 and w[0] <= w[1], f"empty page at 390 px: scrollWidth {w[0]} > clientWidth {w[1]}")
            self.fill("text-0", TEXT_A + " " + "x" * 300)
            self.summarize()
            w = width()
            check(w[0] <= w[1], f"with a summary at 390 px: scrollWidth {w[0]} > clientWidth {w[1]}")
            problems = self.log_problems() + self.external_loads()
            check(not problems, f"/: {problems}")
            return f"scrollWidth {w[0]} <= clientWidth {w[1]} with a summary shown"
        finally:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base_url", help="the service, e.g. http://127.0.0.1:8000/")
    parser.add_argument("--screenshot", metavar="FILE", help="save the playground with summaries shown (e.g. docs/playground.png)")
    parser.add_argument("--screenshot-mode", choices=["abstractive", "extractive"], help="the mode shown (default: abstractive when served)")
    parser.add_argument("--screenshot-text", metavar="FILE", action="append", help="a text shown in the screenshot (repeat for several)")
    args = parser.parse_args()
    texts = [open(f, encoding="utf-8").read().strip() for f in args.screenshot_text or []]
    t_start = time.monotonic()
    try:
        p = Playground(args.base_url, args.screenshot, args.screenshot_mode, texts)
    except Failure as e:
        print(f"FAIL setting up the browser: {e}", file=sys.stderr)
        return 1
    steps = [("load / and show /health's model", p.load),
             ("stream an abstractive summary (Ctrl+Enter)", p.stream_abstractive),
             ("stream a beam search as it settles", p.stream_beams),
             ("several texts at once", p.several_texts),
             (".txt/.md files opened and dropped", p.files),
             ("an empty text shows the API's 422", p.empty_text_error),
             ("extractive summary", p.extractive),
             ("screenshot", p.take_screenshot),
             ("/docs: Try it", p.docs),
             ("390 px wide: no horizontal scroll", p.narrow)]
    try:
        for name, step in steps:
            t0 = time.monotonic()
            try:
                detail = step()
            except Failure as e:
                print(f"FAIL {name}: {e}", file=sys.stderr)
                try:
                    print(f"     page {p.driver.current_url}: state {p.state()!r}, error {p.describe_error()!r}, "
                          f"status {p.text_of('status')!r}", file=sys.stderr)
                except Exception:
                    pass
                return 1
            except Exception as e:  # a Selenium or network error: still a clear line
                print(f"FAIL {name}: {type(e).__name__}: {e}".rstrip(), file=sys.stderr)
                return 1
            print(f"ok   {name} [{time.monotonic() - t0:.1f} s]: {detail}", flush=True)
    finally:
        p.driver.quit()
    print(f"browser test passed in {time.monotonic() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
