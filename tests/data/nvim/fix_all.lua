-- Headless Neovim as a real LSP client for tests/test_nvim.py (needs Neovim 0.7: Debian 12's).
-- Opens $PODSEC_FILE with `kubectl podsec lsp` ($PODSEC_CMD, a JSON list) attached, waits for
-- its diagnostics, applies the "Fix all safe issues in this file" code action, writes the
-- buffer and quits. What happened goes to $PODSEC_REPORT as JSON; any failure exits non-zero.
local report = { diagnostics = -1 }

local function finish(ok, message)
  report.ok = ok
  report.message = message
  local handle = io.open(os.getenv("PODSEC_REPORT"), "w")
  handle:write(vim.fn.json_encode(report))
  handle:close()
  vim.cmd(ok and "qall!" or "cquit 1")
end

local function run()
  vim.cmd("edit " .. vim.fn.fnameescape(os.getenv("PODSEC_FILE")))
  local buffer = vim.api.nvim_get_current_buf()
  local published = false
  local client_id = vim.lsp.start_client({
    name = "podsec",
    cmd = vim.fn.json_decode(os.getenv("PODSEC_CMD")),
    root_dir = vim.fn.getcwd(),
    init_options = { debounceMs = 0 },
    handlers = {
      ["textDocument/publishDiagnostics"] = function(err, result, ctx, config)
        vim.lsp.diagnostic.on_publish_diagnostics(err, result, ctx, config)
        published = true
      end,
    },
  })
  if not client_id then
    return finish(false, "the language server did not start")
  end
  vim.lsp.buf_attach_client(buffer, client_id)
  if not vim.wait(60000, function() return published end, 20) then
    return finish(false, "no diagnostics within 60 s")
  end
  report.diagnostics = #vim.diagnostic.get(buffer)
  local client = vim.lsp.get_client_by_id(client_id)
  local params = vim.lsp.util.make_range_params()
  params.context = { diagnostics = {}, only = { "source.fixAll" } }
  local response = client.request_sync("textDocument/codeAction", params, 60000, buffer)
  if not response or response.err then
    return finish(false, "codeAction failed: " .. vim.inspect(response))
  end
  report.titles = {}
  local chosen
  for _, action in ipairs(response.result or {}) do
    table.insert(report.titles, action.title)
    if action.title == "Fix all safe issues in this file" then
      chosen = action
    end
  end
  if not chosen then
    return finish(false, "no fix-all action")
  end
  report.edits = #chosen.edit.changes[vim.uri_from_bufnr(buffer)]
  vim.lsp.util.apply_workspace_edit(chosen.edit, client.offset_encoding)
  vim.cmd("write")
  finish(true, "")
end

vim.api.nvim_create_autocmd("VimEnter", {
  once = true,
  callback = function()
    local ok, problem = pcall(run)
    if not ok then
      finish(false, tostring(problem))
    end
  end,
})
