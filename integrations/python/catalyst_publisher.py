#!/usr/bin/env python3
"""Publish Catalyst-Bot classifications to a Catalyst signal server (POST /v1/signals).

One vendorable file: standard library only, Python >= 3.9, Linux/macOS/Windows. Copy it next to your code.
Guide: docs/publishing.md. Wire reference: docs/protocol.md.

    pub = Publisher(url, key, outbox_path="data/signal_outbox.jsonl", background=True)
    seq = pub.publish(from_catalyst_bot(ticker, title, link, source, price, score, sentiment, keyword_hits))

`publish` returns the server's seq, or None when the classification went to the outbox (server unreachable,
5xx, or older classifications still waiting there: order is kept). The outbox is delivered in order by a
background thread or by `flush()`. Every retry carries the same source_id, so the server stores it once.

The file is one unit on purpose (vendorable), hence longer than the project's usual file size.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import email.utils
import hashlib
import http.client
import json
import logging
import math
import os
import re
import sys
import threading
import time
import urllib.parse
import zlib
from typing import Any, Callable, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

__version__ = "1.0.0"

log = logging.getLogger("catalyst_publisher")

MAX_BATCH = 500  # the server's max_batch
MAX_SINGLE_BYTES = 64 * 1024  # the server's body limit for one object
MAX_BATCH_BYTES = 1024 * 1024  # ... and for a batch
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024  # an outbox line is at most ~66 KiB; anything longer is corruption
COMPACT_AFTER_BYTES = 1024 * 1024  # rewrite the spool once this much of it is delivered

# Catalyst-Bot's keyword categories (trading/signal_generator.py): CLOSE beats AVOID beats the strongest BUY.
CLOSE_KEYWORDS = ("bankruptcy", "delisting", "going_concern", "fraud", "distress_negative")
AVOID_KEYWORDS = (
    "offering",
    "dilution",
    "warrant",
    "rs",
    "reverse_split",
    "offering_negative",
    "warrant_negative",
    "dilution_negative",
)
# Base confidence of each BUY category: "strongest" = hit weight x base confidence, as the bot ranks them.
BUY_BASE_CONFIDENCE = {
    "fda": 0.92,
    "merger": 0.95,
    "acquisition": 0.90,
    "partnership": 0.85,
    "trial": 0.88,
    "clinical": 0.88,
    "uplisting": 0.87,
    "earnings": 0.82,
    "guidance": 0.80,
    "energy_discovery": 0.85,
    "advanced_therapies": 0.86,
    "tech_contracts": 0.83,
    "ai_quantum": 0.84,
    "crypto_blockchain": 0.78,
    "mining_resources": 0.82,
    "compliance": 0.80,
    "activist_institutional": 0.81,
}
TIMEFRAMES = {"immediate": "immediate", "intraday": "intraday", "swing": "swing", "position": "swing"}
SOURCE_ID_PREFIX = "cb-"

# The wire contract's ticker (shared/src/signal.ts SYMBOL_PATTERN): segments joined by single . - _ / :, never "." or "..".
_SYMBOL_RE = re.compile(r"^(?=.{1,32}\Z)[A-Za-z0-9]+(?:[._/:-][A-Za-z0-9]+)*\Z")
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_EXCHANGE_RE = re.compile(r"^[A-Z][A-Z0-9_-]{0,15}$")


# ---------------------------------------------------------------------------------------------------------
# Errors and results


class PublishError(Exception):
    """Base class. `delivered` lists the PublishResults of a batch that were stored before the failure."""

    delivered: List["PublishResult"] = []


class PublishRejected(PublishError):
    """The server refused the classification (4xx other than 429): resending it unchanged will not help."""

    def __init__(self, status: int, problem: Any) -> None:
        self.status = status
        self.problem: Dict[str, Any] = problem if isinstance(problem, dict) else {}
        self.title: str = str(self.problem.get("title") or http.client.responses.get(status, "rejected"))
        self.detail: Optional[str] = self.problem.get("detail")
        self.code: Optional[str] = self.problem.get("code")
        errs = self.problem.get("errors")
        self.errors: List[Dict[str, Any]] = [e for e in errs if isinstance(e, dict)] if isinstance(errs, list) else []
        self.delivered = []
        parts = ["%d %s" % (status, self.title)]
        if self.detail:
            parts.append(str(self.detail))
        parts.extend("%s: %s" % (e.get("path"), e.get("message")) for e in self.errors[:20])
        super().__init__("; ".join(parts))


class PublishUnavailable(PublishError):
    """The server could not be reached, answered 5xx, or asked to retry later (429/503) beyond the wait budget."""

    def __init__(self, message: str, status: Optional[int] = None, retry_after: Optional[float] = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.delivered = []


class OutboxFull(PublishError):
    """The outbox holds its maximum; the classification was NOT stored anywhere."""


class PublishResult(NamedTuple):
    source_id: str
    seq: Optional[int]  # None when spooled
    duplicate: bool  # the server had this source_id already; seq is the original one
    spooled: bool  # went to the outbox; delivered later


class FlushReport(NamedTuple):
    delivered: int  # classifications the server confirmed (new or duplicate)
    duplicates: int  # ... of which the server had already (a redelivery after a crash)
    rejected: int  # moved to the .rejected file (the server refused them: 4xx)
    corrupt: int  # unreadable outbox lines skipped (disk corruption; never a torn last line)
    drained: bool  # nothing left in the outbox
    error: Optional[str]  # why delivery stopped early
    retry_after: Optional[float]  # the server asked to wait this long


# ---------------------------------------------------------------------------------------------------------
# Small helpers


def _dumps(obj: Any, ascii_only: bool = False) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=ascii_only, allow_nan=False).encode("utf-8")


def _check(classification: Any) -> bytes:
    """What the server cannot possibly accept is refused here, before it reaches the outbox."""
    if not isinstance(classification, Mapping):
        raise ValueError("a classification is a dict, got %s" % type(classification).__name__)
    sid = classification.get("source_id")
    if not isinstance(sid, str) or not sid:
        raise ValueError("classification without a source_id (the idempotency key)")
    try:
        body = _dumps(dict(classification))
    except (TypeError, ValueError) as e:
        raise ValueError("classification %s is not JSON: %s" % (sid, e)) from None
    if len(body) > MAX_SINGLE_BYTES:
        raise ValueError("classification %s is %d bytes, over %d" % (sid, len(body), MAX_SINGLE_BYTES))
    return body


# ---------------------------------------------------------------------------------------------------------
# The server's classification schema (shared/src/signal.ts, ClassificationSchema), for records about to be
# spooled: while the server is away nobody else can say "refused", and a record that is refused only at flush
# has left the caller long before. Written to refuse nothing the server accepts (a rule here may be looser than
# the server's, never stricter); server/test/python-publisher.test.ts checks that against the schema itself.
# Lengths are in code points, as zod counts them (Python's len()).

_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*", re.ASCII)
_SOURCE_ID = re.compile(r"[\x21-\x7e]+", re.ASCII)
_SYMBOL = re.compile(r"[A-Za-z0-9.\-_/:]+", re.ASCII)
_EXCHANGE = re.compile(r"[A-Z][A-Z0-9_-]*", re.ASCII)
_CURRENCY = re.compile(r"[A-Z][A-Z0-9]*", re.ASCII)
# zod's iso.datetime({offset: true}): a real calendar date, seconds required, Z or +hh:mm.
_DATE = (
    r"(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])"
    r"-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))"
)
_DATETIME = re.compile(
    _DATE + r"T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)", re.ASCII
)
# Only the scheme: the server's WHATWG URL parser decides the rest (looser here, never stricter).
_URL = re.compile(r"[\x00-\x20]*https?:.*", re.ASCII | re.IGNORECASE | re.DOTALL)
_ENUMS = {
    "direction": ("long", "short", "neutral"),
    "action": ("enter", "exit", "avoid", "info"),
    "asset_class": ("us_equity", "crypto"),
    "timeframe": ("immediate", "intraday", "swing"),
}
_META_MAX_BYTES, _META_MAX_DEPTH, _META_MAX_KEYS = 4096, 4, 64


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _depth(v: Any, d: int) -> int:
    if isinstance(v, Mapping):
        return max([d + 1] + [_depth(x, d + 1) for x in v.values()])
    if isinstance(v, list):
        return max([d + 1] + [_depth(x, d + 1) for x in v])
    return d


def _js_json(v: Any) -> Any:
    """Integral floats as JavaScript prints them (1.0 -> 1), so a byte count matches JSON.stringify's."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return int(v)
    if isinstance(v, Mapping):
        return {k: _js_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_js_json(x) for x in v]
    return v


def _string(v: Any, lo: int, hi: int, pattern: Optional["re.Pattern[str]"] = None, what: str = "") -> Optional[str]:
    if not isinstance(v, str):
        return "expected a string"
    if not lo <= len(v) <= hi:
        return "length %d is outside %d..%d" % (len(v), lo, hi)
    if pattern is not None and not pattern.fullmatch(v):
        return what or "invalid format"
    return None


def _number(v: Any, lo: Optional[float] = None, hi: Optional[float] = None, positive: bool = False) -> Optional[str]:
    if not _is_number(v):
        return "expected a finite number"
    if positive and not v > 0:
        return "must be > 0"
    if lo is not None and v < lo:
        return "must be >= %s" % lo
    if hi is not None and v > hi:
        return "must be <= %s" % hi
    return None


def _meta(v: Any) -> Optional[str]:
    if not isinstance(v, Mapping):
        return "expected an object"
    if any(not isinstance(k, str) or len(k) > 64 for k in v):
        return "keys are strings of at most 64 characters"
    if len(v) > _META_MAX_KEYS:
        return "at most %d keys" % _META_MAX_KEYS
    if _depth(v, 0) > _META_MAX_DEPTH:
        return "nested deeper than %d" % _META_MAX_DEPTH
    try:
        size = len(json.dumps(_js_json(v), separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError):
        return "not JSON"
    return "larger than %d bytes as JSON" % _META_MAX_BYTES if size > _META_MAX_BYTES else None


_FIELDS: Dict[str, Callable[[Any], Optional[str]]] = {
    "source_id": lambda v: _string(v, 1, 128, _SOURCE_ID, "printable ASCII without spaces"),
    "symbol": lambda v: _string(v, 1, 32, _SYMBOL, "letters, digits and . - _ / :"),
    "catalyst": lambda v: _string(v, 1, 40, _SLUG, "lower-case slug"),
    "direction": lambda v: None if v in _ENUMS["direction"] else "one of long, short, neutral",
    "action": lambda v: None if v in _ENUMS["action"] else "one of enter, exit, avoid, info",
    "asset_class": lambda v: None if v in _ENUMS["asset_class"] else "one of us_equity, crypto",
    "exchange": lambda v: _string(v, 1, 16, _EXCHANGE, "upper-case slug"),
    "currency": lambda v: _string(v, 2, 10, _CURRENCY, "upper-case code"),
    "confidence": lambda v: _number(v, 0, 1),
    "score": lambda v: _number(v),
    "sentiment": lambda v: _number(v, -1, 1),
    "keywords": lambda v: (
        "expected a list of at most 16 lower-case slugs"
        if not isinstance(v, list) or len(v) > 16 or any(_string(k, 1, 40, _SLUG) for k in v)
        else None
    ),
    "relevance": lambda v: _number(v, 0),
    "price": lambda v: _number(v, positive=True),
    "position_size_pct": lambda v: _number(v, hi=100, positive=True),
    "timeframe": lambda v: None if v in _ENUMS["timeframe"] else "one of immediate, intraday, swing",
    "headline": lambda v: _string(v, 1, 500),
    "url": lambda v: _string(v, 1, 2048, _URL, "an http(s) URL"),
    "source": lambda v: _string(v, 1, 100),
    "published_at": lambda v: _string(v, 1, 40, _DATETIME, "an ISO 8601 time with offset"),
    "classified_at": lambda v: _string(v, 1, 40, _DATETIME, "an ISO 8601 time with offset"),
    "expires_at": lambda v: _string(v, 1, 40, _DATETIME, "an ISO 8601 time with offset"),
    "stop_loss": lambda v: _number(v, positive=True),
    "take_profit": lambda v: _number(v, positive=True),
    "meta": _meta,
}
_REQUIRED = ("source_id", "symbol", "catalyst", "confidence", "price", "headline", "classified_at")


def problems(classification: Any) -> List[str]:
    """Why the server would refuse this classification, as `field: message` lines; [] when it would not (as far
    as this file can tell: the server may still refuse what this accepts, never the other way round)."""
    if not isinstance(classification, Mapping):
        return ["(classification): expected an object"]
    out = ["%s: required" % k for k in _REQUIRED if k not in classification]
    for k, v in classification.items():
        check = _FIELDS.get(k) if isinstance(k, str) else None
        if check is None:
            out.append("%s: unknown field" % k)
            continue
        # An optional field sent as null is refused by the server too (it wants absent, not null).
        why = check(v)
        if why:
            out.append("%s: %s" % (k, why))
    action, direction = classification.get("action"), classification.get("direction")
    if "action" not in classification and "direction" not in classification:
        out.append("direction: required when action is absent")
    if action == "enter" and direction not in ("long", "short"):
        out.append("direction: action enter needs direction long or short")
    return out


def _check_spoolable(classification: Mapping[str, Any]) -> None:
    """Refuse, before the outbox, what the server would refuse at delivery (ValueError naming every field)."""
    found = problems(classification)
    if found:
        raise ValueError(
            "classification %s would be refused by the server, not spooled: %s"
            % (classification.get("source_id"), "; ".join(found))
        )


def _check_batch_spoolable(items: Sequence[Mapping[str, Any]], offset: int) -> None:
    """_check_spoolable for a batch: nothing is spooled if one item would be refused; the index is the caller's."""
    for i, c in enumerate(items):
        found = problems(c)
        if found:
            raise ValueError(
                "item [%d] (%s) would be refused by the server, nothing spooled: %s"
                % (i + offset, c.get("source_id"), "; ".join(found))
            )


def _retry_after(value: Optional[str]) -> float:
    """Retry-After as seconds (delta-seconds or an HTTP date); 1 s when absent or unreadable."""
    if not value:
        return 1.0
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, (when - _dt.datetime.now(_dt.timezone.utc)).total_seconds())
    except (TypeError, ValueError):
        return 1.0


def _fsync_dir(path: str) -> None:
    """Make a rename durable. Windows cannot open a directory; its NTFS journals renames itself."""
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: str, data: bytes) -> None:
    tmp = "%s.tmp.%d.%d" % (path, os.getpid(), threading.get_ident())
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _fsync_dir(os.path.dirname(path))


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock_fd(fd: int, blocking: bool = True) -> bool:
        while True:
            try:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                return True
            except OSError:
                if not blocking:
                    return False
                time.sleep(0.05)  # msvcrt has no blocking lock without a 10 s give-up

    def _unlock_fd(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock_fd(fd: int, blocking: bool = True) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def _file_lock(path: str, blocking: bool = True) -> Iterator[bool]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        got = _lock_fd(fd, blocking)
        try:
            yield got
        finally:
            if got:
                _unlock_fd(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------------------
# The outbox: a durable FIFO of classifications


class Outbox:
    """Durable, bounded FIFO spool of classifications.

    Files (all beside `path`):
      path            line 1: header {"outbox":1,"id":<random>}; then one record per line. Every line is
                      `<crc32 of the JSON, 8 hex> <JSON>\\n`. A record is {"t": enqueue time, "c": classification}.
                      Appends are written, flushed and fsynced before `append` returns.
      path.offset     {"id","offset"}: bytes of the spool with this id already delivered (atomic replace).
      path.rejected   classifications the server refused (4xx) while being delivered, with its answer.
      path.lock       inter-process lock (appends, progress, compaction), path.deliver.lock: one deliverer.

    A crash mid-append leaves a last line without its newline (or with a wrong CRC): it is detected, never
    parsed, and cut off before the next append. Compaction writes the undelivered tail to a new spool with a
    NEW id and renames it over the old one before it writes the new offset: a crash in between leaves an offset
    file naming the old id, which then counts as "nothing delivered" of the new spool - redelivery, never loss.
    """

    def __init__(self, path: str, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.path = os.path.abspath(path)
        self.dir = os.path.dirname(self.path)
        self.offset_path = self.path + ".offset"
        self.rejected_path = self.path + ".rejected"
        self.lock_path = self.path + ".lock"
        self.deliver_lock_path = self.path + ".deliver.lock"
        self.max_bytes = max_bytes
        self._tlock = threading.RLock()
        self._held = 0
        os.makedirs(self.dir, exist_ok=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._tlock:
            if self._held:  # re-entered by this thread: the file lock is already ours
                self._held += 1
                try:
                    yield
                finally:
                    self._held -= 1
                return
            with _file_lock(self.lock_path):
                self._held = 1
                try:
                    yield
                finally:
                    self._held = 0

    @contextlib.contextmanager
    def delivering(self) -> Iterator[bool]:
        """Non-blocking: yields False when another process is delivering this outbox right now."""
        with _file_lock(self.deliver_lock_path, blocking=False) as got:
            yield got

    # -- encoding

    @staticmethod
    def _line(obj: Any) -> bytes:
        payload = _dumps(obj, ascii_only=True)  # ASCII JSON never contains a raw newline
        return b"%08x %s\n" % (zlib.crc32(payload) & 0xFFFFFFFF, payload)

    @staticmethod
    def _parse(line: bytes) -> Optional[Dict[str, Any]]:
        if not line.endswith(b"\n") or len(line) < 11 or line[8:9] != b" ":
            return None
        payload = line[9:-1]
        try:
            if int(line[:8], 16) != zlib.crc32(payload) & 0xFFFFFFFF:
                return None
            obj = json.loads(payload.decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            return None
        return obj if isinstance(obj, dict) else None

    # -- state (callers hold the lock)

    def _new_spool(self, tail: bytes = b"") -> Tuple[str, int]:
        sid = os.urandom(8).hex()
        header = self._line({"outbox": 1, "id": sid})
        _write_atomic(self.path, header + tail)
        _write_atomic(self.offset_path, _dumps({"id": sid, "offset": len(header)}))
        return sid, len(header)

    def _state(self) -> Tuple[str, int, int]:
        """(spool id, delivered offset, size); creates the spool, cuts off a torn last line."""
        try:
            with open(self.path, "rb") as f:
                header = f.readline(4096)
                size = os.fstat(f.fileno()).st_size
                last = b""
                if size > len(header):
                    f.seek(size - 1)
                    last = f.read(1)
        except FileNotFoundError:
            header, size, last = b"", 0, b""
        h = self._parse(header) if header else None
        if h is None or "id" not in h:
            if size > 0:
                log.error("outbox %s has no readable header; starting a new spool (kept as .bad)", self.path)
                os.replace(self.path, self.path + ".bad")
            sid, off = self._new_spool()
            return sid, off, off
        sid, hlen = str(h["id"]), len(header)
        off = hlen
        try:
            with open(self.offset_path, "rb") as f:
                st = json.loads(f.read(4096).decode("utf-8"))
            if st.get("id") == sid and isinstance(st.get("offset"), int) and hlen <= st["offset"] <= size:
                off = st["offset"]
        except (OSError, ValueError):
            pass  # no progress recorded: everything in this spool is undelivered (redelivery, never loss)
        if size > hlen and last != b"\n":
            size = self._cut_torn_tail(off, size)
        return sid, off, size

    def _cut_torn_tail(self, off: int, size: int) -> int:
        end = off
        with open(self.path, "rb") as f:
            f.seek(off)
            while True:
                line = f.readline(MAX_LINE_BYTES)
                if not line.endswith(b"\n"):
                    break
                end += len(line)
        log.warning("outbox %s: dropping a torn last record (%d bytes) left by a crash", self.path, size - end)
        with open(self.path, "r+b") as f:
            f.truncate(end)
            f.flush()
            os.fsync(f.fileno())
        return end

    # -- operations

    def append(self, classifications: Sequence[Mapping[str, Any]]) -> None:
        now = time.time()
        data = b"".join(self._line({"t": now, "c": dict(c)}) for c in classifications)
        with self._locked():
            _sid, off, size = self._state()
            if size - off + len(data) > self.max_bytes:
                raise OutboxFull(
                    "outbox %s is full (%d bytes pending, max %d): classification not stored"
                    % (self.path, size - off, self.max_bytes)
                )
            with open(self.path, "ab") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())

    def has_pending(self) -> bool:
        with self._locked():
            _sid, off, size = self._state()
            return size > off

    def read_batch(
        self, max_items: int, max_bytes: int
    ) -> Tuple[str, List[Tuple[Optional[Dict[str, Any]], int]]]:
        """Oldest undelivered records as (record or None if corrupt, offset just after it)."""
        out: List[Tuple[Optional[Dict[str, Any]], int]] = []
        with self._locked():
            sid, off, size = self._state()
            pos, total = off, 0
            with open(self.path, "rb") as f:
                f.seek(off)
                while pos < size and len(out) < max_items and total < max_bytes:
                    line = f.readline(MAX_LINE_BYTES)
                    if not line.endswith(b"\n"):
                        if f.tell() >= size:
                            break  # end of data (a torn tail is cut off by _state under this lock)
                        while True:  # a line longer than any record we write: corruption, skip it whole
                            chunk = f.readline(MAX_LINE_BYTES)
                            if not chunk or chunk.endswith(b"\n"):
                                break
                        line = b""
                    pos = f.tell()
                    rec = self._parse(line) if line else None
                    if rec is not None and not isinstance(rec.get("c"), dict):
                        rec = None
                    if rec is None:
                        log.error("outbox %s: skipping an unreadable record before offset %d", self.path, pos)
                    elif out and total + len(line) > max_bytes:
                        break
                    out.append((rec, pos))
                    total += len(line)
        return sid, out

    def commit(self, sid: str, end: int) -> None:
        """Everything before `end` is delivered. Persisted before it returns."""
        with self._locked():
            cur, off, size = self._state()
            if cur != sid or end <= off:
                return
            _write_atomic(self.offset_path, _dumps({"id": sid, "offset": end}))
            if end >= size or end >= COMPACT_AFTER_BYTES:
                try:
                    with open(self.path, "rb") as f:
                        f.seek(end)
                        tail = f.read()
                    self._new_spool(tail)
                except OSError as e:  # e.g. Windows refuses to replace a file another process has open
                    log.warning("outbox %s: compaction postponed: %s", self.path, e)

    def reject(self, sid: str, end: int, record: Mapping[str, Any], problem: Mapping[str, Any]) -> None:
        """Move a record the server refused to path.rejected, then count it delivered."""
        with self._locked():
            with open(self.rejected_path, "ab") as f:
                f.write(_dumps({"t": time.time(), "c": record.get("c"), "problem": dict(problem)}, True) + b"\n")
                f.flush()
                os.fsync(f.fileno())
            self.commit(sid, end)

    def status(self) -> Dict[str, Any]:
        depth, oldest, corrupt = 0, None, 0
        with self._locked():
            _sid, off, size = self._state()
            with open(self.path, "rb") as f:
                f.seek(off)
                for line in f:
                    rec = self._parse(line)
                    if rec is None:
                        corrupt += 1
                        continue
                    depth += 1
                    if oldest is None and isinstance(rec.get("t"), (int, float)):
                        oldest = rec["t"]
        rejected = 0
        if os.path.exists(self.rejected_path):
            with open(self.rejected_path, "rb") as f:
                rejected = sum(1 for _ in f)
        return {
            "path": self.path,
            "depth": depth,
            "pending_bytes": size - off,
            "max_bytes": self.max_bytes,
            "oldest_age_s": None if oldest is None else round(max(0.0, time.time() - oldest), 3),
            "corrupt": corrupt,
            "rejected": rejected,
        }


# ---------------------------------------------------------------------------------------------------------
# HTTP


class _Http:
    """One short-lived connection per request: a few alerts a minute do not need keep-alive, and a fresh
    connection never trips over a server that restarted in between."""

    def __init__(self, url: str, key: str, timeout: float) -> None:
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError("url must be http(s)://host[:port], got %r" % url)
        if not key:
            raise ValueError("a publish key is required")
        self.https = u.scheme == "https"
        self.host = u.hostname
        self.port = u.port
        self.base = u.path.rstrip("/")
        self.origin = "%s://%s" % (u.scheme, u.netloc)
        self.key = key
        self.timeout = timeout

    def request(self, method: str, path: str, body: Optional[bytes] = None) -> Tuple[int, Dict[str, str], bytes]:
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=self.timeout)
        headers = {
            "Authorization": "Bearer " + self.key,
            "Accept": "application/json",
            "User-Agent": "catalyst-publisher-py/" + __version__,
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, self.base + path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read(MAX_RESPONSE_BYTES)
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        except (OSError, http.client.HTTPException) as e:
            raise PublishUnavailable("server unreachable: %s: %s" % (type(e).__name__, e)) from None
        finally:
            conn.close()


def _batch_results(answer: Dict[str, Any], n: int) -> List[PublishResult]:
    rs = answer.get("results")
    if not isinstance(rs, list) or len(rs) != n:
        raise PublishUnavailable("unexpected answer to a batch of %d: %.200r" % (n, answer))
    return [PublishResult(str(r["source_id"]), int(r["seq"]), bool(r["duplicate"]), False) for r in rs]


# ---------------------------------------------------------------------------------------------------------
# The publisher


def _urls(url: Union[str, Sequence[str]]) -> List[str]:
    """One URL, a comma-separated list (CATALYST_URL="http://gw1:8787,http://gw2:8787"), or a sequence."""
    parts = url.split(",") if isinstance(url, str) else list(url)
    urls = [u.strip() for u in parts if u and u.strip()]
    if not urls:
        raise ValueError("no server URL given")
    return urls


class Publisher:
    """Publishes classifications; with `outbox_path`, never loses one while the server is down.

    url, key      the server (http://host:port) and a key with the `publish` scope. Several URLs (a list, or
                  comma-separated) are the ingest gateways of one cluster: on a connection error or a 5xx
                  (503 included) the next one is tried at once; the one that answered is used first next time.
                  A 429 or a refusal (4xx) is the answer and is not retried elsewhere.
    outbox_path   spool file for classifications the server could not take now (None: no outbox; then an
                  unreachable server raises PublishUnavailable).
    timeout       seconds per HTTP request (connect + answer).
    max_wait      total seconds `publish`/`publish_batch` may wait on 429/503 Retry-After before spooling
                  (or raising, without an outbox). 0 = never wait.
    background    start a daemon thread that delivers the outbox (else call `flush()` yourself).
    on_delivered  optional callback(list of PublishResult) after outbox records were confirmed by the server.
    """

    def __init__(
        self,
        url: str,
        key: str,
        outbox_path: Optional[str] = None,
        timeout: float = 5.0,
        max_wait: float = 10.0,
        background: bool = False,
        outbox_max_bytes: int = 64 * 1024 * 1024,
        batch_size: int = 100,
        on_delivered: Optional[Callable[[List[PublishResult]], None]] = None,
    ) -> None:
        self._https = [_Http(u, key, timeout) for u in _urls(url)]
        self._current = 0  # the gateway that answered last
        self.max_wait = max(0.0, float(max_wait))
        self.outbox: Optional[Outbox] = Outbox(outbox_path, outbox_max_bytes) if outbox_path else None
        self.batch_size = max(1, min(int(batch_size), MAX_BATCH))
        self.on_delivered = on_delivered
        self._deliver_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        # Test seam: called with the delivered batch after the server confirmed it and before the progress is
        # saved (the crash window that exactly-once relies on the server's idempotency for).
        self._before_commit: Optional[Callable[[List[PublishResult]], None]] = None
        if background:
            self.start()

    @classmethod
    def from_env(cls, **kwargs: Any) -> "Publisher":
        """URL(s) and key from CATALYST_URL (one URL, or several comma-separated) and CATALYST_PUBLISH_KEY."""
        url = os.environ.get("CATALYST_URL")
        key = os.environ.get("CATALYST_PUBLISH_KEY")
        if not url or not key:
            raise ValueError("set CATALYST_URL and CATALYST_PUBLISH_KEY")
        return cls(url, key, **kwargs)

    def __enter__(self) -> "Publisher":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- sending

    def _post(self, payload: Any) -> Dict[str, Any]:
        """POST to the gateway that answered last, then the others in order while another one might answer.

        Resending the same body to another gateway is safe: the server is idempotent by source_id (a record the
        first gateway stored before dying comes back as a duplicate with its seq)."""
        body = _dumps(payload)
        n = len(self._https)
        errors: List[PublishUnavailable] = []
        for i in range(n):
            idx = (self._current + i) % n
            try:
                answer = self._post_to(self._https[idx], body)
            except PublishUnavailable as e:
                if e.status == 429 or i == n - 1:
                    if errors and e.retry_after is None:
                        # Every gateway failed: wait as long as the one that said how long, if any did.
                        e = next((x for x in errors if x.retry_after is not None), e)
                    raise e
                if n > 1:
                    log.warning("gateway %s unavailable (%s); trying the next", self._https[idx].origin, e)
                errors.append(e)
                continue
            self._current = idx
            return answer
        raise AssertionError("unreachable")

    def _post_to(self, conn: _Http, body: bytes) -> Dict[str, Any]:
        status, headers, data = conn.request("POST", "/v1/signals", body)
        try:
            answer = json.loads(data.decode("utf-8")) if data else None
        except (ValueError, UnicodeDecodeError):
            answer = None
        if status in (200, 201):
            if not isinstance(answer, dict):
                raise PublishUnavailable("answer %d is not JSON (a proxy in the way?)" % status, status)
            return answer
        if status in (429, 503):
            detail = answer.get("detail") if isinstance(answer, dict) else None
            ra = _retry_after(headers.get("retry-after"))
            raise PublishUnavailable("%d %s (retry after %.0f s)" % (status, detail or "retry later", ra), status, ra)
        if status >= 500:
            raise PublishUnavailable("server error %d" % status, status)
        raise PublishRejected(status, answer)

    def _send(self, payload: Any, budget: float) -> Dict[str, Any]:
        """POST, honouring Retry-After while it fits in `budget` seconds; the same body every time."""
        deadline = time.monotonic() + budget
        while True:
            try:
                return self._post(payload)
            except PublishUnavailable as e:
                if e.retry_after is None or e.retry_after > deadline - time.monotonic():
                    raise
                if self._stop.wait(e.retry_after):  # close() interrupts the wait
                    raise

    def _spool(self, items: Sequence[Mapping[str, Any]]) -> None:
        assert self.outbox is not None
        try:
            self.outbox.append(items)
        except OutboxFull as e:
            log.error("%s", e)
            raise
        self._wake.set()

    def send(self, classification: Mapping[str, Any]) -> PublishResult:
        """Publish one classification; PublishResult says new, duplicate or spooled."""
        _check(classification)
        sid = str(classification["source_id"])
        if self.outbox is not None and self.outbox.has_pending():
            _check_spoolable(classification)
            self._spool([classification])  # older ones wait there: keep the order
            return PublishResult(sid, None, False, True)
        try:
            a = self._send(dict(classification), self.max_wait)
        except PublishUnavailable as e:
            if self.outbox is None:
                raise
            _check_spoolable(classification)
            log.warning("signal %s spooled: %s", sid, e)
            self._spool([classification])
            return PublishResult(sid, None, False, True)
        return PublishResult(str(a.get("source_id", sid)), int(a["seq"]), bool(a.get("duplicate")), False)

    def publish(self, classification: Mapping[str, Any]) -> Optional[int]:
        """Publish one classification. Returns its seq (the original one for a duplicate), or None when it
        was spooled to the outbox. Raises PublishRejected (4xx), ValueError (not a classification),
        PublishUnavailable (no outbox) or OutboxFull."""
        return self.send(classification).seq

    def publish_batch(self, classifications: Sequence[Mapping[str, Any]]) -> List[PublishResult]:
        """Publish many, in order, in batches of <= 500 items and <= 1 MiB. One PublishResult per input.
        A refused batch raises PublishRejected with error paths indexed into YOUR list and `.delivered` set to
        the results of the batches stored before it."""
        items = list(classifications)
        sizes = [len(_check(c)) for c in items]
        if not items:
            return []
        if self.outbox is not None and self.outbox.has_pending():
            _check_batch_spoolable(items, 0)
            self._spool(items)
            return [PublishResult(str(c["source_id"]), None, False, True) for c in items]
        results: List[PublishResult] = []
        start = 0
        while start < len(items):
            end, total = start, 2
            while end < len(items) and end - start < MAX_BATCH and total + sizes[end] + 1 <= MAX_BATCH_BYTES:
                total += sizes[end] + 1
                end += 1
            chunk = [dict(c) for c in items[start:end]]
            try:
                answer = self._send(chunk, self.max_wait)
            except PublishRejected as e:
                for err in e.errors:
                    m = re.match(r"^\[(\d+)\](.*)$", str(err.get("path", "")))
                    if m:
                        err["path"] = "[%d]%s" % (int(m.group(1)) + start, m.group(2))
                e.delivered = results
                raise
            except PublishUnavailable as e:
                if self.outbox is None:
                    e.delivered = results
                    raise
                try:
                    _check_batch_spoolable(items[start:], start)
                except ValueError as bad:
                    bad.delivered = results  # type: ignore[attr-defined]
                    raise
                log.warning("%d signals spooled: %s", len(items) - start, e)
                self._spool(items[start:])
                results.extend(PublishResult(str(c["source_id"]), None, False, True) for c in items[start:])
                return results
            results.extend(_batch_results(answer, len(chunk)))
            start = end
        return results

    # -- the outbox

    def flush(self, max_seconds: Optional[float] = None) -> FlushReport:
        """Deliver the outbox, oldest first, until it is empty, the server is unavailable or `max_seconds`
        pass. Progress is saved after every confirmed batch. Never raises for server trouble: see the report."""
        if self.outbox is None:
            raise ValueError("this publisher has no outbox")
        ob = self.outbox
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        tally = {"delivered": 0, "duplicates": 0, "rejected": 0, "corrupt": 0}
        stop: Tuple[Optional[str], Optional[float]] = (None, None)
        with self._deliver_lock, ob.delivering() as mine:
            if not mine:
                return FlushReport(0, 0, 0, 0, not ob.has_pending(), "another process is delivering", None)
            while stop[0] is None and not self._stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    stop = ("time budget used", None)
                    break
                sid, batch = ob.read_batch(self.batch_size, MAX_BATCH_BYTES - 64 * 1024)
                if not batch:
                    break
                tally["corrupt"] += sum(1 for rec, _ in batch if rec is None)
                good = [(rec, end) for rec, end in batch if rec is not None]
                try:
                    if good:
                        answer = self._send([rec["c"] for rec, _ in good], 0.0)
                        self._confirmed(sid, batch[-1][1], _batch_results(answer, len(good)), tally)
                    else:
                        ob.commit(sid, batch[-1][1])  # only unreadable lines: step over them
                except PublishRejected as e:
                    if e.status in (400, 413, 422):
                        # At least one record here will never be accepted: find it, one by one.
                        stop = self._deliver_singly(sid, good, tally)
                    else:
                        stop = ("server refused the outbox (%s): fix the key or URL; records kept" % e, None)
                        log.error("%s", stop[0])
                except PublishUnavailable as e:
                    stop = (str(e), e.retry_after)
            drained = not ob.has_pending()
        if tally["delivered"] or tally["rejected"]:
            log.info("outbox: delivered %(delivered)d (%(duplicates)d duplicates), rejected %(rejected)d", tally)
        return FlushReport(
            tally["delivered"], tally["duplicates"], tally["rejected"], tally["corrupt"], drained, stop[0], stop[1]
        )

    def _confirmed(self, sid: str, end: int, results: List[PublishResult], tally: Dict[str, int]) -> None:
        """The server stored (or already had) these: save the progress, then tell."""
        if self._before_commit is not None:
            self._before_commit(results)
        assert self.outbox is not None
        self.outbox.commit(sid, end)
        tally["delivered"] += len(results)
        tally["duplicates"] += sum(1 for r in results if r.duplicate)
        self._notify(results)

    def _deliver_singly(
        self, sid: str, good: List[Tuple[Dict[str, Any], int]], tally: Dict[str, int]
    ) -> Tuple[Optional[str], Optional[float]]:
        assert self.outbox is not None
        for rec, end in good:
            try:
                a = self._send(rec["c"], 0.0)
            except PublishRejected as e:
                if e.status not in (400, 413, 422):
                    log.error("server refused the outbox (%s); records kept", e)
                    return ("server refused the outbox (%s); records kept" % e, None)
                sid_ = rec["c"].get("source_id")
                log.error("outbox: signal %s rejected, moved to %s: %s", sid_, self.outbox.rejected_path, e)
                self.outbox.reject(sid, end, rec, e.problem or {"status": e.status})
                tally["rejected"] += 1
                continue
            except PublishUnavailable as e:
                return (str(e), e.retry_after)
            r = PublishResult(str(a.get("source_id")), int(a["seq"]), bool(a.get("duplicate")), False)
            self._confirmed(sid, end, [r], tally)
        return (None, None)

    def _notify(self, results: List[PublishResult]) -> None:
        if self.on_delivered is not None:
            try:
                self.on_delivered(results)
            except Exception:  # a callback bug must not stall delivery
                log.exception("on_delivered callback failed")

    def status(self) -> Dict[str, Any]:
        if self.outbox is None:
            raise ValueError("this publisher has no outbox")
        return self.outbox.status()

    def start(self) -> None:
        """Start the background delivery thread (a daemon: it never keeps the process alive)."""
        if self.outbox is None:
            raise ValueError("background delivery needs an outbox")
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="catalyst-outbox", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            self._wake.clear()
            try:
                report: Optional[FlushReport] = self.flush()
            except Exception:
                log.exception("outbox delivery failed")
                report = None
            if report is not None and report.error is None and report.drained:
                backoff = 1.0
                self._wake.wait()  # until something is spooled (or close())
                continue
            delay = report.retry_after if report is not None and report.retry_after else backoff
            backoff = min(backoff * 2, 60.0)
            self._stop.wait(delay)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the background thread. Undelivered records stay in the outbox for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


# ---------------------------------------------------------------------------------------------------------
# Catalyst-Bot -> classification


# The server refuses these in text fields (docs/protocol.md, "Text"): C0/C1 controls, bidi marks and overrides,
# invisible separators. A feed title with a line break or a stray zero-width space must not cost the alert.
_UNSAFE_TEXT_RE = re.compile(
    "[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def _plain_text(value: Any) -> str:
    """Feed text as the server accepts it: whitespace controls become spaces, the other refused characters go."""
    text = re.sub(r"[\t\n\r\v\f\u0085\u2028\u2029]+", " ", str(value or ""))
    return _UNSAFE_TEXT_RE.sub("", text).strip()


def catalyst_bot_source_id(ticker: str, title: Optional[str], link: Optional[str]) -> str:
    """Catalyst-Bot's own alert id md5(f"{ticker}:{title}:{link}")[:16] (alerts.py), prefixed "cb-" so it
    cannot collide with another publisher's ids on the same server (19 chars, well inside the 128 allowed)."""
    raw = "%s:%s:%s" % (ticker.upper(), title or "", link or "")
    return SOURCE_ID_PREFIX + hashlib.md5(raw.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _num(value: Any) -> Optional[float]:
    """float(value) for numbers and Decimals; None for None, non-numbers, NaN and infinities."""
    if value is None or isinstance(value, bool):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _iso(value: Any) -> Optional[str]:
    """ISO 8601 with offset. Accepts aware/naive (taken as UTC) datetimes, ISO strings, Unix seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        dt = _dt.datetime.fromtimestamp(value, _dt.timezone.utc)
    elif isinstance(value, _dt.datetime):
        dt = value
    elif isinstance(value, str):
        s = value.strip()
        dt = _dt.datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s)  # 3.9 has no "Z"
    else:
        raise ValueError("not a time: %r" % (value,))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_dt.timezone.utc)
    return dt.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds")


def slug(value: Any) -> Optional[str]:
    """A keyword as the wire wants it: lower-case [a-z0-9_-], starting alphanumeric, <= 40 chars."""
    s = re.sub(r"[^a-z0-9_-]+", "_", str(value).strip().lower())
    s = re.sub(r"^[^a-z0-9]+", "", s)[:40].rstrip("_-")
    return s or None


def _keyword_weights(keyword_hits: Any) -> List[Tuple[str, float]]:
    """Catalyst-Bot's keyword_hits is a list (old) or a dict keyword -> weight (new): (slug, weight), deduped."""
    pairs: List[Tuple[Any, Any]]
    if isinstance(keyword_hits, Mapping):
        pairs = list(keyword_hits.items())
    elif isinstance(keyword_hits, (list, tuple, set, frozenset)):
        pairs = [(k, 1.0) for k in keyword_hits]
    elif isinstance(keyword_hits, str):
        pairs = [(keyword_hits, 1.0)]
    else:
        pairs = []
    out: Dict[str, float] = {}
    for k, w in pairs:
        s = slug(k)
        if s is not None:
            out[s] = max(out.get(s, 0.0), _num(w) or 0.0)
    return list(out.items())


def _strongest(weights: List[Tuple[str, float]], action: str) -> str:
    """The catalyst: the keyword that decided the action, as the bot decides it."""
    if action == "exit":
        hits = [k for k, _ in weights if k in CLOSE_KEYWORDS]
    elif action == "avoid":
        hits = [k for k, _ in weights if k in AVOID_KEYWORDS]
    else:
        buy = [(w * BUY_BASE_CONFIDENCE[k], k) for k, w in weights if k in BUY_BASE_CONFIDENCE]
        hits = [max(buy)[1]] if buy else [k for k, _ in sorted(weights, key=lambda kw: -kw[1])]
    return hits[0] if hits else "other"


def from_catalyst_bot(
    ticker: str,
    title: str,
    link: Optional[str],
    source: Optional[str],
    price: Any,
    score: Any,
    sentiment: Any,
    keyword_hits: Any,
    relevance: Any = None,
    trading_signal: Any = None,
    published_at: Any = None,
    exchange: Optional[str] = None,
    expires_at: Any = None,
    classified_at: Any = None,
    meta: Optional[Mapping[str, Any]] = None,
    protocol: int = 2,
) -> Dict[str, Any]:
    """One Catalyst-Bot alert as a classification (docs/publishing.md has the field table).

    trading_signal: Catalyst-Bot's TradingSignal (object or dict) from SignalGenerator.generate_signal, or None.
    Its action decides: buy -> enter/long, close/sell -> exit; without one, an AVOID keyword -> avoid, else info.
    position_size_pct is passed on in PERCENT, as the bot's SignalGenerator computes it (3.06 = 3.06 %).
    protocol=1 produces only v1 fields (for a server without signal v2): the v2 ones go into `meta`.
    Raises ValueError when the alert cannot be a classification (no ticker, title or positive price)."""
    symbol = (ticker or "").strip().upper()
    if not _SYMBOL_RE.match(symbol):
        raise ValueError("ticker %r is not a symbol" % (ticker,))
    headline = _plain_text(title)[:500]
    if not headline:
        raise ValueError("alert for %s has no title" % symbol)
    ts = trading_signal
    px = _num(price)
    if px is None or px <= 0:
        px = _num(_get(ts, "current_price")) or _num(_get(ts, "entry_price"))
    if px is None or px <= 0:
        raise ValueError("alert for %s has no price" % symbol)
    weights = _keyword_weights(keyword_hits)

    ts_action = str(_get(ts, "action", "") or "").lower() if ts is not None else ""
    if ts_action == "buy":
        action = "enter"
    elif ts_action in ("close", "sell"):
        action = "exit"
    elif any(k in AVOID_KEYWORDS for k, _ in weights) and not ts_action:
        action = "avoid"  # the bot decides "avoid" but returns no TradingSignal for it
    else:
        action = "info"

    if action == "enter":
        confidence = _num(_get(ts, "confidence"))
        confidence = 0.0 if confidence is None else min(1.0, max(0.0, confidence))
    elif action in ("exit", "avoid"):
        confidence = 1.0  # rule-based: a CLOSE/AVOID keyword fired
    else:
        confidence = 0.0  # an alert with no action claims nothing

    c: Dict[str, Any] = {
        "source_id": catalyst_bot_source_id(ticker, title, link),
        "symbol": symbol,
        "catalyst": _strongest(weights, action),
        "direction": "long" if action == "enter" else "neutral",
        "confidence": round(confidence, 6),
        "price": px,
        "headline": headline,
        "classified_at": _iso(classified_at) or _iso(_dt.datetime.now(_dt.timezone.utc)),
    }
    sc = _num(score)
    if sc is not None:
        c["score"] = sc
    if link and re.match(r"^https?://", link, re.I) and len(link) <= 2048 and not _UNSAFE_TEXT_RE.search(link):
        c["url"] = link
    if _plain_text(source):
        c["source"] = _plain_text(source)[:100]
    try:
        published = _iso(published_at)
    except ValueError:  # feeds carry RFC 2822 dates too; a news time is a hint, never a reason to drop the alert
        try:
            published = _iso(email.utils.parsedate_to_datetime(str(published_at)))
        except (TypeError, ValueError):
            published = None
    if published is not None:
        c["published_at"] = published
    expires = _iso(expires_at)  # an unreadable expiry IS an error: acting after it would be unsafe
    if expires is not None:
        c["expires_at"] = expires
    if action == "enter":
        for name, attr in (("stop_loss", "stop_loss_price"), ("take_profit", "take_profit_price")):
            v = _num(_get(ts, attr))
            if v is not None and v > 0:
                c[name] = v

    v2: Dict[str, Any] = {"action": action, "asset_class": "us_equity", "currency": "USD"}
    if exchange and _EXCHANGE_RE.match(exchange.strip().upper()):
        v2["exchange"] = exchange.strip().upper()
    sent = _num(sentiment)
    if sent is not None:
        v2["sentiment"] = min(1.0, max(-1.0, sent))
    if weights:
        v2["keywords"] = [k for k, _ in sorted(weights, key=lambda kw: -kw[1])][:16]
    rel = _num(relevance)
    if rel is not None and rel >= 0:
        v2["relevance"] = rel
    if action == "enter":
        pct = _num(_get(ts, "position_size_pct"))
        if pct is not None and 0 < pct <= 100:
            v2["position_size_pct"] = pct
    tf = TIMEFRAMES.get(str(_get(ts, "timeframe", "") or "").lower()) if ts is not None else None
    if tf is not None and action in ("enter", "exit"):
        v2["timeframe"] = tf

    extra: Dict[str, Any] = dict(meta or {})
    if protocol >= 2:
        c.update(v2)
    else:
        extra.update(v2)
    if extra:
        c["meta"] = extra
    return c


def from_alert(
    item: Mapping[str, Any], scored: Any, last_price: Any, trading_signal: Any = None, **kwargs: Any
) -> Dict[str, Any]:
    """from_catalyst_bot() fed straight from what alerts.send_alert_safe() holds: item_dict, scored (ScoredItem
    or dict) and last_price."""
    total = _get(scored, "total")
    if total is None and isinstance(scored, Mapping):
        total = scored.get("total_score")
    if total is None:
        rel, weight = _num(_get(scored, "relevance")), _num(_get(scored, "source_weight"))
        total = rel * weight if rel is not None and weight is not None else rel
    hits = _get(scored, "keyword_hits") or _get(scored, "tags") or []
    return from_catalyst_bot(
        ticker=str(item.get("ticker") or ""),
        title=str(item.get("title") or ""),
        link=item.get("link") or "",
        source=item.get("source"),
        price=last_price,
        score=total,
        sentiment=_get(scored, "sentiment"),
        keyword_hits=hits,
        relevance=_get(scored, "relevance"),
        trading_signal=trading_signal,
        published_at=kwargs.pop("published_at", None) or item.get("ts_utc") or item.get("ts"),
        **kwargs,
    )


def publish_alert(publisher: Publisher, *args: Any, **kwargs: Any) -> Optional[int]:
    """from_alert + publish for an alert loop: never raises, logs instead; returns the seq or None."""
    try:
        return publisher.publish(from_alert(*args, **kwargs))
    except (PublishError, ValueError) as e:
        log.warning("signal not published: %s", e)
        return None


# ---------------------------------------------------------------------------------------------------------
# CLI


def _cli_publisher(a: argparse.Namespace) -> Publisher:
    url = ",".join(a.url) if a.url else os.environ.get("CATALYST_URL")
    key = a.key or os.environ.get("CATALYST_PUBLISH_KEY")
    if not url or not key:
        raise SystemExit("error: give --url and --key (or set CATALYST_URL and CATALYST_PUBLISH_KEY)")
    return Publisher(url, key, outbox_path=a.outbox, timeout=a.timeout, max_wait=a.max_wait)


def _cmd_send(a: argparse.Namespace) -> int:
    pub = _cli_publisher(a)
    bad = 0
    stream = sys.stdin if a.file == "-" else open(a.file, encoding="utf-8")
    with stream:
        for n, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                r = pub.send(json.loads(line))
            except PublishRejected as e:
                bad += 1
                print("line %d: rejected: %s" % (n, e))
                continue
            except (ValueError, OutboxFull) as e:
                bad += 1
                print("line %d: invalid: %s" % (n, e))
                continue
            except PublishUnavailable as e:
                print("line %d: unavailable: %s (stopped; no --outbox given)" % (n, e))
                return 3
            what = "spooled" if r.spooled else ("duplicate" if r.duplicate else "accepted")
            print("line %d: %s%s %s" % (n, what, "" if r.seq is None else " seq=%d" % r.seq, r.source_id))
    return 1 if bad else 0


def _cmd_flush(a: argparse.Namespace) -> int:
    if not a.outbox:
        raise SystemExit("error: flush needs --outbox (or CATALYST_OUTBOX)")
    rep = _cli_publisher(a).flush(a.max_seconds)
    print(json.dumps(rep._asdict()))
    return 0 if rep.error is None and rep.drained else 2


def _cmd_status(a: argparse.Namespace) -> int:
    if not a.outbox:
        raise SystemExit("error: status needs --outbox (or CATALYST_OUTBOX)")
    print(json.dumps(Outbox(a.outbox).status()))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(
        prog="catalyst_publisher.py",
        description="Publish classifications to a Catalyst signal server (docs/publishing.md).",
    )
    p.add_argument(
        "--url",
        action="append",
        help="server URL; repeat it (or comma-separate) for the gateways of a cluster (default: env CATALYST_URL)",
    )
    p.add_argument("--key", help="publish key (default: env CATALYST_PUBLISH_KEY)")
    p.add_argument(
        "--outbox",
        default=os.environ.get("CATALYST_OUTBOX"),
        help="outbox spool file (default: env CATALYST_OUTBOX; send spools there when the server is down)",
    )
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per request (default 5)")
    p.add_argument("--max-wait", type=float, default=10.0, help="seconds to honour Retry-After (default 10)")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("send", help="publish one JSON classification per line; exit 1 if any line is refused")
    s.add_argument("file", help="JSONL file, or - for stdin")
    s.set_defaults(run=_cmd_send)
    f = sub.add_parser("flush", help="deliver the outbox now; exit 2 if something is left")
    f.add_argument("--max-seconds", type=float, default=None, help="stop after this long")
    f.set_defaults(run=_cmd_flush)
    st = sub.add_parser("status", help="outbox depth, pending bytes, oldest age (no server needed)")
    st.set_defaults(run=_cmd_status)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO if a.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    return int(a.run(a))


if __name__ == "__main__":
    sys.exit(main())
