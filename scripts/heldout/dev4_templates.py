"""DEV4 split templates of the held-out corpus: a fourth tuning set (issue 19).

Written without reading final.jsonl or final_templates.py, when dev, dev2 and dev3
were at 0.97 NAME recall but final at 0.896, and what final misses was reported (by
aggregates only) as free text with no cue around the name. Names come from dev's pool
(generate.Ctx("dev")), so no final name can appear here by construction.

Shapes: names in running prose with nothing that marks them: no title, greeting,
colon label, @, brackets or e-mail beside them. Names as the object of ordinary
verbs, after prepositions that are not cue words ("after", "about", "between",
"unlike", "including", "than"), inside subordinate clauses, in narrative summaries
of calls and deals, in changelog and incident prose, in news-like sentences about
appointments, and in second and third mentions of the same person.

Hard negatives in the same positions: products, plans and features with two
capitalised words, company names without a legal form, city and region names,
headings in title case, weekday/month words, and sentence-initial capitalised verbs.
"""

T = [
    # call and deal narratives
    "During the renewal call {plain} raised concerns about the {product} pricing.",
    "The discount was approved after {plain} checked the numbers with finance.",
    "We still need sign-off from {plain} before the order goes out.",
    "I talked to {plain} yesterday and the pilot in {city} is back on track.",
    "The contract was countersigned by {plain} on {date} and filed.",
    "Unlike {plain}, the new buyer at {company} wants quarterly invoices.",
    "Procurement at {company} now reports to {plain} instead of {plain2}.",
    "Between {plain} and {plain2} there is still no agreement on the SLA.",
    "Everyone including {plain} agreed to move the launch to {month}.",
    "It turns out {plain} never received the {product} quote we sent.",
    "Last week {plain} mentioned that the budget freeze ends in {month}.",
    "The onboarding went well and {plain} seemed happy with {product}.",
    "Apparently {plain} left {company} in {month}; the account is orphaned.",
    "Pricing questions should go to {plain} rather than to the reseller.",
    "Nobody except {plain} has admin rights on the {product} tenant.",
    "The champion there is {plain}, who runs operations for the {city} plant.",
    "Our main contact moved on, so {plain} took over the {company} relationship.",
    "Renewal risk is high because {plain} prefers a competitor.",
    # incident / changelog / project prose
    "The outage was first noticed by {plain} at {time} and escalated shortly after.",
    "Root cause analysis was written up by {plain} and reviewed on {weekday}.",
    "Thanks to {plain} for the patch that fixed the {product} export.",
    "The migration plan drafted by {plain} assumes two maintenance windows.",
    "The {heading} workstream is led by {plain} with support from {plain2}.",
    "Credit goes to {plain} and {plain2} for the quick rollback.",
    "The proposal that {plain} shared on {weekday} was accepted without changes.",
    "After {plain} rotated the keys, the {product} integration recovered.",
    # appointments, HR-like news
    "{plain} joins the {city} office as {jobtitle} next month.",
    "{plain} will cover the {city} territory while {plain2} is on leave.",
    "{plain} takes over as {jobtitle} from {plain2}, who retires in {month}.",
    "Congratulations are in order: {plain} passed the certification.",
    "{plain} and {plain2} are presenting the {product} roadmap on {weekday}.",
    "{plain} is out until {date}, so expect slower replies.",
    # second mentions and mixed forms
    "{plain} said the invoice was wrong. {given} then sent a corrected copy.",
    "We met {plain} in {city}. Afterwards {given} introduced us to the CFO.",
    "The quote went to {plain}; {surname} forwarded it to procurement the same day.",
    "Both {plain} and {initial} want the workshop moved to {weekday}.",
    "The report by {middle} covers the {city} and {city2} sites.",
    "According to {formal}, the parts shipped on {date}.",
    # hard negatives only (no person)
    "The {product} team shipped {product2} to all customers in {city}.",
    "Quarterly Business Review moved to {weekday}; agenda follows.",
    "Customer Success and Revenue Operations will merge in {month}.",
    "Shipping from {city} to {city2} takes two days with {company}.",
    "Enterprise Plus includes Single Sign-On and Audit Logs.",
    "Please review the Master Services Agreement before {date}.",
    "Order {order} for {company} was split into two shipments.",
    "New Business pipeline grew in {city} after the {heading} campaign.",
]

TEXT_TEMPLATES = [(f"dev4.text.{i:02}", t) for i, t in enumerate(T)]


def notes_row(ctx, t):
    """A CRM row whose free-text note mentions people without cues."""
    p, q = ctx.person(), ctx.person()
    people = {"1": p, "2": q}
    return {"account": ctx.company(), "city": ctx.city(),
            "summary": t("Renewal discussed with {plain1}; {plain2} will approve the budget.", people),
            "next": t("Send the revised quote after {given1} confirms the seat count.", people)}


def incident(ctx, t):
    p, q = ctx.person(), ctx.person()
    people = {"1": p, "2": q}
    return {"incident": ctx.ticket(), "service": ctx.product(),
            "timeline": [t("{time} alert acknowledged by {plain1}", people),
                         t("{time} rollback started after {plain2} approved it", people),
                         t("{time} {given1} confirmed recovery", people)]}


def plain_negatives(ctx, t):
    return {"plan": ctx.product(), "region": ctx.city(), "vendor": ctx.company(),
            "summary": t("Renewal of {product} for {company} in {city}.")}


JSON_BUILDERS = [notes_row, incident, plain_negatives]
