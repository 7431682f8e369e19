// CRM sync (the `sluice demo` scenario): copy the contact details of pending leads from
// the sheet into the CRM, then tell the sales channel. The program — and so the model —
// only ever handles placeholders such as [EMAIL_1]; the broker puts the real values into
// the CRM call because a flow policy allows sheets → crm, and refuses the chat post
// because no contact data may flow to an external server.
const { rows } = await tools.sheets.getRows({ sheet: "q4-leads", status: "pending" });
const updated = [];
for (const row of rows) {
  const lead = await tools.crm.updateLead({
    id: row.crmId,
    email: row.email,
    phone: row.phone,
    status: "contacted",
    note: `synced from sheet row ${row.id}`,
  });
  updated.push({ id: lead.id, name: lead.name, email: lead.email });
}
console.log(`updated ${updated.length} CRM leads`);

let chat = "posted";
try {
  await tools.chat.postMessage({
    channel: "#sales",
    text: `Synced ${updated.length} leads: ${updated.map((u) => `${u.name} <${u.email}>`).join(", ")}`,
  });
} catch (e) {
  chat = e.message;
  console.warn("chat post refused by policy");
}
return { updated, chat };
