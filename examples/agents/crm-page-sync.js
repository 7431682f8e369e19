// Paged CRM sync with state in the workspace: each execute handles one page of pending
// sheet rows and remembers where it stopped, so an agent can work through thousands of
// rows across executes without a single row passing through its context. Run it again
// in the same session to continue:
//
//   sluice exec --config examples/sluice.toml --session crm-sync examples/agents/crm-page-sync.js
//
// The workspace holds what the program saw: placeholders such as [EMAIL_1], never raw
// values, sealed by the vault, per session and agent, erased by `sluice vault purge`.
const PAGE = 2;
const cursor = (await workspace.get("sync/cursor")) ?? 0;
const summary = (await workspace.get("sync/summary")) ?? { updated: 0, failed: [] };

const { rows } = await tools.sheets.getRows({ sheet: "q4-leads", status: "pending" });
const page = rows.slice(cursor, cursor + PAGE);
for (const row of page) {
  try {
    await tools.crm.updateLead({ id: row.crmId, email: row.email, phone: row.phone, status: "contacted" });
    summary.updated += 1;
  } catch (e) {
    summary.failed.push({ id: row.id, error: e.message });
  }
}
const next = cursor + page.length;
await workspace.set("sync/cursor", next);
await workspace.set("sync/summary", summary);
return { done: next >= rows.length, next, of: rows.length, summary };
