"""`kubectl podsec lsp`: a language server over stdio, on pygls and lsprotocol (the `lsp`
extra). It only translates between the protocol and editor.py, which does the work.

Settings come from `initializationOptions` and from the `podsec` section of the client's
configuration (pulled at start and on didChangeConfiguration); the latter wins:
{"level": "baseline"|"restricted", "version": "latest"|"v1.N", "config": PATH, "debounceMs": N}.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from kubectl_podsec import __version__, editor

log = logging.getLogger(__name__)

SOURCE = "podsec"
_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}
_ENCODINGS: dict[str | None, str] = {types.PositionEncodingKind.Utf8: "utf-8",
                                     types.PositionEncodingKind.Utf32: "utf-32"}


class PodsecServer(LanguageServer):
    def __init__(self):
        super().__init__("kubectl-podsec", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.init_settings = editor.Settings()
        self.settings = editor.Settings()
        self.configs = editor.ConfigCache()
        self.pending: dict = {}  # uri -> the debounced diagnostics task
        self.findings: dict = {}  # uri -> ((text, config, problem), findings) last computed
        self.configured: asyncio.Event | None = None  # set once the client's settings are in

    @property
    def encoding(self) -> str:
        return _ENCODINGS.get(self.workspace.position_encoding, "utf-16")

    def document(self, uri: str) -> tuple:
        """(text, file path or None) of an open document."""
        document = self.workspace.get_text_document(uri)
        return document.source, to_fs_path(uri) if uri.startswith("file:") else None

    def findings_of(self, uri: str) -> tuple:
        """(text, findings, config) of the document as it is now, computed again if it changed."""
        text, path = self.document(uri)
        config, problem = self.configs.get(path, self.settings)
        cached = self.findings.get(uri)
        # A new Config object means the .podsec.yaml changed on disk: judge again.
        key = (text, id(config), problem)
        if cached is None or cached[0] != key:
            cached = self.findings[uri] = (key, self._diagnose(text, path, config, problem))
        return text, cached[1], config

    def _diagnose(self, text: str, path: str | None, config, problem) -> list:
        try:
            found = editor.diagnose(text, path, self.settings, config, self.encoding)
        except Exception as error:  # a bug must not take the editor's server down
            log.exception("diagnostics failed")
            found = [editor.Finding((0, 0, 0, 0), f"kubectl-podsec internal error: {error!r}", "error")]
        if problem is not None and found is not None:
            found.insert(0, editor.Finding((0, 0, 0, 0), f"config {problem}", "error"))
        return found

    def publish(self, uri: str) -> None:
        try:
            _, found, _ = self.findings_of(uri)
        except KeyError:  # closed meanwhile
            return
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
            uri=uri, diagnostics=[diagnostic(uri, f) for f in found]))

    def schedule(self, uri: str) -> None:
        """Publish after `debounce` seconds without another change."""
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        if self.settings.debounce <= 0:
            self.publish(uri)
            return

        async def later():
            await asyncio.sleep(self.settings.debounce)
            self.pending.pop(uri, None)
            self.publish(uri)

        self.pending[uri] = asyncio.ensure_future(later())

    def ready(self) -> asyncio.Event:
        if self.configured is None:  # made here: it must belong to the server's event loop
            self.configured = asyncio.Event()
        return self.configured

    def apply_settings(self, options) -> None:
        self.settings, errors = editor.parse_settings(options, self.init_settings)
        for error in errors:
            self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, error))
        self.findings.clear()


def diagnostic(uri: str, finding: editor.Finding) -> types.Diagnostic:
    extra: dict[str, Any] = {}
    if finding.check:
        extra = {"code": finding.check,
                 "code_description": types.CodeDescription(href=editor.level_uri(finding.level)),
                 "data": {"check": finding.check, "document": finding.document, "item": finding.item}}
    related = [types.DiagnosticRelatedInformation(types.Location(uri, _range(r)), message)
               for r, message in finding.related] or None
    return types.Diagnostic(range=_range(finding.range), message=finding.message, source=SOURCE,
                            severity=_SEVERITY[finding.severity], related_information=related, **extra)


def _range(r: tuple) -> types.Range:
    return types.Range(types.Position(r[0], r[1]), types.Position(r[2], r[3]))


def build() -> PodsecServer:
    server = PodsecServer()
    _serve_settings(server)
    _serve_documents(server)
    _serve_findings(server)
    return server


async def _pull_configuration(ls: PodsecServer, republish: bool = True) -> None:
    workspace = ls.client_capabilities.workspace
    if not (workspace and workspace.configuration):
        return
    try:
        values = await ls.workspace_configuration_async(types.ConfigurationParams(
            items=[types.ConfigurationItem(section="podsec")]))
    except Exception:  # a client that advertises but fails: keep what we have
        log.exception("workspace/configuration failed")
        return
    ls.apply_settings(values[0] if values else None)
    for uri in list(ls.workspace.text_documents) if republish else ():
        ls.publish(uri)


def _serve_settings(server: PodsecServer) -> None:
    """The client's settings: at initialize, once initialized, and on every change."""

    @server.feature(types.INITIALIZE)
    def initialize(ls: PodsecServer, params: types.InitializeParams):
        ls.init_settings, errors = editor.parse_settings(params.initialization_options, ls.init_settings)
        ls.settings = ls.init_settings
        for error in errors:
            log.warning(error)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: PodsecServer, params: types.InitializedParams):
        try:
            await _pull_configuration(ls, republish=False)  # didOpen waits for it
        finally:
            ls.ready().set()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: PodsecServer, params: types.DidChangeConfigurationParams):
        settings = params.settings
        if isinstance(settings, dict) and isinstance(settings.get("podsec"), dict):
            ls.apply_settings(settings["podsec"])
            for uri in list(ls.workspace.text_documents):
                ls.publish(uri)
        else:  # a change notice without the values: ask for them
            await _pull_configuration(ls)


def _serve_documents(server: PodsecServer) -> None:
    """Open, change, save and close: diagnostics published, debounced, withdrawn."""

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: PodsecServer, params: types.DidOpenTextDocumentParams):
        try:  # the first diagnostics already with the client's settings, unless it never answers
            await asyncio.wait_for(ls.ready().wait(), 5)
        except asyncio.TimeoutError:
            log.warning("no settings from the client after 5 s; using the defaults")
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: PodsecServer, params: types.DidChangeTextDocumentParams):
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: PodsecServer, params: types.DidSaveTextDocumentParams):
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: PodsecServer, params: types.DidCloseTextDocumentParams):
        uri = params.text_document.uri
        task = ls.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        ls.findings.pop(uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


def _serve_findings(server: PodsecServer) -> None:
    """Hover and code actions on the findings last published."""

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: PodsecServer, params: types.HoverParams):
        _, found, _ = ls.findings_of(params.text_document.uri)
        at = params.position
        hits = [f for f in found if f.check and editor.contains(f.range, at.line, at.character)]
        if not hits:
            return None
        text = "\n\n---\n\n".join(editor.hover_text(f) for f in hits)
        return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, text), _range(hits[0].range))

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll]))
    def code_action(ls: PodsecServer, params: types.CodeActionParams):
        uri = params.text_document.uri
        text, found, config = ls.findings_of(uri)
        _, path = ls.document(uri)
        only = params.context.only
        wanted = [f for f in found if f.check and _overlaps(f.range, params.range)]
        try:
            actions = editor.code_actions(text, path, ls.settings, config, wanted, ls.encoding)
        except Exception:
            log.exception("code actions failed")
            return []
        out = []
        for action in actions:
            if only and not any(action.kind == k or action.kind.startswith(f"{k}.") for k in only):
                continue
            out.append(types.CodeAction(
                title=action.title, kind=action.kind, is_preferred=action.preferred or None,
                diagnostics=[diagnostic(uri, f) for f in action.findings] or None,
                edit=types.WorkspaceEdit(changes={uri: [types.TextEdit(_range(r), new) for r, new in action.edits]})))
        return out


def _overlaps(a: tuple, b: types.Range) -> bool:
    return (a[0], a[1]) <= (b.end.line, b.end.character) and (b.start.line, b.start.character) <= (a[2], a[3])


def serve(level=None, version=None) -> int:
    """Serve on stdin/stdout until the client says exit; `level` and `version` (from the
    command line) are the defaults that the client's settings override. Returns the exit
    code the protocol asks for: 0 after a shutdown request, 1 without."""
    server = build()
    base = editor.Settings()
    server.init_settings = server.settings = editor.Settings(level or base.level, version or base.version)
    # The protocol gets its own handle on stdout (pygls closes it at exit); anything else
    # that prints goes to stderr instead of corrupting the stream.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr
    server.start_io(sys.stdin.buffer, out)
    return 0 if getattr(server.protocol, "_shutdown", True) else 1
