"""Headless Chromium for the report's layout tests, driven through the DevTools protocol.

The protocol runs over a pipe (``--remote-debugging-pipe``: JSON messages ended by a NUL
byte on file descriptors 3 and 4), so no driver package is needed.

Window sizes below 500 px are not honoured by headless Chromium; device-metrics emulation
lays the page out at any width, 390 px included, and a screenshot can take the whole page.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.engines import missing_engine

#: Measures the page: elements wider than their box, elements beyond the viewport, SVG text
#: outside its drawing, and the verdicts shown per experiment and in the overview.
MEASURE = """
(() => {
  const name = el => {
    const bits = [el.tagName.toLowerCase()];
    if (el.id) bits.push("#" + el.id);
    if (typeof el.className === "string" && el.className.trim()) {
      bits.push("." + el.className.trim().split(/ +/).join("."));
    }
    return bits.join("") + ": " + (el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 80);
  };
  const out = {innerWidth: window.innerWidth, scrollWidth: document.documentElement.scrollWidth,
               height: document.documentElement.scrollHeight, overflowing: [], offscreen: [],
               clippedText: [], experiments: {}, overview: {}};
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest("svg")) continue;
    if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) out.overflowing.push(name(el));
    const box = el.getBoundingClientRect();
    if (box.width > 0 && (box.left < -0.5 || box.right > window.innerWidth + 0.5)) {
      out.offscreen.push(name(el));
    }
  }
  for (const svg of document.querySelectorAll("svg")) {
    if (!svg.getClientRects().length) continue;
    const view = svg.viewBox.baseVal;
    for (const text of svg.querySelectorAll("text")) {
      const b = text.getBBox();
      if (b.x < view.x - 0.5 || b.x + b.width > view.x + view.width + 0.5 ||
          b.y < view.y - 0.5 || b.y + b.height > view.y + view.height + 0.5) {
        const title = svg.querySelector("title");
        out.clippedText.push(text.textContent + " in " + (title ? title.textContent : "an svg"));
      }
    }
  }
  const verdicts = rows => [...rows].map(tr => [
    tr.dataset.metric, tr.dataset.treatment, tr.dataset.verdict,
    tr.querySelector("td.verdict").textContent.trim()]);
  for (const section of document.querySelectorAll("section.experiment")) {
    out.experiments[section.id] = verdicts(section.querySelectorAll("table.metrics tbody tr"));
  }
  for (const group of document.querySelectorAll("table.overview tbody[data-experiment]")) {
    out.overview[group.dataset.experiment] = verdicts(group.querySelectorAll("tr[data-verdict]"));
  }
  return out;
})()
"""
OPEN_DETAILS = 'document.querySelectorAll("details").forEach(d => { d.open = true; })'


def chromium_binary() -> str:
    """The chromium binary, or skip (or fail, where engines are required) without it."""
    found = shutil.which("chromium")
    if found is None:
        missing_engine("Debian's chromium is not installed (apt-get install chromium)")
    return str(found)


def _above_4(fd: int) -> int:
    """The descriptor moved above 4, so that the child's dup2 onto 3 and 4 copies it.

    A copy onto itself would stay close-on-exec.
    """
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Chromium:
    """One headless Chromium with one page, for as many loads as a test needs."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        #: What the page logged: console messages, failed requests, errors.
        self.log: list[str] = []
        to_browser_read, self._to_browser = map(_above_4, os.pipe())
        self._from_browser, from_browser_write = map(_above_4, os.pipe())

        def pipes_to_3_and_4() -> None:  # in the child, before exec
            os.dup2(to_browser_read, 3)
            os.dup2(from_browser_write, 4)

        self.profile = tempfile.mkdtemp(prefix="xp-chromium-")
        self.process = subprocess.Popen(
            [
                chromium_binary(),
                "--headless",
                "--remote-debugging-pipe",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=pipes_to_3_and_4,
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self.call("Page.enable")
        self.call("Log.enable")
        self.call("Runtime.enable")

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the browser and remove its profile."""
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _send(self, method: str, params: dict[str, Any], session: str | None) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _receive(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], self.timeout)
            chunk = os.read(self._from_browser, 1 << 20) if ready else b""
            if not chunk:
                raise RuntimeError("chromium stopped answering (or timed out)")
            self._buffer += chunk
        text, self._buffer = self._buffer.split(b"\0", 1)
        message = json.loads(text)
        if message.get("method") == "Log.entryAdded":
            entry = message["params"]["entry"]
            self.log.append(f"{entry.get('level')}: {entry.get('text')}")
        elif message.get("method") == "Runtime.consoleAPICalled":
            args = message["params"].get("args", [])
            self.log.append("console: " + " ".join(str(a.get("value", "")) for a in args))
        elif message.get("method") == "Runtime.exceptionThrown":
            self.log.append(f"exception: {message['params']['exceptionDetails'].get('text')}")
        return message

    def _call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        wanted = self._send(method, params or {}, session)
        while True:
            message = self._receive()
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._events.append(message)

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """A DevTools protocol command on the page."""
        return self._call(method, params, self.session)

    def _wait_for(self, event: str) -> None:
        while True:
            while self._events:
                if self._events.pop(0).get("method") == event:
                    return
            self._events.append(self._receive())

    def load(self, page: Path, width: int) -> None:
        """Open ``page`` laid out ``width`` px wide (a phone's when narrower than 600 px)."""
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
        )
        self._events.clear()
        self.call("Page.navigate", {"url": page.resolve().as_uri()})
        self._wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(str(result["exceptionDetails"]))
        return result["result"].get("value")

    def measure(self, open_details: bool = True) -> dict[str, Any]:
        """What :data:`MEASURE` finds on the loaded page (with every <details> opened)."""
        if open_details:
            self.evaluate(OPEN_DETAILS)
        return self.evaluate(MEASURE)

    def screenshot(self, path: Path) -> Path:
        """A PNG of the whole loaded page, as wide as its layout."""
        size = self.evaluate(
            "[document.documentElement.clientWidth, document.documentElement.scrollHeight]"
        )
        shot = self.call(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1},
            },
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path
