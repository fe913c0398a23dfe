"""seccompProfile_baseline (baseline; v1.0-v1.18 annotations, v1.19+ fields): docs/psa-semantics.md 3, 5, 11.5."""

import pytest
from checkhelp import assert_allowed, assert_denied, ctr, pod, run

from kubectl_podsec.checks.seccomp_profile_baseline import CHECK

REASON = "seccompProfile"
POD_KEY = "seccomp.security.alpha.kubernetes.io/pod"
CPFX = "container.seccomp.security.alpha.kubernetes.io/"
ANNOTATION_MINORS = range(19)
FIELD_MINORS = range(19, 38)


def sc(type_=None) -> dict:
    return {"seccompProfile": {} if type_ is None else {"type": type_}}


def fields_detail(setters: str, values: str) -> str:
    return f"{setters} must not set securityContext.seccompProfile.type to {values}"


def test_identity():
    assert CHECK.id == "seccompProfile_baseline"
    assert [v.minimum_version.minor for v in CHECK.versions] == [0, 19]


# --- v1.0 - v1.18: annotations only ---------------------------------------------------------

@pytest.mark.parametrize("spec, annotations", [
    pytest.param(pod([ctr("a")]), {}, id="none"),
    pytest.param(pod([ctr("a")]), {POD_KEY: "runtime/default"}, id="pod-runtime-default"),
    pytest.param(pod([ctr("a")]), {POD_KEY: "docker/default"}, id="pod-docker-default"),
    pytest.param(pod([ctr("a")]), {POD_KEY: "localhost/profile.json"}, id="pod-localhost"),
    pytest.param(pod([ctr("a")], [ctr("i")], [ctr("e")]),
                 {CPFX + "a": "runtime/default", CPFX + "i": "docker/default", CPFX + "e": "localhost/x"},
                 id="containers-good"),
    pytest.param(pod([ctr("a")]), {CPFX + "ghost": "unconfined", CPFX: ""}, id="key-for-no-container-ignored"),
    pytest.param(pod([ctr("a", sc("Unconfined"))], securityContext=sc("Unconfined")), {},
                 id="fields-ignored-before-v1_19"),
    pytest.param(pod([ctr("a")]), {"container.apparmor.security.beta.kubernetes.io/a": "unconfined"},
                 id="apparmor-annotation-not-judged-here"),
])
def test_annotations_allowed(spec, annotations):
    for minor in ANNOTATION_MINORS:
        assert_allowed(run(CHECK, minor, spec, {"annotations": annotations}))


@pytest.mark.parametrize("spec, annotations, detail", [
    pytest.param(pod([ctr("a")]), {POD_KEY: ""}, f'forbidden annotation {POD_KEY}=""', id="empty-value-is-bad"),
    pytest.param(pod([ctr("a")]), {POD_KEY: "unconfined"}, f'forbidden annotation {POD_KEY}="unconfined"',
                 id="pod-unconfined"),
    pytest.param(pod([ctr("a")]), {POD_KEY: "RuntimeDefault"}, f'forbidden annotation {POD_KEY}="RuntimeDefault"',
                 id="field-value-as-annotation"),
    pytest.param(pod([ctr("a")]), {POD_KEY: 'a"b'}, f'forbidden annotation {POD_KEY}="a\\"b"', id="go-quoted-value"),
    pytest.param(pod([ctr("a")]), {POD_KEY: "a\tb\x01\u00e9\u200b"},
                 f'forbidden annotation {POD_KEY}="a\\tb\\x01\u00e9\\u200b"', id="go-quoted-escapes"),
    pytest.param(pod([ctr("a")]), {CPFX + "a": "unconfined"}, f'forbidden annotation {CPFX}a="unconfined"',
                 id="container"),
    pytest.param(pod(ephemeral=[ctr("dbg")]), {CPFX + "dbg": "unconfined"},
                 f'forbidden annotation {CPFX}dbg="unconfined"', id="ephemeral-container"),
    pytest.param(pod([ctr("a")], [ctr("a")]), {CPFX + "a": "unconfined"}, f'forbidden annotation {CPFX}a="unconfined"',
                 id="same-name-twice-counted-once"),
    pytest.param(pod([ctr("a"), ctr("ok")], [ctr("i")]),
                 {POD_KEY: "unconfined", CPFX + "a": "", CPFX + "i": "foo", CPFX + "ok": "runtime/default"},
                 f'forbidden annotations {CPFX}a="", {CPFX}i="foo", {POD_KEY}="unconfined"', id="sorted-plural"),
])
def test_annotations_denied(spec, annotations, detail):
    for minor in ANNOTATION_MINORS:
        assert_denied(run(CHECK, minor, spec, {"annotations": annotations}), REASON, detail)


# --- v1.19+: fields only ----------------------------------------------------------------------

@pytest.mark.parametrize("spec, annotations", [
    pytest.param(pod([ctr("a")]), {}, id="unset"),
    pytest.param(pod([ctr("a", sc("RuntimeDefault"))], [ctr("i", sc("Localhost"))], [ctr("e")],
                     securityContext=sc("Localhost")), {}, id="allowed-types"),
    pytest.param(pod([ctr("a")]), {POD_KEY: "unconfined", CPFX + "a": ""}, id="annotations-ignored"),
])
def test_fields_allowed(spec, annotations):
    for minor in FIELD_MINORS:
        assert_allowed(run(CHECK, minor, spec, {"annotations": annotations}))


@pytest.mark.parametrize("spec, setters, values", [
    pytest.param(pod([ctr("a")], securityContext=sc("Unconfined")), "pod", '"Unconfined"', id="pod-unconfined"),
    pytest.param(pod([ctr("a")], securityContext=sc()), "pod", '""', id="pod-profile-without-type"),
    pytest.param(pod([ctr("a", sc("Unconfined"))], securityContext=sc("RuntimeDefault")), 'container "a"',
                 '"Unconfined"', id="good-pod-does-not-cover-bad-container"),
    pytest.param(pod([ctr("a", sc("runtime/default"))]), 'container "a"', '"runtime/default"',
                 id="annotation-value-as-type"),
    pytest.param(pod([ctr("a", sc("Unconfined")), ctr("ok", sc("RuntimeDefault"))], [ctr("i", sc("foo"))],
                     [ctr("e", sc("Unconfined"))], securityContext=sc("Unconfined")),
                 'pod and containers "i", "a", "e"', '"Unconfined", "foo"', id="everything-sorted"),
    pytest.param(pod(ephemeral=[ctr("dbg", sc("Unconfined"))]), 'container "dbg"', '"Unconfined"', id="ephemeral"),
])
def test_fields_denied(spec, setters, values):
    for minor in FIELD_MINORS:
        assert_denied(run(CHECK, minor, spec), REASON, fields_detail(setters, values))


@pytest.mark.parametrize("minor", [24, 25, 28, 37])
def test_windows_not_exempt_at_baseline(minor):
    spec = pod([ctr("a")], securityContext=sc("Unconfined"), os={"name": "windows"})
    assert_denied(run(CHECK, minor, spec), REASON, fields_detail("pod", '"Unconfined"'))


def test_paths():
    annotated = run(CHECK, 18, pod([ctr("a")]), {"annotations": {CPFX + "a": "unconfined"}})
    assert annotated.paths == (("metadata", "annotations", CPFX + "a"),)
    fields = run(CHECK, 19, pod([ctr("ok"), ctr("a", sc("Unconfined"))], securityContext=sc("Unconfined")))
    assert set(fields.paths) == {
        ("spec", "securityContext", "seccompProfile", "type"),
        ("spec", "containers", 1, "securityContext", "seccompProfile", "type"),
    }
