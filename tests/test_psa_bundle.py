from collections import Counter
from pathlib import PurePosixPath

import yaml
from psa_fixtures import load_records


def test_record_count():
    assert len(load_records()) == 4537


def test_counts_per_level_and_expect():
    # The totals table of the conformance README.
    counts = Counter((r.level, r.expect) for r in load_records())
    assert counts == {
        ("baseline", "pass"): 433,
        ("baseline", "fail"): 1122,
        ("restricted", "pass"): 618,
        ("restricted", "fail"): 2364,
    }


def test_fields_agree_with_path():
    for r in load_records():
        level, version, expect, name = PurePosixPath(r.file).with_suffix("").parts
        assert (r.level, r.version, r.expect) == (level, version, expect)
        assert (r.variant is not None) == (r.check is None) == name.startswith("base")
        assert (r.expect_error_substring is not None) == (r.expect == "fail")


def test_every_fixture_is_a_pod_named_after_its_file():
    parsed = {}  # many records share one text
    for r in load_records():
        if r.yaml_text not in parsed:
            parsed[r.yaml_text] = yaml.safe_load(r.yaml_text)
        pod = parsed[r.yaml_text]
        assert (pod["apiVersion"], pod["kind"]) == ("v1", "Pod"), r.file
        assert pod["metadata"]["name"] == PurePosixPath(r.file).stem, r.file
