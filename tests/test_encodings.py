"""Item 9 of issue 9, encodings: UTF-16 and UTF-32 files with a byte-order mark (what
Windows PowerShell's `>` writes; kubectl reads them) are read like UTF-8 ones, positions
included, and `fix` writes them back in the same encoding with the same BOM, byte for
byte, in place and as a stdin filter. Without a BOM they stay "binary file" errors."""

from __future__ import annotations

import codecs
import sys

import pytest
from cli_helpers import FakeStdin, cli_runner, pod, write

from kubectl_podsec.cli import main
from kubectl_podsec.sources import parsers

PARSERS = ["libyaml", "pure"] if parsers.CComposer is not None else ["pure"]
ENCODINGS = {
    "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE,
    "utf-32-le": codecs.BOM_UTF32_LE, "utf-32-be": codecs.BOM_UTF32_BE,
}
# Baseline: fix adds the restricted settings. CRLF and a non-ASCII comment, as Windows has it.
TEXT = pod("wide", "baseline").replace("\n", "\r\n").replace("image: nginx", "image: nginx  # café ☕ 😀")
BROKEN = "apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: broken: yes\r\n"


@pytest.fixture(params=PARSERS)
def podsec(request, capsys, monkeypatch):
    parsers.use_parser(request.param == "pure")
    yield cli_runner(capsys, monkeypatch)
    parsers.use_parser(False)


def _bytes(encoding: str, text: str) -> bytes:
    return ENCODINGS[encoding] + text.encode(encoding)


def _fixed_utf8(podsec, tmp_path) -> str:
    """What fix makes of the same text in UTF-8, the reference."""
    path = write(tmp_path / "utf8", "pod.yaml", TEXT)
    assert podsec("fix", path).code == 1
    fixed = open(path, "rb").read().decode("utf-8")
    assert fixed != TEXT and "allowPrivilegeEscalation: false" in fixed and "\r\n" in fixed
    return fixed


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_read_like_utf8(podsec, tmp_path, encoding):
    utf8 = podsec("check", write(tmp_path, "utf8.yaml", TEXT), "-o", "json")
    wide = podsec("check", write(tmp_path, "wide.yaml", _bytes(encoding, TEXT)), "-o", "json")
    assert wide.code == utf8.code == 1 and not wide.json["errors"]
    strip = lambda objects: [{k: v for k, v in o.items() if k != "source"} for o in objects]
    assert strip(wide.json["objects"]) == strip(utf8.json["objects"])  # verdicts, lines and columns
    assert [(v["line"], v["column"]) for v in wide.json["objects"][0]["violations"]] == \
        [(v["line"], v["column"]) for v in utf8.json["objects"][0]["violations"]]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_errors_name_the_same_position(podsec, tmp_path, encoding):
    path = write(tmp_path, "bad.yaml", _bytes(encoding, BROKEN))
    run = podsec("check", path, "-o", "json")
    assert run.code == 2
    (error,) = run.json["errors"]
    assert (error["line"], error["column"]) == (4, 15)
    assert f"{path}:4:15: invalid YAML: mapping values are not allowed in this context" in run.err


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_fix_in_place_keeps_encoding_and_bom(podsec, tmp_path, encoding):
    expected = _bytes(encoding, _fixed_utf8(podsec, tmp_path))
    path = write(tmp_path, "wide.yaml", _bytes(encoding, TEXT))
    run = podsec("fix", path)
    assert run.code == 1, run.err
    assert open(path, "rb").read() == expected
    again = podsec("fix", path)  # nothing left to do: the file is untouched
    assert again.code == 0 and open(path, "rb").read() == expected


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_fix_filter_keeps_encoding_and_bom(capsysbinary, monkeypatch, encoding, parser):
    def filtered(data: bytes) -> bytes:
        monkeypatch.setattr(sys, "stdin", FakeStdin(data))
        parsers.use_parser(parser == "pure")
        try:
            assert main(["fix", "-f", "-"]) == 1
        finally:
            parsers.use_parser(False)
        out, err = capsysbinary.readouterr()
        assert "Traceback" not in err.decode()
        return out

    utf8 = filtered(TEXT.encode("utf-8")).decode("utf-8")
    assert "allowPrivilegeEscalation: false" in utf8
    assert filtered(_bytes(encoding, TEXT)) == _bytes(encoding, utf8)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_dry_run_diff_is_utf8_text(podsec, tmp_path, encoding):
    path = write(tmp_path, "wide.yaml", _bytes(encoding, TEXT))
    run = podsec("fix", "--dry-run", path)
    assert run.code == 1
    assert "+        allowPrivilegeEscalation: false\r\n" in run.out and "       image: nginx  # café" in run.out and "café ☕ 😀" in run.out
    assert "\ufeff" not in run.out and "\x00" not in run.out
    assert open(path, "rb").read() == _bytes(encoding, TEXT)


UNREADABLE = {
    "utf-16-without-bom": (TEXT.encode("utf-16-le"), 1, 2, "binary file"),
    "utf-32-without-bom": (TEXT.encode("utf-32-be"), 1, 1, "binary file"),
    "utf-16-truncated": (_bytes("utf-16-le", "kind: Pod\r\nname: x\r\n") + b"x", 3, 1, "not UTF-16: truncated data"),
    "utf-16-lone-surrogate": (_bytes("utf-16-be", "kind: Pod\nname: ") + b"\xd8\x00" + "x\n".encode("utf-16-be"),
                              2, 7, "not UTF-16: "),
    "utf-32-beyond-unicode": (_bytes("utf-32-le", "a: b\n") + b"\x00\x00\x11\x00", 2, 1, "not UTF-32: "),
    "utf-16-nul": (_bytes("utf-16-le", "kind: Pod\nname: \x00\n"), 2, 7, "binary file"),
}


@pytest.mark.parametrize("content, line, column, message", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_unreadable_wide_files(podsec, tmp_path, content, line, column, message):
    bad = write(tmp_path, "bad.yaml", content)
    good = write(tmp_path, "good.yaml", pod("good"))
    run = podsec("check", bad, good, "-o", "json")
    assert run.code == 2 and len(run.err_lines) == 1
    (error,) = run.json["errors"]
    assert (error["line"], error["column"]) == (line, column) and error["message"].startswith(message), error
    assert [o["name"] for o in run.json["objects"]] == ["good"]
