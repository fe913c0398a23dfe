"""`kubectl podsec explain [CHECK]` (issue 6, "explain"): the checks' documentation comes from
their modules' docstrings, so code and docs cannot drift.

Without an argument: every check with its level, policy versions and what `fix` does. With
one: the module docstring (the standard's text, restricted fields, allowed values, how each
policy version treats it, the fix), then the level, the registered variants and the fix
safety. An unknown check is a usage error (exit 2) with a suggestion.
"""

import importlib
import pkgutil
import re

import pytest
from cli_helpers import cli_runner

import kubectl_podsec.checks as checks_package
from kubectl_podsec.checks import ALL_CHECKS, BY_ID
from kubectl_podsec.explain import versions_text

FIX_SAFETIES = ("safe", "unsafe", "never")
# The docstring title: `checkId (level, what the policy versions do)`.
TITLE_RE = re.compile(r"^(?P<id>\w+) \((?P<level>baseline|restricted)(?:, |; )(?P<versions>.+)\)$")


@pytest.fixture
def podsec(capsys, monkeypatch):
    return cli_runner(capsys, monkeypatch)


def check_modules() -> dict:
    """check id -> the module that defines it, found by walking the package (not through the
    registry, so a module the registry forgot is noticed)."""
    out = {}
    for info in pkgutil.iter_modules(checks_package.__path__):
        module = importlib.import_module(f"{checks_package.__name__}.{info.name}")
        if hasattr(module, "CHECK"):
            out[module.CHECK.id] = module
    return out


MODULES = check_modules()
IDS = [check.id for check in ALL_CHECKS]


def summary_rows(out: str) -> dict:
    """check id -> (level, versions, fix) from the table `explain` prints without a check."""
    lines = out.splitlines()
    assert re.split(r" {2,}", lines[0]) == ["CHECK", "LEVEL", "POLICY VERSIONS", "FIX"], lines[0]
    rows = {}
    for line in lines[1:]:
        if not line.strip():
            break
        cells = re.split(r" {2,}", line.strip())
        assert len(cells) == 4, line
        assert cells[0] not in rows, f"{cells[0]} listed twice"
        rows[cells[0]] = tuple(cells[1:])
    return rows


def test_there_are_nineteen_checks_and_each_has_a_module():
    assert len(ALL_CHECKS) == 19
    assert sorted(MODULES) == sorted(IDS)


def test_without_an_argument_every_check_is_listed_with_level_versions_and_fix(podsec):
    run = podsec("explain")
    assert run.code == 0, run.err
    assert run.err == ""
    rows = summary_rows(run.out)
    assert list(rows) == IDS  # every check, once, in registry order
    for check in ALL_CHECKS:
        level, versions, fix = rows[check.id]
        assert level == str(check.level)
        assert fix == check.fix_safety
        assert fix in FIX_SAFETIES
        assert versions, check.id
    assert "kubectl podsec explain CHECK" in run.out


@pytest.mark.parametrize("check_id", IDS)
def test_the_versions_column_agrees_with_the_registered_variants(podsec, check_id):
    """The summary's policy versions come from the docstring title; they must say what the
    registry does: `all versions` when the first variant is v1.0, `v1.N+` otherwise."""
    check = BY_ID[check_id]
    versions = summary_rows(podsec("explain").out)[check_id][1]
    first = check.versions[0].minimum_version.minor
    expected_start = "all versions" if first == 0 else f"v1.{first}+"
    assert versions.split(";")[0] == expected_start, versions


@pytest.mark.parametrize("check_id", IDS)
def test_replacements_named_in_the_docs_agree_with_the_registry(check_id):
    check = BY_ID[check_id]
    title = check.doc.strip().splitlines()[0]
    replaces = sorted({oid for variant in check.versions for oid in variant.override_check_ids})
    replaced_by = [(c, v) for c in ALL_CHECKS for v in c.versions if check_id in v.override_check_ids]
    for target in replaces:
        assert f"replaces {target}" in title
    if replaced_by:
        replacer, variant = replaced_by[0]
        assert f"replaced by {replacer.id} in restricted" in title
        minor = variant.minimum_version.minor
        if minor:
            assert f"in restricted from v1.{minor}" in title
        else:
            assert "from v1." not in title
    else:
        assert "replaced by" not in title


@pytest.mark.parametrize("check_id", IDS)
def test_a_checks_text_is_its_module_docstring_plus_level_variants_and_fix(podsec, check_id):
    check = BY_ID[check_id]
    run = podsec("explain", check_id)
    assert run.code == 0, run.err
    assert run.err == ""
    expected = (f"{check.doc}\n\nLevel: {check.level}\nVariants: {versions_text(check)}\n"
                f"Fix: {check.fix_safety}\n")
    assert run.out == expected


@pytest.mark.parametrize("check_id", IDS)
def test_the_docstring_has_what_the_issue_asks_for(check_id):
    """The standard's text, restricted fields, allowed values, the versions, and the fix; the
    docstring's `Fix (...)` agrees with what the code declares."""
    doc = BY_ID[check_id].doc
    title = TITLE_RE.match(doc.splitlines()[0])
    assert title, doc.splitlines()[0]
    assert title["id"] == check_id
    assert title["level"] == str(BY_ID[check_id].level)
    body = doc.split("\n\n", 2)
    assert len(body) == 3 and body[1].strip(), "the standard's text follows the title"
    assert "Restricted fields:" in doc
    assert "Allowed values:" in doc
    fixes = re.findall(r"^Fix \((safe|unsafe|never)\):", doc, re.MULTILINE)
    assert fixes == [BY_ID[check_id].fix_safety]
    if BY_ID[check_id].fix_safety != "never":
        assert all(BY_ID[check_id].fix_at(variant.minimum_version) is not None
                   for variant in BY_ID[check_id].versions), "a check fix may change needs a fix function"


def test_variants_line_lists_every_registered_version():
    for check in ALL_CHECKS:
        text = versions_text(check)
        for variant in check.versions:
            assert f"v1.{variant.minimum_version.minor}+" in text
    assert versions_text(BY_ID["capabilities_restricted"]).startswith(
        "v1.22+ (replaces capabilities_baseline); v1.25+ (replaces capabilities_baseline)")
    assert versions_text(BY_ID["hostPathVolumes"]) == "v1.0+; replaced in restricted by restrictedVolumes"


@pytest.mark.parametrize("spelling", ["RUNASNONROOT", "runasnonroot", "RunAsNonRoot"])
def test_check_names_match_case_insensitively(podsec, spelling):
    run = podsec("explain", spelling)
    assert run.code == 0, run.err
    assert run.out == podsec("explain", "runAsNonRoot").out
    assert run.out.startswith("runAsNonRoot (restricted")


def test_an_unknown_check_exits_2_with_a_suggestion(podsec):
    run = podsec("explain", "runAsNonRot")
    assert run.code == 2
    assert run.out == ""
    assert run.err_lines == [run.err_lines[0]]
    assert run.err_lines[0].startswith("error: unknown check 'runAsNonRot'")
    assert "did you mean runAsNonRoot" in run.err_lines[0]


def test_a_misspelt_check_with_two_near_names_suggests_both(podsec):
    run = podsec("explain", "seccompProfile")
    assert run.code == 2
    assert "seccompProfile_baseline" in run.err and "seccompProfile_restricted" in run.err


def test_an_unknown_check_with_nothing_near_exits_2_without_a_suggestion(podsec):
    run = podsec("explain", "zzzz")
    assert run.code == 2
    assert run.out == ""
    assert run.err_lines == ["error: unknown check 'zzzz'"]


def test_explain_takes_one_check(podsec):
    run = podsec("explain", "privileged", "hostPorts")
    assert run.code == 2
    assert run.out == ""
