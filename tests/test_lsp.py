"""`kubectl podsec lsp` through the protocol, with pytest-lsp driving the real server process."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

pytest_lsp = pytest.importorskip("pytest_lsp", reason="pytest-lsp 1.x needs Python 3.10 or newer")
from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402

from kubectl_podsec.cli import main  # noqa: E402

DATA = Path(__file__).parent / "data" / "lsp"
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "kubectl_podsec", "lsp", "--stdio"])
PSS = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"


def settings(**options):
    """initializationOptions (init=) and workspace configuration (pulled=) for a test's server."""
    def mark(test):
        test.lsp_settings = options
        return test
    return mark


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, request):
    options = getattr(request.function, "lsp_settings", {})
    if "pulled" in options:
        lsp_client.set_configuration(options["pulled"], section="podsec")
    lsp_client.initialize_result = await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        # No debounce unless a test asks: each change is answered before the next.
        initialization_options={"debounceMs": 0, **options.get("init", {})}))
    yield
    await lsp_client.shutdown_session()


async def open_file(client: LanguageClient, path: Path, text: str = None) -> tuple:
    """Open a document and wait for its diagnostics: (uri, diagnostics)."""
    uri = path.as_uri()
    text = path.read_text(encoding="utf-8") if text is None else text
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="yaml", version=1, text=text)))
    await wait_for(client, uri)
    return uri, client.diagnostics[uri]


async def wait_for(client: LanguageClient, uri: str) -> None:
    client.diagnostics.pop(uri, None)
    while uri not in client.diagnostics:
        await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)


def apply_edits(text: str, edits: list) -> str:
    """Apply TextEdits as a client does (positions in UTF-16 code units)."""
    lines = text.splitlines(keepends=True) + [""]

    def offset(position: types.Position) -> int:
        before = sum(len(line) for line in lines[:position.line])
        units = lines[position.line].encode("utf-16-le")[:position.character * 2].decode("utf-16-le")
        return before + len(units)

    spans = sorted((offset(e.range.start), offset(e.range.end), e.new_text) for e in edits)
    out, at = [], 0
    for start, end, new in spans:
        assert start >= at, "overlapping edits"
        out += [text[at:start], new]
        at = end
    return "".join(out) + text[at:]


def cli_fix(tmp_path: Path, source: Path, *flags: str) -> str:
    """What `kubectl podsec fix` makes of the file."""
    copy = tmp_path / "cli" / source.name
    copy.parent.mkdir(exist_ok=True)
    shutil.copyfile(source, copy)
    assert main(["fix", "-f", str(copy), *flags]) in (0, 1)
    return copy.read_text(encoding="utf-8")


def by_check(diagnostics) -> dict:
    return {d.code: d for d in diagnostics}


@pytest.mark.asyncio
async def test_initialize_advertises_what_the_server_does(client: LanguageClient):
    result = client.initialize_result
    assert result.server_info.name == "kubectl-podsec"
    capabilities = result.capabilities
    assert capabilities.hover_provider
    assert set(capabilities.code_action_provider.code_action_kinds) == {"quickfix", "source.fixAll"}
    assert capabilities.text_document_sync.change == types.TextDocumentSyncKind.Full
    assert capabilities.text_document_sync.open_close


@pytest.mark.asyncio
async def test_diagnostics_one_per_violation_at_the_field(client: LanguageClient, tmp_path):
    path = tmp_path / "web.yaml"
    shutil.copyfile(DATA / "web.yaml", path)
    _, diagnostics = await open_file(client, path)
    found = by_check(diagnostics)
    assert sorted(found) == ["allowPrivilegeEscalation", "capabilities_restricted", "privileged",
                             "runAsNonRoot", "seccompProfile_restricted"]
    assert len(diagnostics) == 5
    privileged = found["privileged"]
    assert privileged.severity == types.DiagnosticSeverity.Error  # baseline blocks both levels
    assert privileged.source == "podsec"
    assert privileged.code_description.href == PSS + "#baseline"
    line = path.read_text(encoding="utf-8").splitlines()[privileged.range.start.line]
    assert line[privileged.range.start.character:privileged.range.end.character] == "privileged: true"
    assert "container \"app\" must not set securityContext.privileged=true" in privileged.message
    assert found["runAsNonRoot"].severity == types.DiagnosticSeverity.Warning
    assert found["runAsNonRoot"].code_description.href == PSS + "#restricted"


@pytest.mark.asyncio
async def test_files_that_are_not_manifests_get_no_diagnostics(client: LanguageClient, tmp_path):
    path = tmp_path / "workflow.yaml"
    path.write_text("name: ci\non: push\njobs:\n  test: {runs-on: ubuntu-latest}\n", encoding="utf-8")
    _, diagnostics = await open_file(client, path)
    assert list(diagnostics) == []


@pytest.mark.asyncio
async def test_exemptions_in_podsec_yaml_are_respected(client: LanguageClient, tmp_path):
    (tmp_path / ".podsec.yaml").write_text(
        "exemptions:\n- kind: Deployment\n  name: web\n  checks: [privileged]\n  reason: debugging tools\n",
        encoding="utf-8")
    path = tmp_path / "web.yaml"
    shutil.copyfile(DATA / "web.yaml", path)
    _, diagnostics = await open_file(client, path)
    assert "privileged" not in by_check(diagnostics)
    assert "runAsNonRoot" in by_check(diagnostics)


@pytest.mark.asyncio
@settings(init={"level": "baseline"})
async def test_level_from_initialization_options(client: LanguageClient, tmp_path):
    path = tmp_path / "web.yaml"
    shutil.copyfile(DATA / "web.yaml", path)
    _, diagnostics = await open_file(client, path)
    assert sorted(by_check(diagnostics)) == ["privileged"]


@pytest.mark.asyncio
@settings(init={"level": "baseline"}, pulled={"level": "restricted"})
async def test_workspace_configuration_overrides_and_changes(client: LanguageClient, tmp_path):
    path = tmp_path / "web.yaml"
    shutil.copyfile(DATA / "web.yaml", path)
    uri, diagnostics = await open_file(client, path)
    assert "runAsNonRoot" in by_check(diagnostics)  # restricted: the pulled setting wins
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"podsec": {"level": "baseline"}}))
    await wait_for(client, uri)
    assert sorted(by_check(client.diagnostics[uri])) == ["privileged"]


@pytest.mark.asyncio
async def test_policy_version_changes_the_checks(client: LanguageClient, tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  securityContext:\n"
                    "    runAsNonRoot: true\n    seccompProfile: {type: RuntimeDefault}\n  containers:\n"
                    "  - name: a\n    image: b\n    securityContext:\n      allowPrivilegeEscalation: false\n",
                    encoding="utf-8")
    uri, diagnostics = await open_file(client, path)
    assert "capabilities_restricted" in by_check(diagnostics)  # drop ALL is required from v1.22
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"podsec": {"version": "v1.21"}}))
    await wait_for(client, uri)
    assert list(client.diagnostics[uri]) == []


@pytest.mark.asyncio
async def test_quick_fix_per_diagnostic_is_fix_of_that_check(client: LanguageClient, tmp_path):
    path = tmp_path / "web.yaml"
    shutil.copyfile(DATA / "web.yaml", path)
    text = path.read_text(encoding="utf-8")
    uri, diagnostics = await open_file(client, path)
    target = by_check(diagnostics)["runAsNonRoot"]
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), target.range, types.CodeActionContext([target])))
    titles = [a.title for a in actions]
    fix = next(a for a in actions if a.title == "Fix runAsNonRoot in Deployment/web")
    assert fix.kind == types.CodeActionKind.QuickFix and fix.is_preferred
    assert [d.code for d in fix.diagnostics] == ["runAsNonRoot"]
    edits = fix.edit.changes[uri]
    assert len(edits) == 1  # a minimal edit, not the whole buffer
    assert edits[0].new_text == "\n      securityContext:\n        runAsNonRoot: true"
    fixed = apply_edits(text, edits)
    assert fixed.replace("\n      securityContext:\n        runAsNonRoot: true", "", 1) == text
    assert "Fix all safe issues in this file" in titles


@pytest.mark.asyncio
async def test_fix_all_safe_equals_the_fix_command(client: LanguageClient, tmp_path):
    path = tmp_path / "web.yaml"
    shutil.copyfile(DATA / "web.yaml", path)
    text = path.read_text(encoding="utf-8")
    uri, _ = await open_file(client, path)
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), types.Range(types.Position(0, 0), types.Position(0, 0)),
        types.CodeActionContext([], only=[types.CodeActionKind.SourceFixAll])))
    assert [a.title for a in actions] == ["Fix all safe issues in this file"]
    assert actions[0].kind == "source.fixAll.podsec"
    edits = actions[0].edit.changes[uri]
    assert len(edits) == 2  # one splice per place, in the original text's coordinates
    assert apply_edits(text, edits) == cli_fix(tmp_path, DATA / "web.yaml")


@pytest.mark.asyncio
async def test_unsafe_fixes_are_separate_and_labelled(client: LanguageClient, tmp_path):
    path = tmp_path / "web.yaml"
    shutil.copyfile(DATA / "web.yaml", path)
    text = path.read_text(encoding="utf-8")
    uri, diagnostics = await open_file(client, path)
    target = by_check(diagnostics)["privileged"]
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), target.range, types.CodeActionContext([target])))
    titles = [a.title for a in actions]
    assert "Fix privileged in Deployment/web" not in titles  # no safe fix for it
    unsafe = next(a for a in actions if a.title == "Fix privileged in Deployment/web (unsafe: may break the workload)")
    assert not unsafe.is_preferred
    assert apply_edits(text, unsafe.edit.changes[uri]) == text.replace("privileged: true", "privileged: false")
    everything = next(a for a in actions if a.title == "Fix all issues in this file (unsafe: may break the workload)")
    assert everything.kind == types.CodeActionKind.QuickFix  # never run by fix-all-on-save
    assert apply_edits(text, everything.edit.changes[uri]) == cli_fix(tmp_path, DATA / "web.yaml", "--unsafe-fixes")


@pytest.mark.asyncio
async def test_no_action_where_fix_refuses(client: LanguageClient, tmp_path):
    path = tmp_path / "alias.yaml"
    shutil.copyfile(DATA / "alias.yaml", path)
    uri, diagnostics = await open_file(client, path)
    assert diagnostics
    for target in diagnostics:
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            types.TextDocumentIdentifier(uri), target.range, types.CodeActionContext([target])))
        assert not actions
    assert cli_fix(tmp_path, DATA / "alias.yaml") == path.read_text(encoding="utf-8")


@pytest.mark.asyncio
async def test_hover_shows_the_checks_standard_text(client: LanguageClient, tmp_path):
    from kubectl_podsec.explain import explain

    path = tmp_path / "web.yaml"
    shutil.copyfile(DATA / "web.yaml", path)
    uri, diagnostics = await open_file(client, path)
    target = by_check(diagnostics)["privileged"]
    hover = await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(uri), target.range.start))
    assert hover.contents.kind == types.MarkupKind.Markdown
    assert explain("privileged").strip() in hover.contents.value
    nothing = await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(uri), types.Position(0, 0)))
    assert nothing is None


@pytest.mark.asyncio
async def test_broken_buffer_gives_a_diagnostic_at_the_parse_error(client: LanguageClient, tmp_path):
    path = tmp_path / "web.yaml"
    shutil.copyfile(DATA / "web.yaml", path)
    uri, _ = await open_file(client, path)
    broken = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: [\n    {name: a\n"
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        [types.TextDocumentContentChangeWholeDocument(text=broken)]))
    await wait_for(client, uri)
    [diagnostic] = client.diagnostics[uri]
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    assert diagnostic.message.startswith("invalid YAML")
    assert diagnostic.range.start.line == 7  # where the parser gave up: the end of the text
    # The server is still alive and serves the next request.
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), diagnostic.range, types.CodeActionContext([diagnostic])))
    assert not actions
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=uri, version=3),
        [types.TextDocumentContentChangeWholeDocument(text=(DATA / "web.yaml").read_text(encoding="utf-8"))]))
    await wait_for(client, uri)
    assert len(client.diagnostics[uri]) == 5


@pytest.mark.asyncio
@settings(init={"debounceMs": 300})
async def test_changes_are_debounced_into_one_publish(client: LanguageClient, tmp_path):
    import asyncio

    path = tmp_path / "web.yaml"
    shutil.copyfile(DATA / "web.yaml", path)
    text = path.read_text(encoding="utf-8")
    uri, _ = await open_file(client, path)
    client.diagnostics.pop(uri)
    # Typing `privileged: true` into `false`, a keystroke at a time: only the end result counts.
    for version, typed in enumerate(["privileged: f", "privileged: fal", "privileged: false"], start=2):
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [types.TextDocumentContentChangeWholeDocument(text=text.replace("privileged: true", typed))]))
        await asyncio.sleep(0.02)
    await wait_for(client, uri)
    assert "privileged" not in by_check(client.diagnostics[uri])
    assert len(client.diagnostics[uri]) == 4
    client.diagnostics.pop(uri)
    with pytest.raises(asyncio.TimeoutError):  # and nothing more for the earlier keystrokes
        await asyncio.wait_for(client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 0.8)


@pytest.mark.parametrize("shutdown, code", [(True, 0), (False, 1)])
def test_exit_code_follows_the_protocol(shutdown, code):
    import json
    import subprocess

    def frame(message: dict) -> bytes:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        return b"Content-Length: %d\r\n\r\n" % len(body) + body

    messages = [frame({"id": 1, "method": "initialize", "params": {"processId": None, "capabilities": {}}}),
                frame({"method": "initialized", "params": {}})]
    if shutdown:
        messages.append(frame({"id": 2, "method": "shutdown"}))
    messages.append(frame({"method": "exit"}))
    # `kubectl podsec lsp` is run as kubectl runs the plugin: its console script's code path.
    run = subprocess.run([sys.executable, "-c", "from kubectl_podsec.cli import run; run()", "lsp"],
                         input=b"".join(messages), capture_output=True, timeout=60)
    assert run.returncode == code, run.stderr
    assert b'"serverInfo"' in run.stdout and b"Traceback" not in run.stderr
