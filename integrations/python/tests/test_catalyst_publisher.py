"""Unit tests of the pure parts (mapping, outbox file format). The HTTP paths are tested against a real
server by server/test/python-publisher.test.ts, which also runs this file."""

import ast
import datetime
import hashlib
import json
import os
import tempfile
import unittest
from decimal import Decimal

import catalyst_publisher as cp


class Signal:  # what Catalyst-Bot's TradingSignal looks like: attributes, Decimals
    def __init__(self, **kw):
        self.__dict__.update(kw)


ALERT = dict(
    ticker="abcd",
    title="ABCD announces merger",
    link="https://example.com/a",
    source="prnewswire",
    price=Decimal("1.25"),
    score=2.0,
    sentiment=-3.0,
    keyword_hits=["merger"],
)


class Mapping(unittest.TestCase):
    def test_source_id_is_catalyst_bots_dedupe_id_prefixed(self):
        c = cp.from_catalyst_bot(**ALERT)
        md5 = hashlib.md5(b"ABCD:ABCD announces merger:https://example.com/a").hexdigest()[:16]
        self.assertEqual(c["source_id"], "cb-" + md5)

    def test_trading_signal_as_object_or_dict_gives_the_same_classification(self):
        kw = dict(action="buy", confidence=0.97, stop_loss_price=Decimal("1.2"),
                  take_profit_price=Decimal("1.44"), position_size_pct=4.0, timeframe="intraday")
        a = cp.from_catalyst_bot(**ALERT, trading_signal=Signal(**kw), classified_at="2026-01-01T00:00:00Z")
        b = cp.from_catalyst_bot(**ALERT, trading_signal=kw, classified_at="2026-01-01T00:00:00Z")
        self.assertEqual(a, b)
        self.assertEqual((a["action"], a["direction"], a["catalyst"]), ("enter", "long", "merger"))
        self.assertEqual((a["stop_loss"], a["take_profit"], a["position_size_pct"]), (1.2, 1.44, 4.0))
        self.assertEqual(a["price"], 1.25)

    def test_sentiment_clamped_and_keywords_slugged_bounded_by_weight(self):
        hits = {"Reverse Split": 0.2, "FDA": 2.0}
        hits.update({"kw%02d" % i: 1.0 for i in range(30)})
        c = cp.from_catalyst_bot(**dict(ALERT, keyword_hits=hits))
        self.assertEqual(c["sentiment"], -1.0)
        self.assertEqual(len(c["keywords"]), 16)
        self.assertEqual(c["keywords"][0], "fda")
        for k in c["keywords"]:
            self.assertRegex(k, r"^[a-z0-9][a-z0-9_-]{0,39}$")
        # an AVOID keyword without a TradingSignal: avoid, catalyst = that keyword, confidence 1 (rule-based)
        self.assertEqual((c["action"], c["catalyst"], c["confidence"]), ("avoid", "reverse_split", 1.0))

    def test_close_maps_to_exit_and_no_sizing(self):
        ts = dict(action="close", confidence=1.0, position_size_pct=0.0, timeframe="immediate")
        c = cp.from_catalyst_bot(**dict(ALERT, keyword_hits=["fraud", "merger"]), trading_signal=ts)
        got = (c["action"], c["direction"], c["catalyst"], c["timeframe"])
        self.assertEqual(got, ("exit", "neutral", "fraud", "immediate"))
        self.assertNotIn("position_size_pct", c)
        self.assertNotIn("stop_loss", c)

    def test_no_signal_no_avoid_keyword_is_info(self):
        c = cp.from_catalyst_bot(**dict(ALERT, keyword_hits={}))
        self.assertEqual((c["action"], c["direction"], c["catalyst"], c["confidence"]), ("info", "neutral", "other", 0.0))
        self.assertNotIn("keywords", c)

    def test_strongest_buy_keyword_is_weight_times_base_confidence(self):
        ts = dict(action="buy", confidence=0.9)
        c = cp.from_catalyst_bot(**dict(ALERT, keyword_hits={"partnership": 1.0, "merger": 0.8}), trading_signal=ts)
        self.assertEqual(c["catalyst"], "partnership")  # .85 x 1.0 > .95 x .8

    def test_protocol_1_moves_v2_fields_to_meta(self):
        c = cp.from_catalyst_bot(**ALERT, protocol=1, meta={"float": 1e6})
        for k in ("action", "asset_class", "currency", "sentiment", "keywords"):
            self.assertNotIn(k, c)
            self.assertIn(k, c["meta"])
        self.assertEqual(c["meta"]["float"], 1e6)

    def test_times_are_iso_with_offset(self):
        c = cp.from_catalyst_bot(**ALERT, published_at=datetime.datetime(2026, 1, 2, 3, 4, 5))
        self.assertEqual(c["published_at"], "2026-01-02T03:04:05.000+00:00")
        self.assertTrue(c["classified_at"].endswith("+00:00"))
        c = cp.from_catalyst_bot(**ALERT, published_at="Mon, 23 Nov 2026 09:30:00 -0500")  # RSS style
        self.assertEqual(c["published_at"], "2026-11-23T14:30:00.000+00:00")
        c = cp.from_catalyst_bot(**ALERT, published_at="yesterday-ish")
        self.assertNotIn("published_at", c)
        with self.assertRaises(ValueError):
            cp.from_catalyst_bot(**ALERT, expires_at="soon")

    def test_unusable_alerts_raise_value_error(self):
        bad_tickers = ("", "BAD TICKER", ".", "..", "../USD", "BTC/", "A\u200bB", "A\u202eB")
        for bad in (dict(title="  "), dict(price=0), *(dict(ticker=t) for t in bad_tickers)):
            with self.assertRaises(ValueError):
                cp.from_catalyst_bot(**dict(ALERT, **bad))

    def test_ticker_shapes_the_server_accepts(self):
        for t in ("brk.b", "BRK/B", "BTC/USDT", "BTC-USDT"):
            self.assertEqual(cp.from_catalyst_bot(**dict(ALERT, ticker=t))["symbol"], t.upper())

    def test_feed_text_is_made_plain_as_the_server_requires(self):
        c = cp.from_catalyst_bot(
            **dict(ALERT, title="ABCD\nannounces \u202emerger\u200b\x1b[0m", source="\tsec\r\n", link="https://x.y/\u202e")
        )
        self.assertEqual(c["headline"], "ABCD announces merger[0m")
        self.assertEqual(c["source"], "sec")
        self.assertNotIn("url", c)

    def test_from_alert_reads_alerts_py_objects(self):
        scored = Signal(relevance=2.0, source_weight=1.5, sentiment=0.4, keyword_hits=["fda"], total=3.0)
        c = cp.from_alert({"ticker": "abcd", "title": "t", "link": "https://x.y/z", "source": "sec"}, scored, 3.5)
        self.assertEqual((c["score"], c["relevance"], c["catalyst"], c["price"]), (3.0, 2.0, "fda", 3.5))


class OutboxFormat(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "ob.jsonl")
        self.ob = cp.Outbox(self.path)

    def tearDown(self):
        self.dir.cleanup()

    def records(self):
        sid, batch = self.ob.read_batch(1000, 1 << 30)
        return sid, [(r["c"]["source_id"] if r else None, end) for r, end in batch]

    def test_torn_last_line_is_never_parsed_and_is_cut_before_the_next_append(self):
        self.ob.append([{"source_id": "a"}, {"source_id": "b"}])
        with open(self.path, "ab") as f:
            f.write(b'00000000 {"t":1,"c":{"source_id":"torn"')
        _sid, recs = self.records()
        self.assertEqual([r for r, _ in recs], ["a", "b"])
        self.ob.append([{"source_id": "c"}])
        _sid, recs = self.records()
        self.assertEqual([r for r, _ in recs], ["a", "b", "c"])

    def test_a_line_with_a_wrong_checksum_is_skipped_not_misread(self):
        self.ob.append([{"source_id": "a"}, {"source_id": "b"}, {"source_id": "c"}])
        with open(self.path, "rb") as f:
            data = f.read()
        with open(self.path, "wb") as f:
            f.write(data.replace(b'"b"', b'"x"'))
        _sid, recs = self.records()
        self.assertEqual([r for r, _ in recs], ["a", None, "c"])
        self.assertEqual(self.ob.status()["corrupt"], 1)

    def test_commit_persists_progress_and_compaction_crash_window_means_redelivery(self):
        self.ob.append([{"source_id": s} for s in "abcd"])
        sid, recs = self.records()
        self.ob.commit(sid, recs[1][1])  # a, b delivered
        fresh = cp.Outbox(self.path).read_batch(10, 1 << 20)[1]  # as a restarted process sees it
        self.assertEqual([r["c"]["source_id"] for r, _ in fresh], ["c", "d"])
        # The window between compaction's rename and its offset write: offset names the old spool id.
        with open(self.path + ".offset", "rb") as f:
            off = json.loads(f.read())
        self.ob.commit(sid, recs[3][1])  # all delivered: compacted to a new, empty spool with a new id
        new_sid, recs2 = self.records()
        self.assertNotEqual(new_sid, sid)
        self.assertEqual(recs2, [])
        self.ob.append([{"source_id": "e"}])
        with open(self.path + ".offset", "wb") as f:
            f.write(json.dumps(off).encode())  # stale: old id
        self.assertEqual([r for r, _ in self.records()[1]], ["e"])  # nothing lost, nothing from before

    def test_full_outbox_refuses_with_a_clear_error(self):
        ob = cp.Outbox(self.path, max_bytes=300)
        ob.append([{"source_id": "a" * 100}])
        with self.assertRaises(cp.OutboxFull) as e:
            ob.append([{"source_id": "b" * 200}])
        self.assertIn("full", str(e.exception))
        self.assertEqual(ob.status()["depth"], 1)


class Compatibility(unittest.TestCase):
    def test_the_file_is_python_3_9_syntax(self):
        with open(cp.__file__, encoding="utf-8") as f:
            ast.parse(f.read(), feature_version=(3, 9))

    def test_standard_library_only(self):
        import sys

        with open(cp.__file__, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                names.add((node.module or "").split(".")[0])
        names.discard("__future__")
        stdlib = getattr(sys, "stdlib_module_names", None)
        if stdlib is not None:  # 3.10+
            self.assertEqual(sorted(n for n in names if n not in stdlib), [])


if __name__ == "__main__":
    unittest.main()
