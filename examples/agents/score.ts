// TypeScript is accepted: types are stripped on the host before the sandbox runs it.
interface Lead {
  id: string;
  score: number;
}
const leads: Lead[] = [
  { id: "L-1", score: 72 },
  { id: "L-2", score: 91 },
];
const best = (xs: Lead[]): Lead => xs.reduce((a, b) => (b.score > a.score ? b : a));
return best(leads).id;
