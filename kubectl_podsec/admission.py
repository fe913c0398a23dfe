"""The API server's own PodSecurity admission configuration (`--admission-config`):
defaults for namespaces without labels, and exemptions by namespace and runtimeClass.

Accepts a `PodSecurityConfiguration` or an `AdmissionConfiguration` whose `PodSecurity`
plugin carries one inline or by path. Exemptions by username apply to requests: a live check
applies them to the pods a controller creates (its service account or the controller manager's
user); who created a bare Pod is not recorded, so its pods are never exempt by username.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import yaml

from kubectl_podsec.levels import Level, PolicyVersion

CONFIG_KIND = "PodSecurityConfiguration"
MODES = ("enforce", "audit", "warn")


class AdmissionConfigError(Exception):
    pass


@dataclass
class AdmissionConfig:
    defaults: dict = field(default_factory=dict)  # "enforce" -> level, "enforce-version" -> version, ...
    namespaces: frozenset = frozenset()
    runtime_classes: frozenset = frozenset()
    usernames: frozenset = frozenset()

    def default_labels(self) -> dict:
        """The defaults as namespace labels: the API server starts from them and lets each
        label a namespace has override its own part (level or version)."""
        labels = {}
        for mode in MODES:
            labels[f"pod-security.kubernetes.io/{mode}"] = self.defaults.get(mode, "privileged")
            labels[f"pod-security.kubernetes.io/{mode}-version"] = self.defaults.get(f"{mode}-version", "latest")
        return labels

    def exemption(self, namespace: str, runtime_class: str | None, creators: tuple = ()) -> str | None:
        """Why the pods are exempt, or None. `creators` are the usernames that create them (a
        workload's controller): the API server exempts requests by an exempt user."""
        if namespace in self.namespaces:
            return f"namespace {namespace} is exempt in the admission configuration"
        if runtime_class and runtime_class in self.runtime_classes:
            return f"runtimeClass {runtime_class} is exempt in the admission configuration"
        user = next((name for name in creators if name in self.usernames), None)
        if user:
            return f"its pods are created by {user}, a username exempt in the admission configuration"
        return None


def _load_yaml(path: str):
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except OSError as error:
        raise AdmissionConfigError(f"{path}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        raise AdmissionConfigError(f"{where}: invalid YAML: {getattr(error, 'problem', error)}") from None


def load_admission_config(path: str) -> AdmissionConfig:
    body = _load_yaml(path)
    if isinstance(body, dict) and body.get("kind") == "AdmissionConfiguration":
        plugin = next((p for p in body.get("plugins") or [] if isinstance(p, dict) and p.get("name") == "PodSecurity"),
                      None)
        if plugin is None:
            raise AdmissionConfigError(f"{path}: the AdmissionConfiguration has no PodSecurity plugin")
        if plugin.get("configuration") is not None:
            body = plugin["configuration"]
        elif plugin.get("path"):
            nested = os.path.join(os.path.dirname(path), plugin["path"])
            body, path = _load_yaml(nested), nested
    if not isinstance(body, dict) or body.get("kind") != CONFIG_KIND:
        raise AdmissionConfigError(f"{path}: not a {CONFIG_KIND} (nor an AdmissionConfiguration holding one)")
    defaults = body.get("defaults") or {}
    exemptions = body.get("exemptions") or {}
    if not isinstance(defaults, dict) or not isinstance(exemptions, dict):
        raise AdmissionConfigError(f"{path}: defaults and exemptions must be mappings")

    def names(key: str) -> frozenset:
        value = exemptions.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise AdmissionConfigError(f"{path}: exemptions.{key} must be a list of strings")
        return frozenset(value)

    for key, value in defaults.items():
        mode, _, part = str(key).partition("-")
        if mode not in MODES or part not in ("", "version"):
            raise AdmissionConfigError(f"{path}: unknown key defaults.{key}")
        try:
            Level.parse(value) if not part else PolicyVersion.parse(value)
        except (ValueError, TypeError, AttributeError):
            raise AdmissionConfigError(f"{path}: defaults.{key}: invalid value {value!r}") from None
    return AdmissionConfig({k: str(v) for k, v in defaults.items()}, names("namespaces"),
                           names("runtimeClasses"), names("usernames"))
