"""The sysctls control: the standard's text, its versioned checks and its fix."""

from __future__ import annotations

from kubectl_podsec.checks.types import ALLOWED, Check, CheckFn, CheckResult, Edit, FixFn, Safety, VersionedCheck
from kubectl_podsec.checks.util import pod_security_context
from kubectl_podsec.levels import Level, Version

SUMMARY = "all versions; the allowed set grows at v1.27, v1.29, v1.32 and v1.37"
STANDARD = """\
Sysctls can disable security mechanisms or affect all containers on a host, and should be
disallowed except for an allowed "safe" subset. A sysctl is considered safe if it is
namespaced in the container or the Pod, and it is isolated from other Pods or processes on
the same Node.

Restricted fields: spec.securityContext.sysctls[*].name
Allowed values: undefined/nil, and
  kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, net.ipv4.ip_unprivileged_port_start,
  net.ipv4.tcp_syncookies, net.ipv4.ping_group_range
  net.ipv4.ip_local_reserved_ports (v1.27+)
  net.ipv4.tcp_keepalive_time, net.ipv4.tcp_fin_timeout, net.ipv4.tcp_keepalive_intvl,
  net.ipv4.tcp_keepalive_probes (v1.29+)
  net.ipv4.tcp_rmem, net.ipv4.tcp_wmem (v1.32+)
  net.ipv4.tcp_slow_start_after_idle, net.ipv4.tcp_notsent_lowat (v1.37+)
Names match exactly: the `/`-separated spelling is not allowed. Values are not checked."""
FIX_TEXT = """\
remove the forbidden sysctls."""

ALLOWED_1_0 = frozenset((
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
))
ALLOWED_1_27 = ALLOWED_1_0 | {"net.ipv4.ip_local_reserved_ports"}
ALLOWED_1_29 = ALLOWED_1_27 | {
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
ALLOWED_1_32 = ALLOWED_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}
ALLOWED_1_37 = ALLOWED_1_32 | {"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"}


def _checker(allowed: frozenset) -> CheckFn:
    def check(meta: dict, spec: dict) -> CheckResult:
        bad, paths = [], []
        for index, sysctl in enumerate(pod_security_context(spec).get("sysctls") or ()):
            if sysctl.get("name", "") not in allowed:
                bad.append(sysctl.get("name", ""))
                paths.append(("spec", "securityContext", "sysctls", index, "name"))
        if not bad:
            return ALLOWED
        # Spec order, not sorted or deduplicated, and always the plural reason.
        return CheckResult(False, "forbidden sysctls", ", ".join(bad), tuple(paths))

    return check


# The allowed set of each policy version that changes it: the checks and the fixes both.
VERSIONS = ((0, ALLOWED_1_0), (27, ALLOWED_1_27), (29, ALLOWED_1_29), (32, ALLOWED_1_32), (37, ALLOWED_1_37))


def _fixer(allowed: frozenset) -> FixFn:
    def fix(meta: dict, spec: dict, version: Version | None) -> list:
        names = [s.get("name", "") for s in pod_security_context(spec).get("sysctls") or ()]
        bad = [name for name in names if name not in allowed]
        if not bad:
            return []
        return [Edit(CHECK_ID, "remove_items", ("spec", "securityContext", "sysctls"), [{"name": n} for n in bad],
                     what=f"remove the sysctls {', '.join(bad)}")]

    return fix


CHECK_ID = "sysctls"
CHECK = Check(CHECK_ID, Level.BASELINE, tuple(
    VersionedCheck(Version(minor), _checker(names), fix=_fixer(names)) for minor, names in VERSIONS
), summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT, fix_safety=Safety.UNSAFE,
    fix_risk="the kernel parameter keeps the node's default: what it tuned for the workload behaves as untuned")
