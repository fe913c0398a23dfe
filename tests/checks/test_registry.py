"""The registry, levels and versions, and evaluate(): docs/psa-semantics.md sections 1, 2, 7 and 8."""

import pytest
from checkhelp import ALL_MINORS, ctr, pod

from kubectl_podsec.checks import ALL_CHECKS, NEWEST_VERSION, checks_for
from kubectl_podsec.evaluate import evaluate, failures, forbidden_detail
from kubectl_podsec.levels import Level, PolicyVersion, Version

B, R = Level.BASELINE, Level.RESTRICTED


def effective(level: Level, minor: int) -> list:
    return [f"{check.id}@{variant.minimum_version.minor}" for check, variant in checks_for(level, Version(minor))]


# --- section 2's table, written out for the versions where something changes -------------------

BASELINE_1_0 = ["appArmorProfile@0", "capabilities_baseline@0", "hostNamespaces@0", "hostPathVolumes@0",
                "hostPorts@0", "privileged@0", "procMount@0", "seLinuxOptions@0", "seccompProfile_baseline@0",
                "sysctls@0", "windowsHostProcess@0"]

TABLE = {
    0: (BASELINE_1_0,
        ["appArmorProfile@0", "capabilities_baseline@0", "hostNamespaces@0", "hostPorts@0", "privileged@0",
         "procMount@0", "seLinuxOptions@0", "seccompProfile_baseline@0", "sysctls@0", "windowsHostProcess@0",
         "restrictedVolumes@0", "runAsNonRoot@0"]),
    8: (BASELINE_1_0,
        ["appArmorProfile@0", "capabilities_baseline@0", "hostNamespaces@0", "hostPorts@0", "privileged@0",
         "procMount@0", "seLinuxOptions@0", "seccompProfile_baseline@0", "sysctls@0", "windowsHostProcess@0",
         "allowPrivilegeEscalation@8", "restrictedVolumes@0", "runAsNonRoot@0"]),
    19: (["appArmorProfile@0", "capabilities_baseline@0", "hostNamespaces@0", "hostPathVolumes@0", "hostPorts@0",
          "privileged@0", "procMount@0", "seLinuxOptions@0", "seccompProfile_baseline@19", "sysctls@0",
          "windowsHostProcess@0"],
         ["appArmorProfile@0", "capabilities_baseline@0", "hostNamespaces@0", "hostPorts@0", "privileged@0",
          "procMount@0", "seLinuxOptions@0", "sysctls@0", "windowsHostProcess@0",
          "allowPrivilegeEscalation@8", "restrictedVolumes@0", "runAsNonRoot@0", "seccompProfile_restricted@19"]),
    22: (["appArmorProfile@0", "capabilities_baseline@0", "hostNamespaces@0", "hostPathVolumes@0", "hostPorts@0",
          "privileged@0", "procMount@0", "seLinuxOptions@0", "seccompProfile_baseline@19", "sysctls@0",
          "windowsHostProcess@0"],
         ["appArmorProfile@0", "hostNamespaces@0", "hostPorts@0", "privileged@0", "procMount@0",
          "seLinuxOptions@0", "sysctls@0", "windowsHostProcess@0",
          "allowPrivilegeEscalation@8", "capabilities_restricted@22", "restrictedVolumes@0", "runAsNonRoot@0",
          "seccompProfile_restricted@19"]),
    23: (["appArmorProfile@0", "capabilities_baseline@0", "hostNamespaces@0", "hostPathVolumes@0", "hostPorts@0",
          "privileged@0", "procMount@0", "seLinuxOptions@0", "seccompProfile_baseline@19", "sysctls@0",
          "windowsHostProcess@0"],
         ["appArmorProfile@0", "hostNamespaces@0", "hostPorts@0", "privileged@0", "procMount@0",
          "seLinuxOptions@0", "sysctls@0", "windowsHostProcess@0",
          "allowPrivilegeEscalation@8", "capabilities_restricted@22", "restrictedVolumes@0", "runAsNonRoot@0",
          "runAsUser@23", "seccompProfile_restricted@19"]),
    25: (["appArmorProfile@0", "capabilities_baseline@0", "hostNamespaces@0", "hostPathVolumes@0", "hostPorts@0",
          "privileged@0", "procMount@0", "seLinuxOptions@0", "seccompProfile_baseline@19", "sysctls@0",
          "windowsHostProcess@0"],
         ["appArmorProfile@0", "hostNamespaces@0", "hostPorts@0", "privileged@0", "procMount@0",
          "seLinuxOptions@0", "sysctls@0", "windowsHostProcess@0",
          "allowPrivilegeEscalation@25", "capabilities_restricted@25", "restrictedVolumes@0", "runAsNonRoot@0",
          "runAsUser@23", "seccompProfile_restricted@25"]),
    34: (["appArmorProfile@0", "capabilities_baseline@0", "hostNamespaces@0", "hostPathVolumes@0", "hostPorts@0",
          "hostProbesAndHostLifecycle@34", "privileged@0", "procMount@0", "seLinuxOptions@31",
          "seccompProfile_baseline@19", "sysctls@32", "windowsHostProcess@0"],
         ["appArmorProfile@0", "hostNamespaces@0", "hostPorts@0", "hostProbesAndHostLifecycle@34", "privileged@0",
          "procMount@0", "seLinuxOptions@31", "sysctls@32", "windowsHostProcess@0",
          "allowPrivilegeEscalation@25", "capabilities_restricted@25", "restrictedVolumes@0", "runAsNonRoot@0",
          "runAsUser@23", "seccompProfile_restricted@25"]),
    35: (["appArmorProfile@0", "capabilities_baseline@0", "hostNamespaces@0", "hostPathVolumes@0", "hostPorts@0",
          "hostProbesAndHostLifecycle@34", "privileged@0", "procMount@35", "seLinuxOptions@31",
          "seccompProfile_baseline@19", "sysctls@32", "windowsHostProcess@0"],
         ["appArmorProfile@0", "hostNamespaces@0", "hostPorts@0", "hostProbesAndHostLifecycle@34", "privileged@0",
          "seLinuxOptions@31", "sysctls@32", "windowsHostProcess@0",
          "allowPrivilegeEscalation@25", "capabilities_restricted@25", "procMount_restricted@35",
          "restrictedVolumes@0", "runAsNonRoot@35", "runAsUser@35", "seccompProfile_restricted@25"]),
    37: (["appArmorProfile@0", "capabilities_baseline@0", "hostNamespaces@0", "hostPathVolumes@0", "hostPorts@0",
          "hostProbesAndHostLifecycle@34", "privileged@0", "procMount@35", "seLinuxOptions@31",
          "seccompProfile_baseline@19", "sysctls@37", "windowsHostProcess@0"],
         ["appArmorProfile@0", "hostNamespaces@0", "hostPorts@0", "hostProbesAndHostLifecycle@34", "privileged@0",
          "seLinuxOptions@31", "sysctls@37", "windowsHostProcess@0",
          "allowPrivilegeEscalation@25", "capabilities_restricted@25", "procMount_restricted@35",
          "restrictedVolumes@0", "runAsNonRoot@35", "runAsUser@35", "seccompProfile_restricted@25"]),
}
COUNTS = {0: (11, 12), 8: (11, 13), 19: (11, 13), 22: (11, 13), 23: (11, 14), 25: (11, 14), 34: (12, 15),
          35: (12, 15), 37: (12, 15)}


@pytest.mark.parametrize("minor", sorted(TABLE))
def test_effective_sets_from_the_table(minor):
    baseline, restricted = TABLE[minor]
    assert effective(B, minor) == baseline
    assert effective(R, minor) == restricted
    assert (len(baseline), len(restricted)) == COUNTS[minor]


def test_privileged_has_no_checks():
    for minor in ALL_MINORS:
        assert checks_for(Level.PRIVILEGED, Version(minor)) == ()


# --- every version, from the check table of section 3 ------------------------------------------

VARIANTS = {  # id -> (level, variant minors, overridden baseline id)
    "appArmorProfile": (B, [0], None), "capabilities_baseline": (B, [0], None), "hostNamespaces": (B, [0], None),
    "hostPathVolumes": (B, [0], None), "hostPorts": (B, [0], None), "hostProbesAndHostLifecycle": (B, [34], None),
    "privileged": (B, [0], None), "procMount": (B, [0, 35], None), "seLinuxOptions": (B, [0, 31], None),
    "seccompProfile_baseline": (B, [0, 19], None), "sysctls": (B, [0, 27, 29, 32, 37], None),
    "windowsHostProcess": (B, [0], None),
    "allowPrivilegeEscalation": (R, [8, 25], None),
    "capabilities_restricted": (R, [22, 25], "capabilities_baseline"),
    "procMount_restricted": (R, [35], "procMount"),
    "restrictedVolumes": (R, [0], "hostPathVolumes"),
    "runAsNonRoot": (R, [0, 35], None), "runAsUser": (R, [23, 35], None),
    "seccompProfile_restricted": (R, [19, 25], "seccompProfile_baseline"),
}


def model(level: Level, minor: int) -> list:
    active = {}
    for check_id, (check_level, minors, _) in VARIANTS.items():
        reached = [m for m in minors if m <= minor]
        if reached and check_level <= level:
            active[check_id] = max(reached)
    if level == R:
        for check_id in list(active):
            overridden = VARIANTS[check_id][2]
            if overridden:
                active.pop(overridden, None)
    ordered = sorted((i for i in active if VARIANTS[i][0] == B), key=str.encode) + \
        sorted((i for i in active if VARIANTS[i][0] == R), key=str.encode)
    return [f"{i}@{active[i]}" for i in ordered]


@pytest.mark.parametrize("minor", ALL_MINORS)
def test_effective_sets_every_version(minor):
    assert effective(B, minor) == model(B, minor)
    assert effective(R, minor) == model(R, minor)


def test_registered_checks():
    assert sorted(c.id for c in ALL_CHECKS) == sorted(VARIANTS)
    for check in ALL_CHECKS:
        level, minors, overridden = VARIANTS[check.id]
        assert check.level == level
        assert [v.minimum_version.minor for v in check.versions] == minors
        for variant in check.versions:
            assert tuple(variant.override_check_ids) == ((overridden,) if overridden else ())


@pytest.mark.parametrize("minor, present, absent", [
    (18, "seccompProfile_baseline@0", "seccompProfile_restricted"),
    (21, "capabilities_baseline@0", "capabilities_restricted"),
    (34, "procMount@0", "procMount_restricted"),
])
def test_override_only_where_the_overriding_variant_is_active(minor, present, absent):
    restricted = effective(R, minor)
    assert present in restricted
    assert not any(item.startswith(absent + "@") for item in restricted)


def test_result_order_at_newest():
    assert [c.id for c, _ in checks_for(B, Version(37))] + \
        [c.id for c, _ in checks_for(R, Version(37)) if c.level == R] == [
        "appArmorProfile", "capabilities_baseline", "hostNamespaces", "hostPathVolumes", "hostPorts",
        "hostProbesAndHostLifecycle", "privileged", "procMount", "seLinuxOptions", "seccompProfile_baseline",
        "sysctls", "windowsHostProcess",
        "allowPrivilegeEscalation", "capabilities_restricted", "procMount_restricted", "restrictedVolumes",
        "runAsNonRoot", "runAsUser", "seccompProfile_restricted"]


def test_newest_version():
    assert NEWEST_VERSION == Version(37)
    assert str(NEWEST_VERSION) == "v1.37"


# --- levels and versions ------------------------------------------------------------------------

@pytest.mark.parametrize("text, level", [("privileged", Level.PRIVILEGED), ("baseline", B), ("restricted", R)])
def test_level_parse(text, level):
    assert Level.parse(text) == level
    assert str(level) == text


@pytest.mark.parametrize("text", ["Baseline", "RESTRICTED", "Privileged", " baseline", "baseline ", "", "base"])
def test_level_parse_is_exact(text):
    with pytest.raises(ValueError):
        Level.parse(text)


def test_level_order():
    assert Level.PRIVILEGED < B < R


@pytest.mark.parametrize("text, printed, resolved", [
    ("latest", "latest", 37),
    ("v1.0", "v1.0", 0),
    ("v1.8", "v1.8", 8),
    ("v1.37", "v1.37", 37),
    ("v1.38", "v1.38", 37),
    ("v1.99", "v1.99", 37),
    ("v1.1000", "v1.1000", 37),
])
def test_policy_version_parse(text, printed, resolved):
    version = PolicyVersion.parse(text)
    assert str(version) == printed
    assert version.resolve(NEWEST_VERSION) == Version(resolved)


def test_newer_than_newest_uses_newest_rules():
    resolved = PolicyVersion.parse("v1.99").resolve(NEWEST_VERSION)
    for level in (B, R):
        assert checks_for(level, resolved) == checks_for(level, Version(37))


@pytest.mark.parametrize("text", ["v1.01", "v1.00", "1.30", "v2.0", "V1.3", "v1.", "", "v1", "v1.3.0", "v1.-1",
                                  "v1.3 ", " v1.3", "Latest", "LATEST", "latest ", "v1.x", "v1.٣"])
def test_policy_version_rejects(text):
    with pytest.raises(ValueError):
        PolicyVersion.parse(text)


def test_policy_version_rejects_trailing_newline():
    with pytest.raises(ValueError):
        PolicyVersion.parse("v1.3\n")


# --- evaluate(): section 7 (highest level) and section 8 (messages) ------------------------------

RESTRICTED_OK = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def minimal_restricted() -> dict:
    return pod([ctr("a", RESTRICTED_OK)], [ctr("i", RESTRICTED_OK)], [ctr("e", RESTRICTED_OK)],
               securityContext={"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}})


@pytest.mark.parametrize("minor", ALL_MINORS)
def test_minimal_restricted_pod_passes_everywhere(minor):
    verdict = evaluate({}, minimal_restricted(), Version(minor))
    assert verdict.highest == R
    assert verdict.passes == {B: True, R: True}
    assert verdict.violations == ()


def test_empty_pod_is_baseline():
    verdict = evaluate({}, pod([ctr("x")]), Version(37))
    assert verdict.highest == B
    assert verdict.passes == {B: True, R: False}


def test_forbidden_detail_section_8_example():
    failed = failures({}, pod([ctr("x")]), R, PolicyVersion.parse("latest").resolve(NEWEST_VERSION))
    assert forbidden_detail(failed) == (
        'allowPrivilegeEscalation != false (container "x" must set securityContext.allowPrivilegeEscalation=false), '
        'unrestricted capabilities (container "x" must set securityContext.capabilities.drop=["ALL"]), '
        'runAsNonRoot != true (pod or container "x" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or container "x" must set securityContext.seccompProfile.type to "RuntimeDefault" '
        'or "Localhost")')


def test_failures_follow_result_order():
    spec = pod([ctr("a", {"privileged": True, "seLinuxOptions": {"type": "spc_t"},
                          "seccompProfile": {"type": "Unconfined"}, "runAsUser": 0})],
               hostNetwork=True, securityContext={"sysctls": [{"name": "kernel.msgmax"}]},
               volumes=[{"name": "h", "hostPath": {"path": "/"}}])
    assert [c.id for c, _ in failures({}, spec, B, Version(37))] == [
        "hostNamespaces", "hostPathVolumes", "privileged", "seLinuxOptions", "seccompProfile_baseline", "sysctls"]
    assert [c.id for c, _ in failures({}, spec, R, Version(37))] == [
        "hostNamespaces", "privileged", "seLinuxOptions", "sysctls", "allowPrivilegeEscalation",
        "capabilities_restricted", "restrictedVolumes", "runAsNonRoot", "runAsUser", "seccompProfile_restricted"]


WINDOWS_SECTION_7 = [
    pytest.param({"capabilities": {"add": ["NET_RAW"]}}, None, "capabilities_baseline", id="NET_RAW"),
    pytest.param({}, {"type": "Unconfined"}, "seccompProfile_baseline", id="seccomp-unconfined"),
]


@pytest.mark.parametrize("container_sc, pod_seccomp, baseline_check", WINDOWS_SECTION_7)
@pytest.mark.parametrize("minor", [25, 26, 27, 28, 35, 37])
def test_windows_pod_fails_baseline_but_passes_restricted(minor, container_sc, pod_seccomp, baseline_check):
    security = {"runAsNonRoot": True}
    if pod_seccomp:
        security["seccompProfile"] = pod_seccomp
    spec = pod([ctr("w", container_sc)], os={"name": "windows"}, securityContext=security)
    verdict = evaluate({}, spec, Version(minor))
    assert verdict.passes == {B: False, R: True}
    assert verdict.highest == Level.PRIVILEGED
    assert [c.id for c, _ in failures({}, spec, B, Version(minor))] == [baseline_check]
    assert failures({}, spec, R, Version(minor)) == []


@pytest.mark.parametrize("container_sc, pod_seccomp, baseline_check", WINDOWS_SECTION_7)
def test_same_windows_pod_fails_both_at_v1_24(container_sc, pod_seccomp, baseline_check):
    security = {"runAsNonRoot": True}
    if pod_seccomp:
        security["seccompProfile"] = pod_seccomp
    spec = pod([ctr("w", container_sc)], os={"name": "windows"}, securityContext=security)
    verdict = evaluate({}, spec, Version(24))
    assert verdict.passes == {B: False, R: False}
    assert verdict.highest == Level.PRIVILEGED


@pytest.mark.parametrize("minor, passes", [(24, False), (25, True), (28, True), (37, True)])
def test_minimal_windows_restricted_pod(minor, passes):
    spec = pod([ctr("w")], os={"name": "windows"}, securityContext={"runAsNonRoot": True})
    verdict = evaluate({}, spec, Version(minor))
    assert verdict.passes == {B: True, R: passes}
    assert verdict.highest == (R if passes else B)


@pytest.mark.parametrize("minor, restricted_ok", [(34, False), (35, True), (37, True)])
def test_user_namespace_pod_without_run_as_non_root(minor, restricted_ok):
    # hostUsers: false skips runAsNonRoot and runAsUser from v1.35 (section 6).
    secure = dict(RESTRICTED_OK, runAsUser=0)
    spec = pod([ctr("a", secure)], hostUsers=False, securityContext={"seccompProfile": {"type": "RuntimeDefault"}})
    verdict = evaluate({}, spec, Version(minor))
    assert verdict.passes == {B: True, R: restricted_ok}
    if not restricted_ok:
        assert [c.id for c, _ in failures({}, spec, R, Version(minor))] == ["runAsNonRoot", "runAsUser"]


def test_violation_paths_are_prefixed():
    verdict = evaluate({}, pod([ctr("a", {"privileged": True})]), Version(37), prefix=("spec", "template"))
    privileged = [v for v in verdict.violations if v.check == "privileged"]
    assert len(privileged) == 1 and privileged[0].level == B
    assert privileged[0].paths == (("spec", "template", "spec", "containers", 0, "securityContext", "privileged"),)
