// A first program for `sluice exec`: plain JavaScript, top-level await and return work.
// Run it: ./target/release/sluice exec examples/agents/hello.js
const leads = [
  { id: "L-1", company: "Acme", score: 72, status: "pending" },
  { id: "L-2", company: "Globex", score: 91, status: "synced" },
  { id: "L-3", company: "Initech", score: 55, status: "pending" },
];
const pending = leads.filter((l) => l.status === "pending");
console.log(`${pending.length} of ${leads.length} leads are pending`);
try {
  // No backends are configured with embedded defaults: this shows the error a program sees.
  await tools.sheets.getRows({ sheet: "q4-leads" });
} catch (e) {
  console.warn(`tool call failed as expected: ${e.message}`);
}
return { pending: pending.map((l) => l.id), best: Math.max(...leads.map((l) => l.score)) };
