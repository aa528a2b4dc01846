"""Tests of catalyst_verify against the published vectors (shared/test-vectors/canonical.json).

    python3 -m unittest integrations/python/test_catalyst_verify.py

Run in CI by server/test/python-verify.test.ts. Standard library only.
"""

import copy
import json
import os
import unittest

import catalyst_verify as cv

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "..", "..", "shared", "test-vectors", "canonical.json"), encoding="utf-8") as f:
    VECTORS = json.load(f)


class CanonicalVectors(unittest.TestCase):
    def test_canonical(self):
        for v in VECTORS["canonical"]:
            with self.subTest(v["name"]):
                self.assertEqual(cv.canonical_json(json.loads(v["input"])), v["canonical"])

    def test_plain_json_dumps_is_not_enough(self):
        # Why this file exists: sort_keys + separators prints 1e-08 and 2e-05, which do not verify.
        v = VECTORS["canonical"][0]
        self.assertNotEqual(json.dumps(json.loads(v["input"]), sort_keys=True, separators=(",", ":")), v["canonical"])

    def test_invalid_refused(self):
        for v in VECTORS["invalid"]:
            with self.subTest(v["name"]):
                with self.assertRaises(cv.VerificationError):
                    cv.canonical_json(json.loads(v["input"]))

    def test_non_finite_refused(self):
        for bad in (float("nan"), float("inf"), -float("inf"), 10**400):
            with self.assertRaises((cv.VerificationError, OverflowError)):
                cv.canonical_json(bad)


class SignatureVector(unittest.TestCase):
    def setUp(self):
        self.jwks = VECTORS["signature"]["jwks"]
        self.signal = json.loads(VECTORS["signature"]["signal"])

    def test_verifies(self):
        self.assertEqual(cv.canonical_json({k: v for k, v in self.signal.items() if k != "sig"}), VECTORS["signature"]["canonical"])
        self.assertTrue(cv.verify(self.signal, self.jwks))
        self.assertEqual(cv.jwk_thumbprint(self.jwks["keys"][0]), self.jwks["keys"][0]["kid"])

    def test_key_order_does_not_matter(self):
        self.assertTrue(cv.verify(dict(reversed(list(self.signal.items()))), self.jwks))

    def test_tampering_fails(self):
        for field, value in (("seq", 43), ("price", 0.00003), ("headline", "x"), ("extra", 1)):
            with self.subTest(field):
                s = copy.deepcopy(self.signal)
                s[field] = value
                self.assertFalse(cv.verify(s, self.jwks))
        s = copy.deepcopy(self.signal)
        s["meta"]["nested"]["list"][1] = "three"
        self.assertFalse(cv.verify(s, self.jwks))

    def test_bad_sig_shapes_fail(self):
        sig = self.signal["sig"]
        header, _, signature = sig.split(".")
        for bad in ("", sig + "x", header + ".." + signature[:-2], "e30.." + signature, None):
            with self.subTest(bad):
                s = dict(self.signal, sig=bad)
                self.assertFalse(cv.verify(s, self.jwks))
        self.assertFalse(cv.verify(self.signal, {"keys": []}))

    def test_rfc8032_vectors(self):
        pk = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        sig = bytes.fromhex(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        )
        self.assertTrue(cv.ed25519_verify(pk, b"", sig))
        self.assertFalse(cv.ed25519_verify(pk, b"\x00", sig))
        pk2 = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
        sig2 = bytes.fromhex(
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
        )
        self.assertTrue(cv.ed25519_verify(pk2, b"\x72", sig2))
        # S >= L must be refused (malleability).
        s = int.from_bytes(sig2[32:], "little") + cv._L
        self.assertFalse(cv.ed25519_verify(pk2, b"\x72", sig2[:32] + s.to_bytes(32, "little")))


if __name__ == "__main__":
    unittest.main()
