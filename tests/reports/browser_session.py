"""Headless Chromium driven over the DevTools protocol through a pipe (``--remote-debugging-pipe``):
no WebDriver, no websocket library, nothing but the browser and the standard library.

Chromium reads protocol messages (JSON, each ending with a NUL byte) on its file descriptor 3 and
writes its answers and events on descriptor 4. :class:`Browser` opens one page, records console
errors and uncaught exceptions, and offers what the report's tests need: evaluate JavaScript, click
and drag with real mouse events, type text, and take screenshots.
"""
from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--disable-dev-shm-usage", "--remote-debugging-pipe")


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(RuntimeError):
    """The browser answered with an error, or not in time."""


class Browser:
    """One headless Chromium with one page (a context manager)."""

    def __init__(self, width: int = 1280, height: int = 900, timeout: float = 60.0):
        executable = find_chromium()
        if executable is None:
            raise BrowserError("no Chromium found")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def descriptors() -> None:  # in the child: the pipe ends become descriptors 3 and 4
            reading, writing = os.dup(to_browser_read), os.dup(from_browser_write)
            os.dup2(reading, 3)
            os.dup2(writing, 4)

        self.process = subprocess.Popen([executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, preexec_fn=descriptors, pass_fds=(3, 4))
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        self.session = None
        target = self.command("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.command("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.command(f"{domain}.enable")
        self.command("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exception) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.session = None
            self.command("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for descriptor in (self._to_browser, self._from_browser):
            try:
                os.close(descriptor)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    # -- the protocol --------------------------------------------------------------------------

    def command(self, method: str, params: dict | None = None) -> dict:
        """Send one command and return its result (events that arrive meanwhile are kept)."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if self.session is not None:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode("utf-8") + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def _receive(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_browser], [], [], max(0.0, left))
            if not ready:
                raise BrowserError(f"no answer within {self.timeout} s")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("the browser closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def wait_for_event(self, method: str, seen: int = 0) -> dict:
        """The first event ``method`` after the first ``seen`` recorded events."""
        while True:
            for event in self.events[seen:]:
                if event.get("method") == method:
                    return event
            self.events.append(self._receive())

    # -- what the tests use --------------------------------------------------------------------

    def open(self, url: str) -> None:
        """Load ``url`` and wait for its load event."""
        seen = len(self.events)
        self.command("Page.navigate", {"url": url})
        self.wait_for_event("Page.loadEventFired", seen)

    def evaluate(self, expression: str):
        """The value of a JavaScript expression (JSON-serialisable values; promises awaited)."""
        result = self.command("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                   "awaitPromise": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries seen so far."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(str(params.get("exceptionDetails", {}).get("exception", {}).get("description")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(" ".join(str(arg.get("value", arg.get("description"))) for arg in params.get("args", [])))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append(f"{params['entry'].get('text')} ({params['entry'].get('url', '')})")
        return found

    def centre(self, selector: str) -> tuple[float, float]:
        """The viewport coordinates of the centre of the first element matching ``selector``
        (scrolled into view first)."""
        box = self.evaluate(f"""(function () {{
            var element = document.querySelector({json.dumps(selector)});
            element.scrollIntoView({{block: "center"}});
            var box = element.getBoundingClientRect();
            return [box.left, box.top, box.width, box.height];
        }})()""")
        return box[0] + box[2] / 2, box[1] + box[3] / 2

    def mouse(self, kind: str, x: float, y: float, buttons: int = 1) -> None:
        self.command("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left",
                                                  "buttons": buttons, "clickCount": 1})

    def click(self, selector: str) -> None:
        x, y = self.centre(selector)
        self.mouse("mouseMoved", x, y, 0)
        self.mouse("mousePressed", x, y)
        self.mouse("mouseReleased", x, y, 0)

    def drag(self, start: tuple[float, float], end: tuple[float, float], steps: int = 5) -> None:
        self.mouse("mouseMoved", *start, 0)
        self.mouse("mousePressed", *start)
        for step in range(1, steps + 1):
            fraction = step / steps
            self.mouse("mouseMoved", start[0] + (end[0] - start[0]) * fraction,
                       start[1] + (end[1] - start[1]) * fraction)
        self.mouse("mouseReleased", *end, 0)

    def type_into(self, selector: str, text: str) -> None:
        """Focus the element and type ``text`` as keyboard input would (input events fire)."""
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.command("Input.insertText", {"text": text})

    def screenshot(self, path: Path, top: float, height: float, width: float = 1280) -> Path:
        """A PNG of the page from ``top`` (CSS px from the page's top), ``width`` x ``height``."""
        data = self.command("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": top, "width": width, "height": height, "scale": 1}})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def top_of(self, selector: str) -> float:
        return self.evaluate(f"document.querySelector({json.dumps(selector)}).getBoundingClientRect().top "
                             "+ window.scrollY")


def save_report_screenshots(page: Path, folder: Path) -> list[Path]:
    """``report-overview.png`` (the summary, overview heat map and a table) and
    ``report-gallery.png`` (a gallery with its slider and crops) of ``page``, 1280 px wide."""
    with Browser(1280, 900) as browser:
        browser.open(page.resolve().as_uri())
        wait_for_pictures(browser)
        overview = browser.screenshot(folder / "report-overview.png", 0, 1100)
        top = browser.top_of(".gallery") - 60
        # compare two results, the slider a third of the way, the crops on the picture's lower left
        browser.evaluate("""(function () {
            var gallery = document.querySelector('.gallery');
            var right = gallery.querySelector('.compare-right');
            right.selectedIndex = right.options.length - 1;
            right.dispatchEvent(new Event('change'));
            var slider = gallery.querySelector('.compare-slider');
            slider.value = 38;
            slider.dispatchEvent(new Event('input'));
        })()""")
        x, y = browser.centre(".gallery .compare-view")
        width, height = browser.evaluate("(function () { var box = document.querySelector('.gallery .compare-view')"
                                         ".getBoundingClientRect(); return [box.width, box.height]; })()")
        browser.mouse("mousePressed", x - 0.2 * width, y + 0.3 * height)
        browser.mouse("mouseReleased", x - 0.2 * width, y + 0.3 * height, 0)
        browser.evaluate("(function () { var slider = document.querySelector('.gallery .compare-slider');"
                         "slider.value = 38; slider.dispatchEvent(new Event('input')); })()")
        wait_for_pictures(browser)
        gallery = browser.screenshot(folder / "report-gallery.png", top, 1100)
    return [overview, gallery]


def wait_for_pictures(browser: Browser, timeout: float = 20.0) -> None:
    """Scroll through the page so that lazy pictures load, then wait until the loaded ones are decoded."""
    browser.evaluate("""(async function () {
        for (var y = 0; y < document.body.scrollHeight; y += 800) { window.scrollTo(0, y);
            await new Promise(function (done) { setTimeout(done, 30); }); }
        window.scrollTo(0, 0);
    })()""")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if browser.evaluate("Array.prototype.every.call(document.images, function (image) { "
                            "return image.loading === 'lazy' || image.complete; })"):
            return
        time.sleep(0.2)
