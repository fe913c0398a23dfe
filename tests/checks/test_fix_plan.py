"""Fixes return data; the Plan applies it (kubectl_podsec/checks/plan.py): safety is decided
centrally, exemptions and Unless are honoured, and no check's fix changes the pod it reads."""

from __future__ import annotations

import json

import pytest
from checkhelp import ctr, pod

from kubectl_podsec.checks import ALL_CHECKS, Edit, Note, Unless
from kubectl_podsec.checks.plan import Plan
from kubectl_podsec.levels import Version

PATH = ("spec", "securityContext", "runAsNonRoot")


def plan(spec: dict, unsafe: bool = False, exempt=None) -> Plan:
    return Plan({}, spec, unsafe, Version(37), exempt=exempt)


def test_a_set_the_check_calls_safe_is_unsafe_when_it_changes_a_value():
    spec = {"securityContext": {"runAsNonRoot": False}}
    safe = plan(json.loads(json.dumps(spec)))
    safe.apply([Edit("runAsNonRoot", "set", PATH, True, safe=True)])
    assert safe.edits == [] and safe.spec == spec
    assert safe.notes == [Note("runAsNonRoot", "set spec.securityContext.runAsNonRoot to true "
                                               "(--unsafe-fixes does this; it may break the workload)")]
    unsafe = plan(json.loads(json.dumps(spec)), unsafe=True)
    unsafe.apply([Edit("runAsNonRoot", "set", PATH, True, safe=True)])
    assert unsafe.edits == [Edit("runAsNonRoot", "set", PATH, True, False, safe=False)]
    assert unsafe.spec["securityContext"]["runAsNonRoot"] is True


def test_adding_an_unset_value_is_safe_and_a_removal_never_is():
    added = plan({})
    added.apply([Edit("runAsNonRoot", "set", PATH, True)])
    assert added.edits == [Edit("runAsNonRoot", "set", PATH, True, None, safe=True)]
    removed = plan({"securityContext": {"runAsUser": 0}})
    removed.apply([Edit("runAsUser", "remove", ("spec", "securityContext", "runAsUser"), safe=True,
                        what="remove the root user")])
    assert removed.edits == [] and removed.spec == {"securityContext": {"runAsUser": 0}}
    assert [n.message for n in removed.notes] == [
        "remove the root user (--unsafe-fixes does this; it may break the workload)"]


def test_an_exempt_path_is_left_alone_without_a_note():
    exempt = plan({}, unsafe=True, exempt=lambda check, path: path == PATH)
    exempt.apply([Edit("runAsNonRoot", "set", PATH, True)])
    assert (exempt.edits, exempt.notes, exempt.spec) == ([], [], {})


def test_unless_is_judged_once_for_all_its_items():
    items = [Edit("c", "set", PATH, True),
             Unless(PATH, (True,), (Note("c", "only when not set"),)),
             Unless(("spec", "hostPID"), (True,), (Edit("c", "set", ("spec", "hostPID"), True),
                                                   Edit("c", "set", ("spec", "hostIPC"), True)))]
    done = plan({})
    done.apply(items)
    assert done.notes == []
    assert [e.path for e in done.edits] == [PATH, ("spec", "hostPID"), ("spec", "hostIPC")]
    refused = plan({"securityContext": {"runAsNonRoot": False}})
    refused.apply(items[:2])
    assert [n.message for n in refused.notes][-1] == "only when not set"


def test_unless_compares_types_as_the_api_server_does():
    held = plan({"securityContext": {"runAsNonRoot": 1}})
    held.apply([Unless(PATH, (True,), (Note("c", "not true"),))])
    assert held.notes == [Note("c", "not true")]


BAD_POD = pod([ctr("a", {"privileged": True, "runAsUser": 0, "runAsNonRoot": False, "procMount": "Unmasked",
                         "seccompProfile": {"type": "Unconfined"}, "appArmorProfile": {"type": "Unconfined"},
                         "seLinuxOptions": {"type": "spc_t", "user": "root"},
                         "windowsOptions": {"hostProcess": True},
                         "capabilities": {"add": ["SYS_ADMIN", "NET_RAW"]}},
                   livenessProbe={"httpGet": {"host": "10.0.0.1"}}, ports=[{"containerPort": 80, "hostPort": 80}])],
              hostNetwork=True, hostPID=True,
              securityContext={"runAsNonRoot": False, "runAsUser": 0, "sysctls": [{"name": "kernel.msgmax"}],
                               "seccompProfile": {"type": "Unconfined"}})
BAD_META = {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined",
                            "container.apparmor.security.beta.kubernetes.io/a": "unconfined"}}


@pytest.mark.parametrize("check", [c for c in ALL_CHECKS if c.fix_at(None) is not None], ids=lambda c: c.id)
@pytest.mark.parametrize("minor", [30, 37])
def test_every_fix_is_pure_and_returns_edits_and_notes(check, minor):
    meta, spec = json.loads(json.dumps(BAD_META)), json.loads(json.dumps(BAD_POD))
    items = check.fix_at(Version(minor))(meta, spec, Version(minor))
    assert (meta, spec) == (BAD_META, BAD_POD)  # read, never changed
    assert items, check.id

    def flatten(items):
        for item in items:
            yield from flatten(item.items) if isinstance(item, Unless) else (item,)

    for item in flatten(items):
        assert isinstance(item, (Edit, Note)) and item.check in (check.id, "procMount")
        if isinstance(item, Edit):
            assert item.op in ("set", "remove", "append", "remove_items") and item.old is None
