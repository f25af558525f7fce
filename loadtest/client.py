"""One simulated browser tab: a Streamlit 1.67 websocket client, without a browser.

What a browser tab does, and what this class does the same way
---------------------------------------------------------------
1. ``GET /`` (index.html). With ``server.enableXsrfProtection`` the answer sets
   the ``_streamlit_xsrf`` cookie.
2. Open the websocket ``ws://host/_stcore/stream`` with the ``Origin`` of the
   page, the cookie, and ``Sec-WebSocket-Protocol: streamlit, <xsrf cookie>``:
   Streamlit repurposes the subprotocol list to pass the XSRF token (second
   entry) and, on a reconnect, the old session id (third entry). The server
   accepts the connection without a valid token too (the token only unlocks
   auth cookies), but we send it as the frontend does.
3. Every script run is requested by a ``BackMsg.rerun_script`` (a
   ``ClientState``): ``query_string`` (the URL's, without ``?``), the widget
   values (``WidgetStates``), and the page: ``page_name`` = the URL path (the
   first load of ``/forward`` sends ``"forward"``; ``st.navigation`` matches it
   against each page's ``url_pathname``) or ``page_script_hash`` (what a
   sidebar click sends, taken from the ``navigation``/``new_session``
   messages). A widget inside an ``st.fragment`` sends ``fragment_id`` (from
   its ``Delta.fragment_id``), and only that fragment reruns.
4. The server answers with ``ForwardMsg``s, one per websocket frame:
   ``new_session`` (start of a run; for a fragment run ``metadata.run.fragment_ids``
   is set), ``delta``s (the elements: widgets carry their ``id``),
   ``page_info_changed`` (the app wrote ``st.query_params``), and finally
   ``script_finished``. A run ended by ``st.rerun()`` finishes with
   ``FINISHED_EARLY_FOR_RERUN`` and is followed by the real run.
5. Message cache: the client lists the hashes of the big elements it already
   holds in ``ClientState.cached_message_hashes``; the server then sends a
   ``ref_hash`` stub instead of the element again. We keep the cache as the
   frontend does (``--no-msg-cache`` turns it off: the server then sends
   everything in full).

Images are not in the websocket messages: an ``imgs`` element carries
``/media/...`` URLs that the browser fetches; :attr:`RunResult.media_urls`
lists them for the driver to fetch.
"""
from __future__ import annotations

import asyncio
import http.cookiejar
import json
import random
import re
import time
import urllib.request
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

XSRF_COOKIE = "_streamlit_xsrf"
STREAM_PATH = "/_stcore/stream"

#: st.error texts that are a failure of the app (app.py's and app.shell.fragment's safety nets).
#: Every other st.error counts as a failure too, unless it matches EXPECTED_ERRORS.
#: An uncaught exception shows an ``exception`` element, also a failure.
EXPECTED_ERRORS = (
    # The reverse page without the bundled MNIST model (assets/models/mnist.*): an expected message.
    re.compile(r"^The (weights file|model card) .* is missing"),
)
QUEUE_TEXT = "in the queue"  # app.compute.compute_slot's message: the run waited for its turn in the fair queue

_STATUS = {v: k for k, v in ForwardMsg.ScriptFinishedStatus.items()}
_DONE = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
         ForwardMsg.FINISHED_WITH_COMPILE_ERROR}
_MAX_CACHED = 400  # messages kept for ref_hash replies (the browser also evicts old ones)


SCRUBBER = "explainer_scrubber"  # the component name registered by explainer/app/scrubber.py


def _scrubber_label(payload: bytes) -> tuple[str, int]:
    """The label and the number of positions of a scrubber, from the frame set it carries."""
    try:
        spec = json.loads(payload.decode("utf-8"))["set"]
        return spec["label"], len(spec["values"])
    except (ValueError, KeyError, UnicodeDecodeError):
        return "", 0


class SessionError(RuntimeError):
    """The session cannot go on (connection refused, socket closed)."""


@dataclass
class Widget:
    kind: str  # the Element oneof name: "slider", "button", "selectbox", ...
    id: str
    label: str
    fragment_id: str  # "" outside a fragment
    proto: object  # the element's own message (Slider, Button, ...)


@dataclass
class RunResult:
    """What one request (a page open, a widget change) got back."""

    seconds: float = 0.0
    status: str = ""  # FINISHED_SUCCESSFULLY, FINISHED_FRAGMENT_RUN_SUCCESSFULLY, timeout, disconnected, ...
    errors: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)  # st.error texts matching EXPECTED_ERRORS
    queued: bool = False
    bytes_in: int = 0
    messages: int = 0
    media_by_path: dict = field(default_factory=dict)  # delta path -> image URLs (a later element replaces them)

    @property
    def media_urls(self) -> list[str]:
        """The images still on the page at the end of the run (a live preview emptied in the run is not)."""
        return [u for urls in self.media_by_path.values() for u in urls]
    texts: list[str] = field(default_factory=list)  # st.markdown / st.write texts of this run

    @property
    def fatal(self) -> bool:
        """The session is in an unknown state: the user should reload (start a new session)."""
        return self.status in ("timeout", "disconnected")


class _Run:
    """The messages of the run in flight, gathered by the reader task."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None):
        self.result = RunResult()
        self.done = loop.create_future() if loop else None


class StreamlitSession:
    """A browser tab on a Streamlit app. One request at a time (as a user, who waits for the page)."""

    def __init__(self, base_url: str, *, timeout: float = 120.0, msg_cache: bool = True,
                 open_timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.open_timeout = open_timeout
        self.msg_cache = msg_cache
        self.ws = None
        self.query_string = ""
        self.page_hash = ""  # the page of the last run
        self.pages: dict[str, str] = {}  # url_pathname -> page_script_hash ("" -> the default page)
        self.widgets: dict[str, Widget] = {}  # id -> widget, for the elements of the current page
        self.values: dict[str, WidgetState] = {}  # the values this user has set, sent with every rerun
        self.page_expected: list[str] = []  # expected error messages shown by the current page
        self.bytes_in = 0
        self._cache: OrderedDict[str, ForwardMsg] = OrderedDict()
        self._run: _Run | None = None
        self._idle = _Run(None)  # messages that arrive while no request is in flight
        self._reader: asyncio.Task | None = None
        self._closed_reason: str | None = None
        self.cookie_header = ""  # the cookies GET / set, sent back as a browser does

    # ------------------------------------------------------------------ connection

    def _xsrf_cookie(self) -> str | None:
        """GET / (index.html) as the browser does, and return the XSRF cookie it sets (if any)."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar),
                                             urllib.request.ProxyHandler({}))
        with opener.open(self.base_url + "/", timeout=self.open_timeout) as r:
            r.read()
        # Every cookie goes back with the websocket and the image requests, as a browser sends them: behind
        # a load balancer with sticky sessions (deploy/nginx.conf) its routing cookie keeps them on one replica.
        self.cookie_header = "; ".join(f"{c.name}={c.value}" for c in jar)
        for c in jar:
            if c.name == XSRF_COOKIE:
                return c.value
        return None

    async def connect(self) -> None:
        try:
            cookie = await asyncio.to_thread(self._xsrf_cookie)
            parts = urlsplit(self.base_url)
            scheme = "wss" if parts.scheme == "https" else "ws"
            subprotocols = ["streamlit", cookie] if cookie else ["streamlit"]
            headers = {"Cookie": self.cookie_header} if self.cookie_header else {}
            self.ws = await ws_connect(
                f"{scheme}://{parts.netloc}{parts.path}{STREAM_PATH}", origin=f"{parts.scheme}://{parts.netloc}",
                subprotocols=subprotocols, additional_headers=headers, max_size=None, ping_interval=None,
                open_timeout=self.open_timeout, close_timeout=5, proxy=None)
        except (OSError, TimeoutError, ConnectionClosed, Exception) as e:  # noqa: BLE001 - all mean "no session"
            raise SessionError(f"connect failed: {type(e).__name__}: {e}") from e
        self._reader = asyncio.create_task(self._read_loop())

    async def close(self) -> None:
        if self.ws is not None:
            try:
                await self.ws.close()
            except Exception:  # noqa: BLE001 - closing a broken socket
                pass
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 5)
            except (asyncio.TimeoutError, asyncio.CancelledError, Exception):  # noqa: BLE001
                self._reader.cancel()

    async def _read_loop(self) -> None:
        try:
            async for data in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self.bytes_in += len(data)
                self._handle(msg, len(data))
            self._closed_reason = f"server closed the websocket ({self.ws.close_code})"
        except ConnectionClosed as e:
            self._closed_reason = f"websocket closed: {e}"
        except Exception as e:  # noqa: BLE001 - a bad frame ends the session, reported as an error
            self._closed_reason = f"client error reading a message: {type(e).__name__}: {e}"
        finally:
            run = self._run
            if run is not None and run.done is not None and not run.done.done():
                run.result.status = "disconnected"
                run.result.errors.append(self._closed_reason or "websocket closed")
                run.done.set_result(None)

    # ------------------------------------------------------------------ incoming messages

    def _handle(self, msg: ForwardMsg, size: int) -> None:
        run = self._run or self._idle
        res = run.result
        res.bytes_in += size
        res.messages += 1
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":
            cached = self._cache.get(msg.ref_hash)
            if cached is None:
                res.errors.append(f"protocol: ref_hash {msg.ref_hash[:12]} is not in the client's cache")
                return
            full = ForwardMsg()
            full.CopyFrom(cached)
            full.metadata.CopyFrom(msg.metadata)  # the reference says where the element goes now
            msg, kind = full, "delta"
        elif self.msg_cache and msg.metadata.cacheable and msg.hash:
            self._cache[msg.hash] = msg
            self._cache.move_to_end(msg.hash)

        if kind == "new_session":
            ns = msg.new_session
            self.page_hash = ns.page_script_hash
            self._learn_pages(ns.app_pages)
            if not msg.metadata.run.fragment_ids:  # a full run redraws the page: forget its widgets
                self.widgets.clear()
                self.page_expected = []
        elif kind == "navigation":
            self._learn_pages(msg.navigation.app_pages)
            if msg.navigation.page_script_hash:
                self.page_hash = msg.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "page_not_found":
            res.errors.append(f"page not found: {msg.page_not_found.page_name!r}")
        elif kind == "session_event":
            ev = msg.session_event
            if ev.WhichOneof("type") == "script_compilation_exception":
                e = ev.script_compilation_exception
                res.errors.append(f"compile error {e.type}: {e.message[:200]}")
        elif kind == "delta":
            self._handle_delta(msg, res)
        elif kind == "script_finished":
            status = msg.script_finished
            if status in _DONE and run.done is not None and not run.done.done():
                res.status = _STATUS.get(status, str(status))
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    res.errors.append("script finished with a compile error")
                run.done.set_result(None)
            # FINISHED_EARLY_FOR_RERUN: st.rerun() or a newer request; the next run follows

    def _learn_pages(self, app_pages) -> None:
        for p in app_pages:
            self.pages[p.url_pathname] = p.page_script_hash
            if p.is_default:
                self.pages[""] = p.page_script_hash

    def _handle_delta(self, msg: ForwardMsg, res: RunResult) -> None:
        delta = msg.delta
        if delta.WhichOneof("type") != "new_element":
            return
        el = delta.new_element
        kind = el.WhichOneof("type")
        res.media_by_path.pop(tuple(msg.metadata.delta_path), None)  # this element replaces whatever was there
        if kind == "exception":
            e = el.exception
            res.errors.append(f"st.exception {e.type}: {e.message[:200]}")
        elif kind == "alert":
            body = el.alert.body
            if QUEUE_TEXT in body:
                res.queued = True
            if el.alert.format == Alert.ERROR:
                if any(p.search(body) for p in EXPECTED_ERRORS):
                    res.expected.append(body)
                    self.page_expected.append(body)
                else:
                    res.errors.append(f"st.error: {body[:200]}")
        elif kind == "markdown":
            res.texts.append(el.markdown.body)
        elif kind == "bidi_component" and el.bidi_component.component_name == SCRUBBER:
            # A browser-side scrubber (explainer/lessons/framesets.py): its frames travel once, inside the element.
            sub = el.bidi_component
            label, n = _scrubber_label(sub.bytes)
            self.widgets[sub.id] = Widget("scrubber", sub.id, label, delta.fragment_id, n)
        elif kind == "imgs":
            res.media_by_path[tuple(msg.metadata.delta_path)] = [
                img.url for img in el.imgs.imgs if img.url and not img.url.startswith("data:")]
        elif kind is not None:
            sub = getattr(el, kind)
            if "id" in sub.DESCRIPTOR.fields_by_name and sub.id:
                label = sub.label if "label" in sub.DESCRIPTOR.fields_by_name else ""
                self.widgets[sub.id] = Widget(kind, sub.id, label, delta.fragment_id, sub)

    # ------------------------------------------------------------------ requests

    async def rerun(self, *, page_hash: str | None = None, page_name: str = "", query_string: str | None = None,
                    changed: list[WidgetState] = (), fragment_id: str = "",
                    timeout: float | None = None) -> RunResult:
        """Send one rerun request and wait for its ``script_finished``; the time is ``RunResult.seconds``."""
        if self._run is not None:
            raise RuntimeError("one request at a time")
        if self.ws is None or self._reader is None or self._reader.done():
            return RunResult(status="disconnected", errors=[self._closed_reason or "not connected"])
        if self.msg_cache:
            while len(self._cache) > _MAX_CACHED:
                self._cache.popitem(last=False)
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query_string if query_string is None else query_string
        cs.page_script_hash = self.page_hash if page_hash is None else page_hash
        cs.page_name = page_name
        cs.fragment_id = fragment_id
        # As the frontend: the values of the widgets on the page (those this user set), plus the change.
        states = {k: v for k, v in self.values.items() if k in self.widgets}
        for s in changed:
            states[s.id] = s
        cs.widget_states.widgets.extend(states.values())
        if self.msg_cache:
            cs.cached_message_hashes.extend(self._cache.keys())
        ci = cs.context_info
        ci.timezone, ci.timezone_offset, ci.locale = "UTC", 0, "en-US"
        ci.url, ci.is_embedded, ci.color_scheme = self.base_url + "/", False, "light"

        run = self._run = _Run(asyncio.get_running_loop())
        if self._idle.result.errors:  # something went wrong between two requests: report it with this one
            run.result.errors.extend(f"(between requests) {e}" for e in self._idle.result.errors)
            self._idle = _Run(None)
        t0 = time.perf_counter()
        try:
            await self.ws.send(msg.SerializeToString())
            await asyncio.wait_for(asyncio.shield(run.done), timeout or self.timeout)
        except (asyncio.TimeoutError, TimeoutError):
            run.result.status = "timeout"
            run.result.errors.append(f"no script_finished within {timeout or self.timeout:.0f} s")
        except ConnectionClosed as e:
            run.result.status = "disconnected"
            run.result.errors.append(f"websocket closed while sending: {e}")
        finally:
            run.result.seconds = time.perf_counter() - t0
            self._run = None
        for s in changed:
            if s.WhichOneof("value") not in ("trigger_value", "string_trigger_value", "json_trigger_value"):
                self.values[s.id] = s
        return run.result

    async def open_page(self, url_path: str = "", query_string: str = "", first: bool = False) -> RunResult:
        """Open a page: by URL (``first``: the tab's first load) or as a sidebar click (by page hash)."""
        page_hash = None if first else self.pages.get(url_path)
        # As a browser: the values it holds go with the request (the sidebar's are on every page); rerun()
        # sends those of widgets on the page shown now, and the new page drops the rest.
        if page_hash:
            return await self.rerun(page_hash=page_hash, query_string=query_string)
        return await self.rerun(page_hash="", page_name=url_path, query_string=query_string)

    def find(self, label: str, kinds: tuple[str, ...] = ()) -> Widget | None:
        """The widget of this page whose label is ``label``, else the first whose label starts with it."""
        cands = [w for w in self.widgets.values() if not kinds or w.kind in kinds]
        for w in cands:
            if w.label == label:
                return w
        for w in cands:
            if w.label.startswith(label):
                return w
        return None

    async def move_slider(self, w: Widget, rng: random.Random, value=None) -> RunResult:
        """Set an st.slider / st.select_slider to ``value`` (default: a random other value)."""
        p = w.proto
        state = WidgetState(id=w.id)
        if p.type == Slider.SELECT_SLIDER:
            options = list(p.options)
            current = self.values[w.id].string_array_value.data[0] if w.id in self.values else None
            if value is None:
                value = rng.choice([o for o in options if o != current] or options)
            state.string_array_value.data[:] = [str(value)]
        else:
            if value is None:
                current = (self.values[w.id].double_array_value.data[0] if w.id in self.values
                           else (p.value[0] if p.value else (p.default[0] if p.default else p.min)))
                n = max(int(round((p.max - p.min) / p.step)), 1) if p.step > 0 else 100
                for _ in range(10):
                    value = p.min + rng.randint(0, n) * ((p.max - p.min) / n)
                    if value != current:
                        break
            if p.data_type == Slider.INT:
                value = int(round(value))
            state.double_array_value.data[:] = [float(value)]
        return await self.rerun(changed=[state], fragment_id=w.fragment_id)

    async def release_scrubber(self, w: Widget, rng: random.Random, index: int | None = None) -> RunResult:
        """A scrubber: a drag swaps frames in the browser and sends nothing, so this client cannot drag it.
        It sends what the browser sends when the drag ends: the new position, once (one fragment rerun)."""
        n = int(w.proto)
        current = json.loads(self.values[w.id].json_value).get("index") if w.id in self.values else None
        if index is None:
            index = rng.choice([i for i in range(n) if i != current] or [0])
        state = WidgetState(id=w.id, json_value=json.dumps({"index": int(index)}))
        return await self.rerun(changed=[state], fragment_id=w.fragment_id)

    async def click(self, w: Widget) -> RunResult:
        """Click an st.button (a trigger: true for one run only)."""
        return await self.rerun(changed=[WidgetState(id=w.id, trigger_value=True)], fragment_id=w.fragment_id)
