"""Test driver: runs catalyst_publisher inside a real python3 process for server/test/python-publisher.test.ts.

Reads one JSON command per line on stdin, answers one JSON line per command on stdout ({"id", "ok", ...}).
Events that the test waits for (instead of sleeping) are lines {"event": ...}. Stdout is line-buffered.
"""

import json
import sys
import threading
import time

import catalyst_publisher as cp

pub = None


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def err_fields(e):
    d = {"ok": False, "error": type(e).__name__, "message": str(e)}
    for k in ("status", "title", "detail", "code", "errors", "retry_after"):
        if hasattr(e, k):
            d[k] = getattr(e, k)
    d["delivered"] = [r._asdict() for r in getattr(e, "delivered", [])]
    return d


def classification(prefix, i):
    return {
        "source_id": "%s-%05d" % (prefix, i),
        "symbol": "ABCD",
        "catalyst": "fda",
        "direction": "long",
        "confidence": 0.9,
        "price": 1.23,
        "headline": "record %d of %s" % (i, prefix),
        "classified_at": "2026-11-23T14:00:00.000+00:00",
    }


def run(cmd):
    global pub
    op = cmd["op"]
    if op == "open":
        kw = {k: cmd[k] for k in ("outbox_path", "timeout", "max_wait", "background", "batch_size") if k in cmd}
        if cmd.get("notify"):
            kw["on_delivered"] = lambda rs: out({"event": "delivered", "results": [r._asdict() for r in rs]})
        pub = cp.Publisher(cmd["url"], cmd["key"], **kw)
        return {}
    if op == "publish":
        t0 = time.monotonic()
        seq = pub.publish(cmd["c"])
        return {"seq": seq, "elapsed": time.monotonic() - t0}
    if op == "send":
        return {"result": pub.send(cmd["c"])._asdict()}
    if op == "publish_batch":
        return {"results": [r._asdict() for r in pub.publish_batch(cmd["items"])]}
    if op == "publish_many":
        # Publishes prefix-00000.. one by one and reports each as it returns: the test SIGKILLs us mid-way.
        for i in range(cmd["n"]):
            r = pub.send(classification(cmd["prefix"], i))
            out({"event": "published", "i": i, "spooled": r.spooled, "seq": r.seq})
        return {}
    if op == "flush":
        hang = cmd.get("hang_at_batch")
        if hang is not None:
            count = [0]

            def before_commit(results):
                count[0] += 1
                if count[0] == hang:
                    out({"event": "sent_not_committed", "results": [r._asdict() for r in results]})
                    threading.Event().wait()  # hang here until SIGKILL

            pub._before_commit = before_commit
        return {"report": pub.flush()._asdict()}
    if op == "status":
        return {"status": pub.status()}
    if op == "from_catalyst_bot":
        return {"c": cp.from_catalyst_bot(**cmd["args"])}
    if op == "close":
        pub.close()
        return {}
    raise ValueError("unknown op " + op)


def main():
    out({"event": "ready"})
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        try:
            res = run(cmd)
            res.setdefault("ok", True)
        except Exception as e:  # reported to the test, which asserts on it
            res = err_fields(e)
        res["id"] = cmd.get("id")
        out(res)


if __name__ == "__main__":
    main()
