"""DEV split templates of the held-out corpus. The detector tuner may read
this file and dev.jsonl. Templates here and in final_templates.py are
disjoint families (different tools, phrasings, JSON shapes and keys)."""

T = [
    # support tickets
    "Ticket {ticket} opened by {name} ({email}). Customer reports the export fails since {version}.",
    "Hi team, {given} from {company} called again about order {order}; please ring back on {phone}.",
    "Escalated to {name2} — {name} says the refund of {amount} for {order} never arrived.",
    "Customer {cue} asked us to update the billing contact to {email2}.",
    "Callback requested: {phone}, ask for {formal}.",
    "Priority changed from P3 to P1 by {initial} at {time}.",
    "Note from {given}: the device with serial {uuid} rebooted twice on {date}.",
    "Resolved. Root cause was a stale cache on host {ip}; confirmed with {name}.",
    "Please do not contact {name} before {date}; use {role_email} instead.",
    "Card ending {card} was declined; {given} will call {phone} tomorrow.",
    # email headers, signatures
    "From: {name} <{email}>\nTo: {name2} <{email2}>\nSubject: Renewal quote {order}",
    "Best regards,\n{name}\n{company}\nTel. {phone}",
    "Kind regards,\n{plain}\nAccount Executive | {company}\nM: {phone} | {email}",
    "Cc: {email}, {email2}",
    "On {date} at {time}, {name} <{email}> wrote:",
    "Thanks {given}, looping in {name2} who owns the {company} account.",
    "Mit freundlichen Grüßen\n{name}\n{company}\nTelefon: {phone}",
    "Cordialement,\n{name}\nDirectrice commerciale\n{phone}",
    "Saludos,\n{name}\nGerente de Ventas — {company}\nCel. {phone}",
    # meeting notes, calendar
    "Meeting notes {date}: attendees {name}, {name2}, {name3}. Action items below.",
    "Action item: {initial} to send the SOW to {email} by {date}.",
    "Dial-in: {phone}, PIN {order}. Host: {name}.",
    "Rescheduled the QBR with {company} to {date} {time}; {given} confirmed.",
    "Agenda\n1. Welcome\n2. Roadmap {version}\n3. Q&A with {name}",
    "Interview with {name} for the Senior Data Engineer role at {time}.",
    # addresses
    "Ship to:\n{name}\n{street}\n{postcode} {city}",
    "Billing address: {company}, {street}, {postcode} {city}. Attn: {name}.",
    "Deliver to reception; contact on site {given} {surname}, {phone}.",
    # chat in several languages
    "hey {given}, can you send me {name2}'s number? I only have {phone}",
    "ok pinged {name} on slack, she said {email} is the right address",
    "Hallo {given}, bitte ruf {name2} unter {phone} zurück.",
    "Bonjour {given}, pouvez-vous écrire à {email} avant le {date} ?",
    "Hola {given}, el cliente {name2} pide una llamada al {phone}.",
    "Olá {given}, o {name2} mandou o contrato para {email}.",
    "Ciao {given}, {name2} ha chiesto di richiamare il {phone}.",
    "Hoi {given}, {name2} is bereikbaar op {phone}.",
    "Привет, {given}! {name2} просил перезвонить по номеру {phone}.",
    "{given}さん、{name2}さんから電話がありました（{phone}）。",
    "{name}님, 회의 자료를 {email}로 보내주세요.",
    "请联系{name}，电话{phone}，邮箱{email}。",
    # CRM activity lines
    "Lead created: {name}, {company}, source: webinar {date}.",
    "Owner changed from {name} to {name2}.",
    "Logged call with {formal} — 12 min, outcome: interested.",
    "{name} viewed the pricing page 3 times from {ip}.",
    "Deal {order} moved to Negotiation by {name}; amount {amount}.",
    "Sent quote to {email} (expires {date}).",
    # hard negatives (no PII)
    "Quarterly report prepared by {company} for {company}.",
    "Engagement letter from {firm} signed on {date}.",
    "Release {version} ships on {date}; see ISBN {isbn} for the printed manual.",
    "Invoice {order} over {amount} is due on {date}.",
    "Head of Customer Success, Regional Sales Director and VP Engineering joined the call.",
    "Dial-in details will follow. Agenda: Pricing, Roadmap, Open Questions.",
    "Server {ip} restarted at {time}; build {version} deployed.",
    "Tracking number {order}, parcel weight 2.4 kg, {amount}.",
    "Payment with card {card} authorised for {amount}.",
    "Welcome to {company}! Your workspace ID is {uuid}.",
    "Monday Standup — Action Items — Budget Review — Next Steps",
]

TEXT_TEMPLATES = [(f"dev.text.{i:02}", t) for i, t in enumerate(T)]


# ---------------------------------------------------------------- JSON shapes

def contacts_list(ctx, t):
    rows = []
    for _ in range(ctx.rng.randrange(2, 5)):
        p = ctx.person()
        rows.append({
            "id": ctx.rng.randrange(10**5, 10**7),
            "firstname": ctx.name(p, "given"),
            "lastname": ctx.name(p, "surname"),
            "email": ctx.email(p),
            "phone": ctx.phone(),
            "company": ctx.company(),
            "jobtitle": ctx.rng.choice(["CFO", "Head of Procurement", "Office Manager",
                                        "Software Engineer", "Directora de Compras"]),
            "lifecyclestage": "lead",
            "createdate": ctx.date(),
        })
    return {"results": rows, "paging": {"next": {"after": str(ctx.rng.randrange(100, 999))}}}


def ticket_with_comments(ctx, t):
    req = ctx.person()
    agent = ctx.person()
    people = {"1": req, "2": agent}
    return {
        "ticket": {
            "id": ctx.rng.randrange(1000, 99999),
            "subject": t("Cannot log in since {version}"),
            "status": "open",
            "requester": {"name": ctx.name(req, "plain"), "email": ctx.email(req)},
            "assignee": {"name": ctx.name(agent, "plain")},
            "comments": [
                {"author": ctx.name(req, "plain"), "body": t("Hi, this is {given1}. Please call me at {phone}.", people)},
                {"author": ctx.name(agent, "plain"), "body": t("Thanks {given1}, escalated to {name3}.", people)},
            ],
            "tags": ["login", "sso"],
            "created_at": ctx.date(),
        }
    }


def calendar_event(ctx, t):
    org = ctx.person()
    att = [ctx.person() for _ in range(ctx.rng.randrange(1, 4))]
    return {
        "kind": "calendar#event",
        "summary": t("Sync with {company}"),
        "description": t("Dial-in: {phone}\nOrganizer: {name1}", {"1": org}),
        "organizer": {"email": ctx.email(org), "displayName": ctx.name(org, "plain")},
        "attendees": [{"email": ctx.email(a), "displayName": ctx.name(a), "responseStatus": "accepted"}
                      for a in att],
        "start": {"dateTime": ctx.date(), "timeZone": "Europe/Berlin"},
        "location": t("{street}, {city}"),
    }


def mail_message(ctx, t):
    a, b = ctx.person(), ctx.person()
    people = {"1": a, "2": b}
    return {
        "id": ctx.uuid(),
        "payload": {
            "headers": [
                {"name": "From", "value": t("{name1} <{email1}>", people)},
                {"name": "To", "value": t("{email2}", people)},
                {"name": "Subject", "value": t("Re: order {order}")},
                {"name": "Date", "value": ctx.date()},
            ]
        },
        "snippet": t("Hi {given2}, attached the signed contract. Best, {given1} | {phone}", people),
    }


def chat_history(ctx, t):
    msgs = []
    for _ in range(ctx.rng.randrange(2, 4)):
        p = ctx.person()
        msgs.append({
            "user": ctx.name(p, "plain"),
            "ts": f"{ctx.rng.randrange(1600000000, 1800000000)}.{ctx.rng.randrange(100000, 999999)}",
            "text": t(ctx.rng.choice([
                "can someone call {name} back? {phone}",
                "sent the deck to {email}",
                "lunch at {time}?",
                "{given} is out until {date}",
                "merged {version}, thanks!",
            ])),
        })
    return {"ok": True, "messages": msgs, "has_more": False}


def order_record(ctx, t):
    p = ctx.person()
    return {
        "order_id": ctx.order_no(),
        "customer": {"name": ctx.name(p, "plain"), "email": ctx.email(p), "phone": ctx.phone()},
        "shipping_address": {"line1": ctx.street(), "city": ctx.city(), "zip": ctx.postcode(),
                             "recipient": ctx.name(p, "plain")},
        "total": ctx.amount(),
        "payment": {"card": ctx.card(), "status": "captured"},
        "notes": t(ctx.rng.choice(["Leave at the door.", "Call {phone} on arrival.",
                                   "Gift for {name} — no invoice in the box."])),
    }


def leads_owner(ctx, t):
    rows = []
    for _ in range(ctx.rng.randrange(2, 5)):
        lead, owner = ctx.person(), ctx.person()
        rows.append({
            "lead": ctx.name(lead),
            "owner": ctx.name(owner, "plain"),
            "account": ctx.company(),
            "stage": ctx.rng.choice(["Qualified", "Proposal", "Closed Won"]),
            "value": ctx.amount(),
            "contact": {"mobile": ctx.phone(), "mail": ctx.email(lead)},
        })
    return {"leads": rows}


def company_accounts(ctx, t):
    """Hard negatives in JSON: companies, firms, IDs; only the switchboard phone is PII."""
    rows = []
    for _ in range(ctx.rng.randrange(2, 4)):
        rows.append({
            "account_name": ctx.company(),
            "legal_counsel": ctx.firm(),
            "industry": ctx.rng.choice(["Manufacturing", "Retail", "Healthcare"]),
            "account_id": ctx.uuid(),
            "switchboard": ctx.phone(),
            "website": "https://www." + ctx.rng.choice(["northwind", "kestrel", "polaris"]) + ".com",
            "last_invoice": {"number": ctx.order_no(), "amount": ctx.amount(), "date": ctx.date()},
        })
    return {"accounts": rows}


def note_blob(ctx, t):
    return {
        "note_id": ctx.uuid(),
        "title": ctx.rng.choice(["Call summary", "Follow-up", "Meeting Notes"]),
        "body": t(ctx.rng.choice([
            "Spoke with {name}. Next step: demo on {date}. Reach at {phone}.",
            "{name} ({email}) wants a discount; approved by {name2}.",
            "Left voicemail for {formal} at {phone}.",
        ])),
        "created_by": {"display": ctx.name(ctx.person(), "plain")},
    }


JSON_BUILDERS = [contacts_list, ticket_with_comments, calendar_event, mail_message,
                 chat_history, order_record, leads_owner, company_accounts, note_blob]
