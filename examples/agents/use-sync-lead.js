// Reuses the saved `syncLead` skill (save it first with save-sync-lead.ts). The skill runs
// inside this program's sandbox: its tool calls are decided by the same policies as if
// they were written here, and audit records name the skill.
//
//   sluice exec --config examples/sluice.toml examples/agents/use-sync-lead.js
const { rows } = await tools.sheets.getRows({ sheet: "q4-leads", status: "pending" });
const results = [];
for (const row of rows.slice(0, 3)) results.push(await skills.syncLead({ rowId: row.id }));
return results;
