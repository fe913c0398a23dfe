"""sysctls (baseline, all versions; the allowed set grows at v1.27, v1.29, v1.32 and v1.37)

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
Names match exactly: the `/`-separated spelling is not allowed. Values are not checked.

Fix (unsafe): remove the forbidden sysctls.
"""

from kubectl_podsec.checks import ALLOWED, Check, CheckResult, VersionedCheck
from kubectl_podsec.checks.util import pod_security_context
from kubectl_podsec.levels import Level, Version

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


def _checker(allowed: frozenset):
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


def allowed_at(version: Version) -> frozenset:
    for minimum, names in ((37, ALLOWED_1_37), (32, ALLOWED_1_32), (29, ALLOWED_1_29), (27, ALLOWED_1_27)):
        if version >= Version(minimum):
            return names
    return ALLOWED_1_0



def fix(plan) -> None:
    allowed = ALLOWED_1_37 if plan.version is None else allowed_at(plan.version)
    names = [s.get("name", "") for s in pod_security_context(plan.spec).get("sysctls") or ()]
    bad = [name for name in names if name not in allowed]
    if bad:
        plan.remove_items(CHECK_ID, ("spec", "securityContext", "sysctls"), [{"name": n} for n in bad],
                          what=f"remove the sysctls {', '.join(bad)}")


CHECK_ID = "sysctls"
CHECK = Check(CHECK_ID, Level.BASELINE, tuple(
    VersionedCheck(Version(minor), _checker(allowed_at(Version(minor)))) for minor in (0, 27, 29, 32, 37)
), doc=__doc__, fix=fix, fix_safety="unsafe",
    fix_risk="the kernel parameter keeps the node's default: what it tuned for the workload behaves as untuned")
