// Saves a skill: working code the agent wants to keep. Later programs of the same agent
// (in any session) call it as `await skills.syncLead({ rowId })`, and `search` lists it
// beside the backend tools with this signature and description.
//
//   sluice exec --config examples/sluice.toml examples/agents/save-sync-lead.ts
//   sluice skills --config examples/sluice.toml list
const code = `
type SyncLeadArgs = { rowId: string; status?: string };

/** Copies one sheet row's email and phone into its CRM lead. */
export default async function syncLead(args: SyncLeadArgs): Promise<{ id: string; status: string }> {
  const row = await tools.sheets.getRow({ sheet: "q4-leads", id: args.rowId });
  const lead = await tools.crm.updateLead({
    id: row.crmId,
    email: row.email,
    phone: row.phone,
    status: args.status ?? "contacted",
  });
  return { id: lead.id, status: lead.status };
}
`;
return await skills.save({
  name: "syncLead",
  description: "Copies one sheet row's email and phone into its CRM lead (by sheet row id) and sets the lead's status",
  code,
});
