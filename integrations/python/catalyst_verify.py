#!/usr/bin/env python3
"""Verify Catalyst signal signatures with the Python standard library only (Python >= 3.9).

Vendor this one file. Each signal carries `sig`, a detached compact JWS (RFC 7515 appendix F, alg EdDSA /
Ed25519, RFC 8037) over the UTF-8 bytes of the RFC 8785 canonical JSON (JCS) of the signal without `sig`.
The check is generic over fields: whatever the server sent, minus `sig`, is canonicalised, so signals with
fields added in later protocol versions keep verifying.

    from catalyst_verify import verify
    ok = verify(signal_dict, jwks_dict)        # jwks: GET /v1/keys/signing

Command line: page GET /v1/signals and verify every signal:

    python3 catalyst_verify.py --server http://127.0.0.1:8787        # the read key from CATALYST_READ_KEY
    python3 catalyst_verify.py --server http://gw1:8787 --server http://gw2:8787   # a cluster

prints `verified N, failed M`. Exit codes: 0 every signal verified; 1 a signal failed, or the signing key is not
the --fingerprint; 2 bad arguments, or the server refused the read key (401/403); 3 no server could be asked
(connection refused, TLS failed, timeout, an error answer, or an answer that is not a Catalyst server's). Each
failure to ask is one line on stderr, never a traceback.

Ed25519 is implemented here from RFC 8032 (section 5.1) because the standard library has none. It is a
verifier only (public data, no secrets), so it does not need to be constant-time.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import os
import socket
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterator, List, Optional, Tuple

__all__ = ["verify", "check", "canonical_json", "VerificationError", "ed25519_verify", "jwk_thumbprint"]


class VerificationError(Exception):
    """A signal that does not verify; the message says why."""


# ---------------------------------------------------------------------------------------------------------
# RFC 8785 canonical JSON
# ---------------------------------------------------------------------------------------------------------


def _es_number(x: Any) -> str:
    """A number as ECMAScript's Number.prototype.toString prints it (RFC 8785 section 3.2.2.3)."""
    f = float(x)  # an int above 2**53 rounds to the nearest double, as a JavaScript parser does
    if math.isnan(f) or math.isinf(f):
        raise VerificationError(f"non-finite number {x!r} has no canonical form")
    if f == 0:
        return "0"  # also -0
    if f < 0:
        return "-" + _es_number(-f)
    # repr() is the shortest string that round-trips, the same digits ECMAScript chooses; only the layout
    # (where the point and the exponent go) differs, so take the digits and lay them out the ECMAScript way.
    mantissa, _, exp = repr(f).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    n = len(whole) + int(exp or 0) - (len(whole + frac) - len((whole + frac).lstrip("0")))
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    head = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{head}e{sign}{abs(e)}"


_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _es_string(s: str) -> str:
    """A string per RFC 8785 section 3.2.2.2. A lone surrogate is not I-JSON and has no canonical form."""
    out = ['"']
    for c in s:
        o = ord(c)
        if c in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[c])
        elif o < 0x20:
            out.append(f"\\u{o:04x}")
        elif 0xD800 <= o <= 0xDFFF:
            raise VerificationError("string with a lone surrogate has no canonical form (not I-JSON)")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def canonical_json(value: Any) -> str:
    """RFC 8785 (JCS): no whitespace, keys sorted by UTF-16 code units, ECMAScript numbers."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return _es_number(value)
    if isinstance(value, str):
        return _es_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical_json(v) for v in value) + "]"
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise VerificationError(f"object key {k!r} is not a string")
        # UTF-16-BE bytes compare exactly like UTF-16 code units (differs from code point order above U+FFFF).
        keys = sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        return "{" + ",".join(_es_string(k) + ":" + canonical_json(value[k]) for k in keys) + "}"
    raise VerificationError(f"{type(value).__name__} is not JSON")


# ---------------------------------------------------------------------------------------------------------
# Ed25519 verification (RFC 8032 section 5.1), extended twisted Edwards coordinates
# ---------------------------------------------------------------------------------------------------------

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, -1, _P) % _P
_D2 = 2 * _D % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)

Point = Tuple[int, int, int, int]  # (X, Y, Z, T) with x = X/Z, y = Y/Z, x*y = T/Z
_IDENTITY: Point = (0, 1, 1, 0)


def _add(p: Point, q: Point) -> Point:
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % _P
    b = (y1 + x1) * (y2 + x2) % _P
    c = t1 * _D2 * t2 % _P
    d = 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _double(p: Point) -> Point:
    x1, y1, z1, _ = p
    a = x1 * x1 % _P
    b = y1 * y1 % _P
    c = 2 * z1 * z1 % _P
    h = a + b
    e = h - (x1 + y1) * (x1 + y1)
    g = a - b
    f = c + g
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _neg(p: Point) -> Point:
    x, y, z, t = p
    return (-x % _P, y, z, -t % _P)


def _decode_point(b: bytes) -> Point:
    if len(b) != 32:
        raise VerificationError("point is not 32 bytes")
    n = int.from_bytes(b, "little")
    sign = n >> 255
    y = n & ((1 << 255) - 1)
    if y >= _P:
        raise VerificationError("point y out of range")
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    vx2 = v * x * x % _P
    if vx2 == (-u) % _P:
        x = x * _SQRT_M1 % _P
    elif vx2 != u:
        raise VerificationError("not a curve point")
    if x == 0 and sign:
        raise VerificationError("non-canonical point encoding")
    if x & 1 != sign:
        x = _P - x
    return (x, y, 1, x * y % _P)


def _encode_point(p: Point) -> bytes:
    x, y, z, _ = p
    zi = pow(z, -1, _P)
    x, y = x * zi % _P, y * zi % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


_BY = 4 * pow(5, -1, _P) % _P
_BX = _decode_point(_BY.to_bytes(32, "little"))[0]  # the even root, as RFC 8032 specifies
_B: Point = (_BX, _BY, 1, _BX * _BY % _P)


def _window_table(p: Point) -> List[Point]:
    """[0P, 1P, ..., 15P] for 4-bit windows."""
    t = [_IDENTITY, p]
    for _ in range(14):
        t.append(_add(t[-1], p))
    return t


# Fixed-base table for B: row i holds [j * 16**i] B, so [s]B is 64 additions and no doublings.
_B_ROWS: List[List[Point]] = []
_row_base = _B
for _ in range(64):
    _B_ROWS.append(_window_table(_row_base))
    for _ in range(4):
        _row_base = _double(_row_base)
del _row_base


def _mul_base(s: int) -> Point:
    acc = _IDENTITY
    for i in range(64):
        w = (s >> (4 * i)) & 15
        if w:
            acc = _add(acc, _B_ROWS[i][w])
    return acc


def _mul(s: int, table: List[Point]) -> Point:
    acc = _IDENTITY
    for i in range(63, -1, -1):
        acc = _double(_double(_double(_double(acc))))
        w = (s >> (4 * i)) & 15
        if w:
            acc = _add(acc, table[w])
    return acc


_KEY_CACHE: Dict[bytes, List[Point]] = {}


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """RFC 8032 section 5.1.7 (cofactorless, as OpenSSL and libsodium check: [S]B = R + [k]A)."""
    if len(signature) != 64 or len(public_key) != 32:
        return False
    try:
        table = _KEY_CACHE.get(public_key)
        if table is None:
            table = _window_table(_neg(_decode_point(public_key)))
            if len(_KEY_CACHE) < 64:
                _KEY_CACHE[public_key] = table
        r_bytes = signature[:32]
        _decode_point(r_bytes)  # R must be a valid point
    except VerificationError:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _L:
        return False
    k = int.from_bytes(hashlib.sha512(r_bytes + public_key + message).digest(), "little") % _L
    # [S]B - [k]A must equal R; compare encodings.
    return _encode_point(_add(_mul_base(s), _mul(k, table))) == r_bytes


# ---------------------------------------------------------------------------------------------------------
# JWS / JWKS
# ---------------------------------------------------------------------------------------------------------


def _b64url_decode(s: str) -> bytes:
    if not isinstance(s, str) or "=" in s:
        raise VerificationError("not base64url")
    try:
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    except ValueError as e:
        raise VerificationError(f"not base64url: {e}") from None


def _b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: Dict[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of an OKP key: the server's `kid` and the fingerprint friends pin."""
    members = {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}
    return _b64url(hashlib.sha256(canonical_json(members).encode("utf-8")).digest())


def check(signal: Dict[str, Any], jwks: Dict[str, Any]) -> str:
    """Verify one signal; return the kid it was signed with, or raise VerificationError saying why."""
    if not isinstance(signal, dict):
        raise VerificationError("signal is not an object")
    sig = signal.get("sig")
    if not isinstance(sig, str):
        raise VerificationError("no sig")
    parts = sig.split(".")
    if len(parts) != 3 or parts[1] != "":
        raise VerificationError("sig is not a detached compact JWS (<protected>..<signature>)")
    protected_b64, _, signature_b64 = parts
    try:
        header = json.loads(_b64url_decode(protected_b64))
    except ValueError:
        raise VerificationError("protected header is not JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise VerificationError(f"alg must be EdDSA, got {header.get('alg') if isinstance(header, dict) else header!r}")
    if "crit" in header:
        raise VerificationError("unsupported crit header")
    kid = header.get("kid")
    keys = [
        k
        for k in (jwks.get("keys") or [])
        if isinstance(k, dict) and k.get("kty") == "OKP" and k.get("crv") == "Ed25519" and k.get("kid") == kid
    ]
    if not keys:
        raise VerificationError(f"no Ed25519 key with kid {kid!r} in the JWKS")
    public_key = _b64url_decode(keys[0]["x"])
    unsigned = {k: v for k, v in signal.items() if k != "sig"}
    payload_b64 = _b64url(canonical_json(unsigned).encode("utf-8"))
    signing_input = f"{protected_b64}.{payload_b64}".encode("ascii")
    if not ed25519_verify(public_key, signing_input, _b64url_decode(signature_b64)):
        raise VerificationError("bad signature")
    return kid


def verify(signal: Dict[str, Any], jwks: Dict[str, Any]) -> bool:
    """True when `signal` carries a valid signature by a key of `jwks` (GET /v1/keys/signing)."""
    try:
        check(signal, jwks)
        return True
    except VerificationError:
        return False


# ---------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------


def _get_one(url: str, key: Optional[str] = None) -> Any:
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read().decode("utf-8"))


class _AllFailed(OSError):
    """Every server of a repeated --server failed; the message says how each did."""


def _get_json(servers: List[str], path: str, key: Optional[str] = None) -> Any:
    """GET path from the first server that answers: the gateways of a cluster serve the same log, so the next
    one is asked on a connection error or a 5xx, never on a 4xx (a refused key is refused everywhere)."""
    errors = []
    for i, server in enumerate(servers):
        try:
            return _get_one(server + path, key)
        except urllib.error.HTTPError as e:
            if e.code < 500 or i == len(servers) - 1:
                raise
            errors.append(f"{server}: HTTP {e.code}")
        except (urllib.error.URLError, OSError) as e:
            if i == len(servers) - 1:
                if errors:
                    raise _AllFailed("; ".join(errors + [_why(e, server)])) from None
                raise
            errors.append(_why(e, server))
        print(f"{errors[-1]}; trying the next server", file=sys.stderr)
    raise AssertionError("unreachable")


def _pages(servers: List[str], key: str, after_seq: int, limit: int) -> Iterator[List[Dict[str, Any]]]:
    while True:
        q = urllib.parse.urlencode({"after_seq": after_seq, "limit": limit})
        page = _get_json(servers, f"/v1/signals?{q}", key)
        signals = page["signals"]
        if signals:
            yield signals
        if len(signals) < limit or page["next_after_seq"] <= after_seq:
            return
        after_seq = page["next_after_seq"]


EXIT_FAILED, EXIT_REFUSED, EXIT_UNREACHABLE = 1, 2, 3


def _why(e: BaseException, url: str) -> str:
    """One line a person reads for a request that got no usable answer."""
    reason = e.reason if isinstance(e, urllib.error.URLError) and not isinstance(e, urllib.error.HTTPError) else e
    if isinstance(reason, ConnectionRefusedError):
        return f"connection refused at {url} (is the server running, on that port?)"
    if isinstance(reason, ssl.SSLError):
        hint = " (is the server http, not https?)" if url.startswith("https:") else ""
        return f"TLS handshake with {url} failed{hint}: {reason.reason or reason}"
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return f"no answer from {url} within 30 s"
    if isinstance(reason, socket.gaierror):
        return f"unknown host in {url}"
    if isinstance(reason, OSError) and reason.strerror:
        return f"cannot reach {url}: {reason.strerror}"
    return f"cannot reach {url}: {reason}"


def _problem(e: urllib.error.HTTPError) -> str:
    """The server's problem+json detail, if it sent one."""
    try:
        body = json.loads(e.read().decode("utf-8"))
        return f": {body['detail']}" if isinstance(body, dict) and isinstance(body.get("detail"), str) else ""
    except (ValueError, OSError, UnicodeDecodeError):
        return ""


def main(argv: Optional[List[str]] = None) -> int:
    """The command line: the run, with every way of not getting an answer turned into one line and an exit code."""
    ap = _parser()
    a = ap.parse_args(argv)
    if not a.key:
        ap.error("--key (or CATALYST_READ_KEY) is required")
    given = ",".join(a.server) if a.server else os.environ.get("CATALYST_URL", "http://127.0.0.1:8787")
    servers = [u.strip().rstrip("/") for u in given.split(",") if u.strip()]
    if not servers or any(urllib.parse.urlsplit(u).scheme not in ("http", "https") for u in servers):
        ap.error(f"--server must be http:// or https:// URLs, got {given!r}")
    try:
        return _run(a, servers)
    except urllib.error.HTTPError as e:
        if e.code in (401, 403):
            print(f"catalyst_verify: {e.url} refused the read key (HTTP {e.code}{_problem(e)})", file=sys.stderr)
            return EXIT_REFUSED
        hint = " (is this a Catalyst server?)" if e.code == 404 else ""
        print(f"catalyst_verify: {e.url} answered HTTP {e.code}{_problem(e)}{hint}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except _AllFailed as e:
        print(f"catalyst_verify: no server answered: {e}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except (urllib.error.URLError, OSError) as e:
        print(f"catalyst_verify: {_why(e, servers[-1])}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except (ValueError, KeyError, TypeError, AttributeError):
        print(f"catalyst_verify: {', '.join(servers)} did not answer as a Catalyst server (not its JSON)", file=sys.stderr)
        return EXIT_UNREACHABLE


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="Verify every signal of a Catalyst server (GET /v1/signals).")
    ap.add_argument(
        "--server",
        action="append",
        help="server URL; repeat it (or comma-separate) for the gateways of a cluster"
        " (default $CATALYST_URL, else http://127.0.0.1:8787)",
    )
    ap.add_argument("--key", default=os.environ.get("CATALYST_READ_KEY"), help="read key (default $CATALYST_READ_KEY)")
    ap.add_argument("--after-seq", type=int, default=0)
    ap.add_argument("--limit", type=int, default=1000, help="page size (1-1000)")
    ap.add_argument("--fingerprint", help="expected signing key fingerprint (SHA256:<kid> or <kid>)")
    return ap


def _run(a: argparse.Namespace, servers: List[str]) -> int:
    jwks = _get_json(servers, "/v1/keys/signing")
    for k in jwks.get("keys", []):
        print(f"signing key SHA256:{jwk_thumbprint(k)}")
        if a.fingerprint and jwk_thumbprint(k) != a.fingerprint.removeprefix("SHA256:"):
            print("signing key does not match --fingerprint", file=sys.stderr)
            return EXIT_FAILED
    ok = failed = 0
    for page in _pages(servers, a.key, a.after_seq, a.limit):
        for s in page:
            try:
                check(s, jwks)
                ok += 1
            except VerificationError as e:
                failed += 1
                if failed <= 20:
                    print(f"FAILED seq {s.get('seq')}: {e}", file=sys.stderr)
    print(f"verified {ok}, failed {failed}")
    return EXIT_FAILED if failed else 0


if __name__ == "__main__":
    sys.exit(main())
