"""The API server's validation rules that concern the fields `fix` touches.

`fix` must never write an object that kube-apiserver would reject. These are the rules of
`k8s.io/kubernetes/pkg/apis/core/validation` (validation.go) that tie a security setting
to another field, each named after the upstream function it follows:

- `validateSeccompAnnotationsAndFields`, `validateSeccompAnnotationsAndFieldsMatch`: where
  the legacy annotation `seccomp.security.alpha.kubernetes.io/pod` (or
  `container.seccomp.security.alpha.kubernetes.io/NAME`) and the `seccompProfile` field of
  the same scope are both set, they must name the same profile.
- `validateAppArmorAnnotationsAndFieldsMatchOnCreate`: the same for
  `container.apparmor.security.beta.kubernetes.io/NAME` against the container's effective
  `appArmorProfile` (its own, else the pod's); Windows pods are skipped.
- `validateSeccompProfileField`, `ValidateAppArmorProfileField`: `localhostProfile` exactly
  when the type is `Localhost`.
- `ValidateSecurityContext` (via `validateContainerSecurityContext`):
  `allowPrivilegeEscalation: false` cannot be combined with `privileged: true` or with
  `capabilities.add: [CAP_SYS_ADMIN]`.
- `validateMountPropagation`: `Bidirectional` mount propagation only in privileged containers.
- `validateWindows`: a pod with `os.name: windows` sets none of the Linux-only fields below.
- `validateProcMountType` (through `validatePodSpecSecurityContext` since v1.33): `procMount:
  Unmasked` needs `hostUsers: false`.

The input is the typed, pruned model of a pod (`workloads.prune_*`): metadata and spec.
"""

from __future__ import annotations

from kubectl_podsec.checks.seccomp_profile_baseline import seccomp_annotation_matches
from kubectl_podsec.checks.util import containers, is_windows, pod_security_context, security_context
from kubectl_podsec.paths import format_path

SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"
APPARMOR_CONTAINER_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"

# validateWindows: Linux-only fields among those the model holds, pod and container level.
_WINDOWS_FORBIDDEN_POD = ("seLinuxOptions", "seccompProfile", "appArmorProfile", "runAsUser", "sysctls")
_WINDOWS_FORBIDDEN_CONTAINER = ("seLinuxOptions", "seccompProfile", "appArmorProfile", "capabilities",
                                "privileged", "allowPrivilegeEscalation", "procMount", "runAsUser")


def apparmor_annotation_matches(annotation: str, profile: dict) -> bool:
    """The switch of validateAppArmorAnnotationsAndFieldsMatchOnCreate."""
    kind = profile.get("type")
    if kind == "Unconfined":
        return annotation == "unconfined"
    if kind == "RuntimeDefault":
        return annotation == "runtime/default"
    if kind == "Localhost":
        return annotation.startswith("localhost/") and \
            profile.get("localhostProfile") == annotation[len("localhost/"):]
    return True


def _profile_shape(profile: dict | None, where: str) -> list:
    if profile is None:
        return []
    if profile.get("type") == "Localhost":
        if not profile.get("localhostProfile"):
            return [f"{where}.localhostProfile: Required value: must be set when type is Localhost"]
    elif profile.get("localhostProfile") is not None:
        return [f"{where}.localhostProfile: Invalid value: can only be set when type is Localhost"]
    return []


def validation_errors(meta: dict, spec: dict) -> list:
    """The rules above that the pod breaks, as `field: message` texts in the server's words."""
    errors = []
    annotations = meta.get("annotations") or {}
    pod_context = pod_security_context(spec)
    windows = is_windows(spec)
    pod_seccomp = pod_context.get("seccompProfile")
    if pod_seccomp is not None and SECCOMP_POD_ANNOTATION in annotations and \
            not seccomp_annotation_matches(annotations[SECCOMP_POD_ANNOTATION], pod_seccomp):
        errors.append("spec.securityContext.seccompProfile.type: Forbidden: seccomp type in annotation and "
                      "field must match")
    errors += _profile_shape(pod_seccomp, "spec.securityContext.seccompProfile")
    errors += _profile_shape(pod_context.get("appArmorProfile"), "spec.securityContext.appArmorProfile")
    if windows:
        errors += [f"spec.securityContext.{name}: Forbidden: cannot be set for a windows pod"
                   for name in _WINDOWS_FORBIDDEN_POD if pod_context.get(name) is not None]
    for container, path in containers(spec):
        where = format_path(path)
        name = container.get("name", "")
        context = security_context(container)
        seccomp = context.get("seccompProfile")
        key = SECCOMP_CONTAINER_ANNOTATION + name
        if seccomp is not None and key in annotations and \
                not seccomp_annotation_matches(annotations[key], seccomp):
            errors.append(f"{where}.securityContext.seccompProfile.type: Forbidden: seccomp type in annotation "
                          "and field must match")
        errors += _profile_shape(seccomp, f"{where}.securityContext.seccompProfile")
        errors += _profile_shape(context.get("appArmorProfile"), f"{where}.securityContext.appArmorProfile")
        apparmor = context.get("appArmorProfile") or pod_context.get("appArmorProfile")
        key = APPARMOR_CONTAINER_ANNOTATION + name
        if not windows and apparmor is not None and key in annotations and \
                not apparmor_annotation_matches(annotations[key], apparmor):
            errors.append(f"{where}.securityContext.appArmorProfile.type: Forbidden: apparmor type in annotation "
                          "and field must match")
        privileged = context.get("privileged") is True
        if context.get("allowPrivilegeEscalation") is False:
            if privileged:
                errors.append(f"{where}.securityContext: Invalid value: cannot set `allowPrivilegeEscalation` "
                              "to false and `privileged` to true")
            if "CAP_SYS_ADMIN" in ((context.get("capabilities") or {}).get("add") or ()):
                errors.append(f"{where}.securityContext: Invalid value: cannot set `allowPrivilegeEscalation` "
                              "to false and `capabilities.Add` CAP_SYS_ADMIN")
        for index, mount in enumerate(container.get("volumeMounts") or ()):
            if mount.get("mountPropagation") == "Bidirectional" and not privileged:
                errors.append(f"{where}.volumeMounts[{index}].mountPropagation: Forbidden: Bidirectional mount "
                              "propagation is available only to privileged containers")
        if context.get("procMount") == "Unmasked" and spec.get("hostUsers") is not False:
            errors.append(f"{where}.securityContext.procMount: Invalid value: \"Unmasked\": `hostUsers` must be "
                          "false to use `Unmasked`")
        if windows:
            errors += [f"{where}.securityContext.{field}: Forbidden: cannot be set for a windows pod"
                       for field in _WINDOWS_FORBIDDEN_CONTAINER if context.get(field) is not None]
    return errors


def new_errors(before: tuple, after: tuple) -> list:
    """The errors the fixed pod (meta, spec) has that the original did not: what a fix caused."""
    old = set(validation_errors(*before))
    return [error for error in validation_errors(*after) if error not in old]
