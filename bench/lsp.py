"""Time the language server's diagnostics for a 1,000-line manifest after a change.

Usage: python3 bench/lsp.py [--lines N] [--rounds R] [--target-ms MS]

Two measurements on the same manifest (the first N lines' worth of whole documents of
bench/corpus.py's stream, workloads of every level with Services and ConfigMaps between):

* in-process: `editor.diagnose(text)`, the work the server does per change; best and median
  of R calls.
* end to end: `kubectl podsec lsp` started as a subprocess and driven over stdio by a minimal
  JSON-RPC client here (initialize with debounceMs 0, didOpen); then R times a didChange
  that edits one line, timed from writing the notification to reading its
  publishDiagnostics. The debounce is off so that the figure is the server's own latency; an
  editor adds its debounce (200 ms by default) on top, by design.

Target: the end-to-end median at most --target-ms (50). Exit 0 when met, 1 when not, 2 when
the harness could not measure (no pygls, the server died).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import corpus  # bench/corpus.py: run as a script, this file's directory is on sys.path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def manifest(lines: int) -> str:
    """Whole documents of the corpus stream, up to about `lines` lines."""
    stream = corpus.generate(max(4, lines // 25)).decode("utf-8")
    out, count = [], 0
    for document in stream.split("\n---\n"):
        if count >= lines:
            break
        out.append(document)
        count += document.count("\n") + 1
    return "\n---\n".join(out) + "\n"


class Client:
    """Just enough of an LSP client: framed JSON-RPC over the server's pipes."""

    def __init__(self, command: list):
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT)
        self.next_id = 0

    def send(self, method: str, params, request: bool = False):
        message = {"jsonrpc": "2.0", "method": method, "params": params}
        if request:
            self.next_id += 1
            message["id"] = self.next_id
        body = json.dumps(message).encode("utf-8")
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()
        return message.get("id")

    def read(self) -> dict:
        length = None
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("the server closed its output")
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("ascii").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return json.loads(self.process.stdout.read(length))

    def wait(self, predicate) -> dict:
        while True:
            message = self.read()
            if "id" in message and "method" in message:  # a request to us (configuration...)
                self.answer(message)
                continue
            if predicate(message):
                return message

    def answer(self, request: dict) -> None:
        result = [None] * len(request["params"].get("items", [])) \
            if request["method"] == "workspace/configuration" else None
        body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode("utf-8")
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def close(self) -> None:
        try:
            request = self.send("shutdown", None, request=True)
            self.wait(lambda m: m.get("id") == request)
            self.send("exit", None)
            self.process.wait(timeout=10)
        finally:
            if self.process.poll() is None:
                self.process.kill()


def end_to_end(text: str, rounds: int) -> list:
    uri = (ROOT / "bench" / "out" / "lsp-bench.yaml").as_uri()
    client = Client([sys.executable, "-m", "kubectl_podsec", "lsp"])
    try:
        request = client.send("initialize", {"processId": os.getpid(), "rootUri": ROOT.as_uri(), "capabilities": {},
                                             "initializationOptions": {"debounceMs": 0}}, request=True)
        client.wait(lambda m: m.get("id") == request)
        client.send("initialized", {})
        client.send("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1,
                                                              "text": text}})
        client.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics")
        times = []
        for round_ in range(rounds):
            # A real edit: the first replicas count changes, so nothing can be cached.
            changed = text.replace("replicas: ", f"replicas: {round_ % 9 + 1}", 1)
            start = time.perf_counter()
            client.send("textDocument/didChange", {"textDocument": {"uri": uri, "version": round_ + 2},
                                                   "contentChanges": [{"text": changed}]})
            client.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics")
            times.append(time.perf_counter() - start)
        return times
    finally:
        client.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--target-ms", type=float, default=50.0)
    args = parser.parse_args(argv)
    try:
        import pygls.lsp.server  # noqa: F401
    except ImportError:
        print("bench/lsp.py needs the lsp extra: pip install -e '.[lsp]'", file=sys.stderr)
        return 2
    from kubectl_podsec import editor

    text = manifest(args.lines)
    diagnostics = editor.diagnose(text, None, editor.Settings())
    print(f"manifest: {text.count(chr(10))} lines, {len(text.encode())} bytes, "
          f"{text.count('kind: ')} objects, {len(diagnostics)} diagnostics")
    core = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        editor.diagnose(text, None, editor.Settings())
        core.append(time.perf_counter() - start)
    print(f"in-process diagnose: best {min(core) * 1000:.1f} ms, median {statistics.median(core) * 1000:.1f} ms")
    try:
        times = end_to_end(text, args.rounds)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as error:
        print(f"error: the server could not be measured: {error}", file=sys.stderr)
        return 2
    median = statistics.median(times) * 1000
    verdict = "PASS" if median <= args.target_ms else "FAIL"
    print(f"didChange -> publishDiagnostics over stdio: best {min(times) * 1000:.1f} ms, median {median:.1f} ms, "
          f"worst {max(times) * 1000:.1f} ms (target median <= {args.target_ms:g} ms: {verdict})")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
