// CRM sync, as far as it is built today: read pending leads from the sheet, then try to
// write one into the CRM. The program (and the model) only ever sees placeholders, and no
// flow policy permits the CRM write yet, so the broker refuses it before the CRM is called.
const { rows } = await tools.sheets.getRows({ sheet: "q4-leads", status: "pending", limit: 3 });
console.log(`read ${rows.length} pending leads: ${rows.map((r) => `${r.name} <${r.email}>`).join(", ")}`);
let denied = null;
try {
  await tools.crm.updateLead({ id: rows[0].crmId, email: rows[0].email });
} catch (e) {
  denied = `${e.name}: ${e.message}`;
}
return { leads: rows.map((r) => ({ id: r.id, name: r.name, email: r.email, phone: r.phone })), denied };
