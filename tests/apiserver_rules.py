"""kube-apiserver's validation rules on the fields `fix` touches, as a test oracle.

Written for the tests, apart from `kubectl_podsec/apivalidation.py` (the tool's own backstop),
so that the two can be compared. It reads a whole parsed object (a plain dict, as
`yaml.safe_load` gives it), finds its pod template, and returns the messages that
kube-apiserver v1.36 would answer with, from `k8s.io/kubernetes/pkg/apis/core/validation/
validation.go`:

| rule | upstream function |
|---|---|
| pod seccomp annotation vs `spec.securityContext.seccompProfile` | `validateSeccompAnnotationsAndFields`, `validateSeccompAnnotationsAndFieldsMatch` |
| container seccomp annotation vs the container's own `seccompProfile` | the same, per container (`VisitContainersWithPath`) |
| AppArmor container annotation vs the container's effective `appArmorProfile` (Linux pods) | `validateAppArmorAnnotationsAndFieldsMatchOnCreate` |
| `localhostProfile` if and only if `type: Localhost` | `validateSeccompProfileField`, `ValidateAppArmorProfileField` |
| `allowPrivilegeEscalation: false` with `privileged: true` or `CAP_SYS_ADMIN` | `ValidateSecurityContext` |
| `mountPropagation: Bidirectional` only when privileged | `validateMountPropagation` |
| no Linux-only security field on `os.name: windows` | `validateWindows` |
| `procMount: Unmasked` needs `hostUsers: false` | `validateProcMountType` |
"""

from __future__ import annotations

TEMPLATE_PATHS = {
    "Pod": (), "PodTemplate": ("template",), "ReplicationController": ("spec", "template"),
    "ReplicaSet": ("spec", "template"), "Deployment": ("spec", "template"), "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"), "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
SECCOMP_VALUES = {"Unconfined": ("unconfined",), "RuntimeDefault": ("runtime/default", "docker/default")}
APPARMOR_VALUES = {"Unconfined": ("unconfined",), "RuntimeDefault": ("runtime/default",)}
WINDOWS_POD = ("seLinuxOptions", "seccompProfile", "appArmorProfile", "runAsUser", "runAsGroup", "fsGroup",
               "sysctls", "supplementalGroups")
WINDOWS_CONTAINER = ("seLinuxOptions", "seccompProfile", "appArmorProfile", "capabilities", "readOnlyRootFilesystem",
                     "privileged", "allowPrivilegeEscalation", "procMount", "runAsUser", "runAsGroup")


def pod_of(obj: dict):
    """(metadata, spec) of the pod an object carries, or None."""
    path = TEMPLATE_PATHS.get(obj.get("kind"))
    if path is None:
        return None
    node = obj
    for key in path:
        node = (node or {}).get(key)
    node = node or {}
    return node.get("metadata") or {}, node.get("spec") or {}


def _profile_matches(values: dict, annotation: str, profile: dict) -> bool:
    kind = profile.get("type")
    if kind == "Localhost":
        return annotation == "localhost/" + str(profile.get("localhostProfile"))
    return kind not in values or annotation in values[kind]


def rejections(obj: dict) -> list:
    pod = pod_of(obj)
    if pod is None:
        return []
    meta, spec = pod
    notes = meta.get("annotations") or {}
    pod_sc = spec.get("securityContext") or {}
    windows = (spec.get("os") or {}).get("name") == "windows"
    out = []

    def shape(profile, where):
        if not profile:
            return
        if (profile.get("type") == "Localhost") != bool(profile.get("localhostProfile")):
            out.append(f"{where}.localhostProfile")

    key = "seccomp.security.alpha.kubernetes.io/pod"
    if pod_sc.get("seccompProfile") and key in notes and \
            not _profile_matches(SECCOMP_VALUES, notes[key], pod_sc["seccompProfile"]):
        out.append("spec.securityContext.seccompProfile.type: seccomp type in annotation and field must match")
    shape(pod_sc.get("seccompProfile"), "spec.securityContext.seccompProfile")
    shape(pod_sc.get("appArmorProfile"), "spec.securityContext.appArmorProfile")
    if windows:
        out += [f"spec.securityContext.{f}: windows" for f in WINDOWS_POD if pod_sc.get(f) is not None]
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for index, container in enumerate(spec.get(field) or []):
            where = f"spec.{field}[{index}]"
            name = container.get("name", "")
            sc = container.get("securityContext") or {}
            key = "container.seccomp.security.alpha.kubernetes.io/" + name
            if sc.get("seccompProfile") and key in notes and \
                    not _profile_matches(SECCOMP_VALUES, notes[key], sc["seccompProfile"]):
                out.append(f"{where}: seccomp type in annotation and field must match")
            shape(sc.get("seccompProfile"), f"{where}.securityContext.seccompProfile")
            shape(sc.get("appArmorProfile"), f"{where}.securityContext.appArmorProfile")
            effective = sc.get("appArmorProfile") or pod_sc.get("appArmorProfile")
            key = "container.apparmor.security.beta.kubernetes.io/" + name
            if not windows and effective and key in notes and \
                    not _profile_matches(APPARMOR_VALUES, notes[key], effective):
                out.append(f"{where}: apparmor type in annotation and field must match")
            privileged = sc.get("privileged") is True
            if sc.get("allowPrivilegeEscalation") is False and (
                    privileged or "CAP_SYS_ADMIN" in ((sc.get("capabilities") or {}).get("add") or [])):
                out.append(f"{where}: cannot set allowPrivilegeEscalation to false")
            for mount in container.get("volumeMounts") or []:
                if mount.get("mountPropagation") == "Bidirectional" and not privileged:
                    out.append(f"{where}: Bidirectional mount propagation is available only to privileged containers")
            if sc.get("procMount") == "Unmasked" and spec.get("hostUsers") is not False:
                out.append(f"{where}: procMount Unmasked needs hostUsers: false")
            if windows:
                out += [f"{where}.securityContext.{f}: windows" for f in WINDOWS_CONTAINER if sc.get(f) is not None]
    return out
