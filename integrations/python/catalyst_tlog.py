#!/usr/bin/env python3
"""Check a Catalyst server's transparency log with the Python standard library only (Python >= 3.9).

Vendor this file together with catalyst_verify.py (it uses that file's RFC 8785 canonical JSON and its RFC 8032
Ed25519 verifier: the standard library has no Ed25519). Formats: docs/transparency-log.md and docs/protocol.md
(RFC 6962 hashing, C2SP signed-note, tlog-checkpoint, tlog-proof).

What it checks: a checkpoint's Ed25519 signature (C2SP signed-note, key type 0x01) against a verifier key;
inclusion proofs (RFC 9162 2.1.3.2) and tlog-proof files; consistency proofs (RFC 9162 2.1.4.2); the whole
served history rebuilt into the tree and compared with the signed root; a client's evidence file; witness
cosignatures (C2SP tlog-cosignature/v1, Ed25519, key type 0x04) and a k-of-n quorum of them. What it does not:
tiles, ML-DSA keys; and it trusts the key you give it (or the server's JWKS when you give none: compare the
printed fingerprint with the operator's).

    python3 catalyst_tlog.py audit --server URL [--state FILE] [--fingerprint FP]   # read key: CATALYST_READ_KEY
    python3 catalyst_tlog.py proof PROOF_FILE LEAF_FILE --vkey VKEY
    python3 catalyst_tlog.py evidence EVIDENCE_FILE [--vkey VKEY]
    python3 catalyst_tlog.py cosigned CHECKPOINT_FILE --witness VKEY [--witness VKEY ...] [--quorum K] [--vkey VKEY]

`audit` verifies the latest checkpoint, proves it consistent with the one saved in --state by an earlier audit
(then saves the new one), and rebuilds the tree from every served signal: its root must be the signed root.
Exit codes: 0 verified (evidence: it holds); 1 a check failed (evidence: it does not hold); 2 bad arguments or
input files; 3 no server answer.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Sequence, Tuple

from catalyst_verify import canonical_json, ed25519_verify, jwk_thumbprint

__all__ = [
    "TlogError",
    "leaf_hash",
    "node_hash",
    "tree_root",
    "verify_inclusion",
    "verify_consistency",
    "vkey_of",
    "open_checkpoint",
    "verify_tlog_proof",
    "check_evidence",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()


class TlogError(Exception):
    """A note, checkpoint or proof that is malformed or does not verify; the message says which."""


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def tree_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """RFC 6962 MTH over the leaf hashes (empty tree: SHA-256 of nothing)."""
    if not leaf_hashes:
        return EMPTY_ROOT

    def mth(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return leaf_hashes[lo]
        k = _split(hi - lo)
        return node_hash(mth(lo, lo + k), mth(lo + k, hi))

    return mth(0, len(leaf_hashes))


def verify_inclusion(index: int, size: int, lh: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2: does `proof` place leaf hash `lh` at `index` in the tree of `size` with `root`?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, lh
    for p in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2: is the tree of `first` leaves a prefix of the tree of `second` leaves?"""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    if not proof:
        return False
    path = [first_root, *proof] if first & (first - 1) == 0 else list(proof)
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


def _b64(s: str, what: str) -> bytes:
    try:
        b = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        raise TlogError(f"{what}: not standard base64") from None
    if base64.b64encode(b).decode() != s:
        raise TlogError(f"{what}: not canonical base64")
    return b


def _key_id(name: str, pub: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + b"\x01" + pub).digest()[:4]


def vkey_of(name: str, pub: bytes) -> str:
    """The C2SP verifier key `<name>+<hex key id>+<base64(0x01 || key)>` of an Ed25519 key."""
    key = base64.b64encode(bytes([1]) + pub).decode()
    return f"{name}+{_key_id(name, pub).hex()}+{key}"


def _parse_vkey(vkey: str) -> Tuple[str, bytes, bytes]:
    parts = vkey.split("+", 2)
    if len(parts) != 3 or not parts[0] or len(parts[1]) != 8:
        raise TlogError("verifier key: expected <name>+<hex id>+<base64 key>")
    name, hex_id, b64 = parts
    key = _b64(b64, "verifier key")
    if len(key) != 33 or key[0] != 1:
        raise TlogError("verifier key: not an Ed25519 key (type 0x01 and 32 bytes)")
    if _key_id(name, key[1:]).hex() != hex_id:
        raise TlogError("verifier key: the key ID does not match the name and key")
    return name, bytes.fromhex(hex_id), key[1:]


def open_note(note: str, vkey: str) -> str:
    """The signed text of a C2SP signed note, once the key's signature verifies (other keys are ignored)."""
    name, kid, pub = _parse_vkey(vkey)
    if not note.endswith("\n") or any(ord(c) < 32 and c != "\n" for c in note):
        raise TlogError("note: must end in a newline and carry no control characters")
    split = note.rfind("\n\n")
    if split < 0:
        raise TlogError("note: no blank line before its signatures")
    text = note[: split + 1]
    signed = False
    for line in note[split + 2 : -1].split("\n"):
        head, _, rest = line.partition(" ")
        sig_name, _, b64 = rest.partition(" ")
        if head != "\u2014" or not sig_name or not b64 or " " in b64:
            raise TlogError("note: a malformed signature line")
        raw = _b64(b64, "note signature")
        if sig_name != name or raw[:4] != kid:
            continue
        if len(raw) != 68 or not ed25519_verify(pub, text.encode(), raw[4:]):
            raise TlogError(f"note: the signature by {name} does not verify")
        signed = True
    if not signed:
        raise TlogError(f"note: not signed by {name}")
    return text


COSIGNATURE_V1 = 0x04


def _parse_witness_vkey(vkey: str) -> Tuple[str, bytes, bytes]:
    parts = vkey.split("+", 2)
    if len(parts) != 3 or not parts[0] or len(parts[1]) != 8:
        raise TlogError("witness key: expected <name>+<hex id>+<base64 key>")
    name, hex_id, b64 = parts
    key = _b64(b64, "witness key")
    if len(key) != 33 or key[0] != COSIGNATURE_V1:
        raise TlogError("witness key: not an Ed25519 cosigner key (type 0x04 and 32 bytes)")
    kid = hashlib.sha256(name.encode() + b"\n" + bytes([COSIGNATURE_V1]) + key[1:]).digest()[:4]
    if kid.hex() != hex_id:
        raise TlogError("witness key: the key ID does not match the name and key")
    return name, kid, key[1:]


def verify_cosignatures(note: str, witness_vkeys: Sequence[str]) -> List[Tuple[str, int]]:
    """(name, timestamp) of each witness whose tlog-cosignature/v1 line on the note verifies; others ignored."""
    witnesses = [_parse_witness_vkey(v) for v in witness_vkeys]
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise TlogError("note: no blank line before its signatures")
    text = note[: split + 1]
    found: List[Tuple[str, int]] = []
    for line in note[split + 2 : -1].split("\n"):
        head, _, rest = line.partition(" ")
        sig_name, _, b64 = rest.partition(" ")
        if head != "\u2014" or not sig_name or not b64:
            raise TlogError("note: a malformed signature line")
        raw = _b64(b64, "note signature")
        for name, kid, pub in witnesses:
            if sig_name != name or raw[:4] != kid or len(raw) != 4 + 8 + 64:
                continue
            if any(n == name for n, _ in found):
                continue
            ts = int.from_bytes(raw[4:12], "big")
            message = f"cosignature/v1\ntime {ts}\n".encode() + text.encode()
            if ed25519_verify(pub, message, raw[12:]):
                found.append((name, ts))
    return found


def open_checkpoint(note: str, vkey: str) -> Tuple[str, int, bytes]:
    """(origin, size, root) of a signed checkpoint; the origin must be the key's name."""
    lines = open_note(note, vkey)[:-1].split("\n")
    if len(lines) < 3 or not lines[1].isdigit() or (lines[1] != "0" and lines[1].startswith("0")):
        raise TlogError("checkpoint: expected origin, size and root lines")
    root = _b64(lines[2], "checkpoint root")
    if len(root) != 32:
        raise TlogError("checkpoint root: not a 32-byte hash")
    if lines[0] != _parse_vkey(vkey)[0]:
        raise TlogError(f"checkpoint origin {lines[0]!r} is not the key's name")
    return lines[0], int(lines[1]), root


def verify_tlog_proof(file: str, leaf: bytes, vkey: str) -> Tuple[int, int]:
    """(index, size) once a C2SP tlog-proof file places `leaf` in its signed checkpoint; else TlogError."""
    split = file.find("\n\n")
    if split < 0:
        raise TlogError("tlog-proof: no blank line before the checkpoint")
    lines = file[:split].split("\n")
    if lines[0] != "c2sp.org/tlog-proof@v1":
        raise TlogError("tlog-proof: not a c2sp.org/tlog-proof@v1 file")
    at = 2 if len(lines) > 1 and lines[1].startswith("extra ") else 1
    if len(lines) <= at or not lines[at].startswith("index ") or not lines[at][6:].isdigit():
        raise TlogError("tlog-proof: no index line")
    index = int(lines[at][6:])
    proof = [_b64(h, "tlog-proof hash") for h in lines[at + 1 :]]
    _, size, root = open_checkpoint(file[split + 2 :], vkey)
    if not verify_inclusion(index, size, leaf_hash(leaf), proof, root):
        raise TlogError(f"tlog-proof: entry {index} is not in the signed checkpoint of size {size}")
    return index, size


def check_evidence(ev: Dict[str, Any], vkey: Optional[str] = None) -> Tuple[bool, bool, List[str]]:
    """(holds, conclusive, lines) for a client's evidence file (catalyst-tlog-evidence/v1), offline."""
    if ev.get("format") != "catalyst-tlog-evidence/v1":
        raise TlogError("evidence: not a catalyst-tlog-evidence/v1 file")
    key = vkey or ev["vkey"]
    out = [f"log {ev['origin']}, key {key}"]
    _, size, root = open_checkpoint(ev["new_checkpoint"], key)
    out.append(f"served checkpoint: size {size}, signature valid")
    if ev["claim"] == "inconsistent_checkpoints":
        _, old_size, old_root = open_checkpoint(ev["old_checkpoint"], key)
        out.append(f"verified before: size {old_size}, signature valid")
        if old_size == size:
            return old_root != root, old_root != root, out + ["same size: the roots differ" if old_root != root else "same roots"]
        (a, ar), (b, br) = sorted([(old_size, old_root), (size, root)])
        proof = [_b64(h, "consistency proof") for h in ev.get("consistency_proof", [])]
        ok = verify_consistency(a, b, ar, br, proof)
        return not ok, False, out + [f"consistency proof {a} -> {b} {'verifies' if ok else 'does not verify'}"]
    if ev["claim"] == "inclusion_failed":
        leaf = _b64(ev["leaf"], "leaf")
        try:
            verify_tlog_proof(ev["tlog_proof"], leaf, key)
            return False, False, out + [f"seq {ev['seq']} is included"]
        except TlogError as e:
            return True, False, out + [f"seq {ev['seq']} as served is not in the signed tree: {e}"]
    raise TlogError(f"evidence: unknown claim {ev.get('claim')!r}")


def _get(server: str, path: str, key: Optional[str]) -> bytes:
    req = urllib.request.Request(server + path, headers={"Authorization": f"Bearer {key}"} if key else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


def _audit(a: argparse.Namespace) -> int:
    server = a.server.rstrip("/")
    jwks = json.loads(_get(server, "/v1/keys/signing", None))
    jwk = next(k for k in jwks["keys"] if k.get("kty") == "OKP" and k.get("crv") == "Ed25519")
    fp = jwk_thumbprint(jwk)
    print(f"signing key SHA256:{fp}")
    if a.fingerprint and fp != a.fingerprint.removeprefix("SHA256:"):
        print("catalyst_tlog: the signing key is not --fingerprint", file=sys.stderr)
        return 1
    pub = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    note = _get(server, "/v1/log/checkpoint", a.key).decode()
    origin = note.split("\n", 1)[0]
    vkey = a.vkey or vkey_of(origin, pub)
    origin, size, root = open_checkpoint(note, vkey)
    print(f"checkpoint {origin} size {size}, signature valid ({vkey})")
    if a.state and os.path.exists(a.state):
        with open(a.state, encoding="utf-8") as f:
            old_note = f.read()
        _, old_size, old_root = open_checkpoint(old_note, vkey)
        body = _get(server, f"/v1/log/consistency?from={old_size}&to={size}", a.key).decode()
        proof = [_b64(h, "consistency proof") for h in body.split("\n") if h]
        if not verify_consistency(old_size, size, old_root, root, proof):
            print(f"FAILED: the checkpoint of size {size} is not consistent with the saved one of size {old_size}", file=sys.stderr)
            return 1
        print(f"consistent with the saved checkpoint of size {old_size}")
    hashes: List[bytes] = []
    after = 0
    while len(hashes) < size:
        page = json.loads(_get(server, f"/v1/signals?after_seq={after}&limit=1000", a.key))
        for s in page["signals"]:
            if s["seq"] != len(hashes) + 1:
                print(f"FAILED: history skips from seq {len(hashes)} to {s['seq']}", file=sys.stderr)
                return 1
            hashes.append(leaf_hash(canonical_json(s).encode("utf-8")))
        if not page["signals"]:
            break
        after = page["signals"][-1]["seq"]
    if tree_root(hashes[:size]) != root or len(hashes) < size:
        print(f"FAILED: the served history's first {size} signals do not hash to the signed root", file=sys.stderr)
        return 1
    print(f"all {size} served signals hash to the signed root")
    if a.state:
        with open(a.state, "w", encoding="utf-8") as f:
            f.write(note)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Check a Catalyst server's transparency log (standard library only).")
    sub = ap.add_subparsers(dest="cmd", required=True)
    au = sub.add_parser("audit", help="verify the latest checkpoint, its consistency, and every served signal")
    au.add_argument("--server", required=True)
    au.add_argument("--key", default=os.environ.get("CATALYST_READ_KEY"), help="read key (default $CATALYST_READ_KEY)")
    au.add_argument("--vkey", help="the log's verifier key (default: from the server's signing key)")
    au.add_argument("--fingerprint", help="expected signing key fingerprint (SHA256:<kid>)")
    au.add_argument("--state", help="file keeping the last verified checkpoint between audits")
    pr = sub.add_parser("proof", help="check a tlog-proof file for a leaf, offline")
    pr.add_argument("proof_file")
    pr.add_argument("leaf_file", help="the signal's bytes exactly as served (GET /v1/signals/<seq>)")
    pr.add_argument("--vkey", required=True)
    ev = sub.add_parser("evidence", help="check a halted client's evidence file, offline")
    ev.add_argument("evidence_file")
    ev.add_argument("--vkey", help="check with this key instead of the one the file names")
    co = sub.add_parser("cosigned", help="count the witness cosignatures on a checkpoint (a k-of-n policy), offline")
    co.add_argument("checkpoint_file", help="the note as GET /v1/log/checkpoint serves it")
    co.add_argument("--witness", action="append", required=True, help="a witness verifier key (type 0x04)")
    co.add_argument("--quorum", type=int, default=1, help="how many must have cosigned (default 1)")
    co.add_argument("--vkey", help="also check the log's own signature with this verifier key")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "cosigned":
            with open(a.checkpoint_file, encoding="utf-8") as f:
                note = f.read()
            if a.vkey:
                origin, size, _ = open_checkpoint(note, a.vkey)
                print(f"checkpoint {origin} size {size}, signature valid")
            found = verify_cosignatures(note, a.witness)
            for name, ts in found:
                print(f"cosigned by {name} at {ts}")
            print(f"{len(found)} of {len(a.witness)} witnesses cosigned (quorum {a.quorum})")
            return 0 if len(found) >= a.quorum else 1
        if a.cmd == "audit":
            return _audit(a)
        if a.cmd == "proof":
            with open(a.proof_file, encoding="utf-8") as f:
                file = f.read()
            with open(a.leaf_file, "rb") as f:
                leaf = f.read()
            index, size = verify_tlog_proof(file, leaf, a.vkey)
            print(f"entry {index} is in the signed checkpoint of size {size}")
            return 0
        with open(a.evidence_file, encoding="utf-8") as f:
            data = json.load(f)
        holds, conclusive, lines = check_evidence(data, a.vkey)
        print("\n".join(lines))
        print(("EVIDENCE HOLDS" + (" (conclusive)" if conclusive else "")) if holds else "evidence does NOT hold")
        return 0 if holds else 1
    except TlogError as e:
        print(f"catalyst_tlog: {e}", file=sys.stderr)
        return 1
    except (OSError, ValueError, KeyError, StopIteration) as e:
        if isinstance(e, urllib.error.HTTPError):
            print(f"catalyst_tlog: {e.url} answered HTTP {e.code}", file=sys.stderr)
            return 3
        if isinstance(e, urllib.error.URLError):
            print(f"catalyst_tlog: cannot reach the server: {e.reason}", file=sys.stderr)
            return 3
        print(f"catalyst_tlog: bad input: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
