"""Pack the upstream PSA conformance fixtures into fixtures.json.gz.

Usage: python3 tests/data/psa/build_bundle.py PATH/TO/psa-testdata

The bundle is one gzipped JSON object:
    {"contents": {sha256: yaml_text, ...},
     "records": [INDEX.json record + {"sha256": key into contents}, ...]}
Most fixtures are byte-identical across policy versions, so each distinct text is stored once.
Output is deterministic (sorted keys, gzip mtime 0): rebuilding gives identical bytes.
"""
import gzip
import hashlib
import io
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "fixtures.json.gz"


def build(testdata: Path) -> bytes:
    records = json.loads((testdata / "INDEX.json").read_text(encoding="utf-8"))
    contents = {}
    bundled = []
    for record in records:
        raw = (testdata / record["file"]).read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        contents[digest] = raw.decode("utf-8")
        bundled.append({**record, "sha256": digest})

    on_disk = sorted(p.relative_to(testdata).as_posix() for p in testdata.rglob("*.yaml"))
    if on_disk != sorted(r["file"] for r in records):
        raise SystemExit("INDEX.json and the YAML files on disk disagree")

    text = json.dumps({"contents": contents, "records": bundled},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    packed = buf.getvalue()

    # Read the packed bytes back the way the tests will, and compare with the files.
    unpacked = json.loads(gzip.decompress(packed).decode("utf-8"))
    for record in unpacked["records"]:
        if unpacked["contents"][record["sha256"]].encode("utf-8") != \
                (testdata / record["file"]).read_bytes():
            raise SystemExit(f"{record['file']}: does not round-trip")
    if [{k: v for k, v in r.items() if k != "sha256"} for r in unpacked["records"]] != records:
        raise SystemExit("records do not round-trip")
    return packed


def main(argv: list) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    packed = build(Path(argv[0]))
    OUT.write_bytes(packed)
    print(f"wrote {OUT} ({len(packed):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
