"""FINAL split templates of the held-out corpus.

Whoever tunes the detectors must not read this file or final.jsonl: only the
aggregate scores of the final split are reported (see
detectors/tests/heldout/README.md). The templates here are a different family
from dev_templates.py: other tools, phrasings, JSON shapes and key names."""

T = [
    # letters, out-of-office, signatures
    "Dear {cue},\n\nthank you for your order {order}. Your advisor is {name2} ({email2}).",
    "Dear Mr {surname}, your appointment is confirmed for {date} at {time}.",
    "Dear Ms. {surname} and Dr. {surname2},\nplease find the minutes attached.",
    "I am out of the office until {date}. For urgent matters please contact {name} at {email} or {phone}.",
    "Sincerely,\n\n{name}\nChief Financial Officer\n{company}\nDirect: {phone}\nMobile: {phone}",
    "--\n{plain} | Customer Success Manager\n{email} | {phone}\n{company}, {street}, {city}",
    "Yours faithfully,\n{formal}\nOn behalf of {company}",
    "Sehr geehrte Frau {surname},\nvielen Dank für Ihre Anfrage. Ihr Ansprechpartner ist {name2}, Tel. {phone}.",
    "Madame, Monsieur,\nvotre dossier est suivi par {name} ({email}).",
    "Estimado/a {given}: le escribe {name2} de {company}. Puede llamarme al {phone}.",
    "Prezado {given}, segue em anexo a proposta. Att., {name2} — {phone}",
    "Gentile {cue}, la contatteremo al numero {phone} entro il {date}.",
    "Szanowny Panie {surname}, prosimy o kontakt pod numerem {phone}.",
    "Hej {given}! Ring mig på {phone} när du har tid. /{given2}",
    "Merhaba {given} Bey, {name2} sizi {phone} numarasından arayacak.",
    "Уважаемая {name}, ваш менеджер — {name2}, e-mail {email2}.",
    "Αγαπητέ {name}, παρακαλώ καλέστε στο {phone}.",
    "مرحبا {name}، يرجى الاتصال بنا على {phone}.",
    "שלום {name}, נא לחזור אלינו בטלפון {phone}.",
    "नमस्ते {name}, कृपया {phone} पर संपर्क करें।",
    "สวัสดีครับคุณ{given} กรุณาติดต่อ {name2} ที่ {phone}",
    "{name} 様\nお問い合わせありがとうございます。担当：{name2}（{email2}）",
    "안녕하세요 {name}님, 담당자 {name2} ({phone}) 입니다.",
    "{name}您好，您的订单{order}已发货，如有问题请致电{phone}。",
    # call logs, voicemail, SMS
    "Voicemail from {phone} ({name}): \"Hi, it's {given1}, please call me back about the contract.\"",
    "Missed call: {phone} — {time}",
    "SMS to {phone}: Your code is 482913. Do not share it.",
    "Outbound call to {name} ({phone}) lasted 6:42; left a message with the assistant.",
    "Call transferred from {name} to {name2} at {time}.",
    "Please text me on {phone} rather than emailing {email}.",
    "My new number is {phone}, old one {phone} no longer works. — {given}",
    "WhatsApp {phone} / Viber {phone}",
    # lists, directories, rosters
    "Participants: {formal}; {formal2}; {formal3}",
    "Owners: {initial}, {initial2} and {name3}.",
    "Reviewer: {middle}. Approver: {middle2}.",
    "Team: {name} (lead), {name2}, {name3} — escalation via {role_email}.",
    "Emergency contact: {name}, relation: spouse, {phone}.",
    "Referred by {name} of {company}.",
    "Assigned to {cue}; watchers: {email2}, {email3}.",
    "Account manager {name} replaced {name2} on {date}.",
    "Signed for by {name} on {date} at {time}.",
    "Photo by {name} on Unsplash",
    "Posted by {given} {surname} · {date}",
    "@{given} thanks! I'll ask {name2} to review {version}.",
    "Reply-To: {email}\nSender: {name} <{email}>",
    "Guest list: {name}, {name2}, {name3}, {name4}",
    # addresses
    "{name}\nc/o {company}\n{street}\n{postcode} {city}",
    "Recipient: {formal}, {street}, {city} {postcode}, phone {phone}",
    "Return address: {company}, {street}, {postcode} {city} — Tel {phone}",
    # support/chat in prose
    "I spoke to {given} at your Berlin office yesterday and she promised a refund.",
    "my name is {cue} and I can't reset my password, my email is {email}",
    "the technician ({name}) arrived late and left without fixing the router",
    "Could you put me through to {name}? I tried {phone} twice.",
    "Thanks to {name} and {name2} for the quick turnaround!",
    "Transcript: Agent {given}: How can I help? Customer: I'm {name2}, account {order}.",
    "According to {name}, the invoice was sent to {email} on {date}.",
    # hard negatives (no PII)
    "Supplier: {company}. Auditor: {company}. Counsel: {firm}.",
    "Retained {firm} for the acquisition of {company}.",
    "Marketing Manager, Chief Executive Officer, Account Director — open roles at {company}.",
    "Confidential — Draft — For Internal Use Only",
    "Summary\nKey Findings\nRecommendations\nAppendix",
    "Order {order} placed on {date} at {time}; total {amount}.",
    "Firmware {version} fixes CVE-2024-{ticket}; tested on {ip}.",
    "Reference {uuid} / batch {order} / lot {ticket}",
    "Card {card} expires 09/27. Amount: {amount}.",
    "Book: ISBN {isbn}, {amount}, ships {date}.",
    "Meeting room Everest, {time}, dial-in code {order}.",
    "Customer since {date}; lifetime value {amount}; NPS 9.",
    "Please Note: Prices Exclude VAT. Terms And Conditions Apply.",
    "Invoices Overdue, Payment Reminder, Final Notice",
    "Conference call at {time}. Dial-In: see calendar invite. Passcode {ticket}.",
    "Welcome Aboard! Getting Started With {company}",
]

TEXT_TEMPLATES = [(f"final.text.{i:02}", t) for i, t in enumerate(T)]


# ---------------------------------------------------------------- JSON shapes

def sf_contacts(ctx, t):
    recs = []
    for _ in range(ctx.rng.randrange(2, 5)):
        p, o = ctx.person(), ctx.person()
        recs.append({
            "attributes": {"type": "Contact", "url": "/services/data/v59.0/sobjects/Contact/"
                           + ctx.uuid()[:18]},
            "Name": ctx.name(p, "plain"),
            "Title": ctx.rng.choice(["VP Sales", "Buyer", "IT Director", "Einkaufsleiter"]),
            "Phone": ctx.phone(),
            "MobilePhone": ctx.phone(),
            "Email": ctx.email(p),
            "Account": {"Name": ctx.company()},
            "Owner": {"Name": ctx.name(o, "plain"), "Email": ctx.email(o)},
            "Description": t(ctx.rng.choice([
                "Met at the trade fair; prefers calls after {time}.",
                "Assistant: {name}, {phone}.",
                "Former customer of {company}.",
            ])),
        })
    return {"totalSize": len(recs), "done": True, "records": recs}


def freshdesk_ticket(ctx, t):
    req, agent = ctx.person(), ctx.person()
    people = {"1": req, "2": agent}
    return {
        "id": ctx.rng.randrange(10**4, 10**6),
        "subject": t("Refund for order {order}"),
        "requester": {"name": ctx.name(req), "email": ctx.email(req), "mobile": ctx.phone()},
        "responder_name": ctx.name(agent, "plain"),
        "description_text": t("Hello, I am {plain1}. I was charged twice ({amount}). Call {phone}.", people),
        "conversations": [
            {"from_email": ctx.email(agent), "body_text": t("Dear {given1}, sorry for the trouble. Regards, {given2}", people)},
            {"from_email": ctx.email(req), "body_text": t("Thanks {given2}! Reachable on {phone} today.", people)},
        ],
        "custom_fields": {"cf_region": "EMEA", "cf_contract": ctx.order_no()},
    }


def graph_event(ctx, t):
    org = ctx.person()
    return {
        "@odata.etag": "W/\"" + ctx.uuid() + "\"",
        "subject": t("{company} — quarterly review"),
        "bodyPreview": t("Join by phone: {phone}, conference ID {order}. Organised by {name1}.", {"1": org}),
        "organizer": {"emailAddress": {"name": ctx.name(org, "plain"), "address": ctx.email(org)}},
        "attendees": [
            {"type": "required", "emailAddress": {"name": ctx.name(p), "address": ctx.email(p)}}
            for p in (ctx.person() for _ in range(ctx.rng.randrange(1, 4)))
        ],
        "location": {"displayName": t("Room {city}")},
        "start": {"dateTime": ctx.date(), "timeZone": "UTC"},
    }


def intercom_conversation(ctx, t):
    user, admin = ctx.person(), ctx.person()
    people = {"1": user, "2": admin}
    return {
        "type": "conversation",
        "id": str(ctx.rng.randrange(10**9, 10**10)),
        "source": {"author": {"type": "user", "name": ctx.name(user, "plain"), "email": ctx.email(user)},
                   "body": t("<p>hi, my name is {cue1}, can someone call me on {phone}?</p>", people)},
        "conversation_parts": {"conversation_parts": [
            {"author": {"type": "admin", "name": ctx.name(admin, "given")},
             "body": t("<p>Hi {given1}, {given2} here. I've passed this to {name3}.</p>", people)},
        ]},
        "tags": {"tags": [{"name": "billing"}, {"name": ctx.rng.choice(["vip", "churn-risk"])}]},
    }


def pipedrive_deals(ctx, t):
    data = []
    for _ in range(ctx.rng.randrange(2, 4)):
        p, u = ctx.person(), ctx.person()
        data.append({
            "id": ctx.rng.randrange(100, 99999),
            "title": t(ctx.rng.choice(["{company} deal", "Renewal {company}", "{surname} expansion"])),
            "person_id": {"name": ctx.name(p, "plain"), "email": [{"value": ctx.email(p), "primary": True}],
                          "phone": [{"value": ctx.phone(), "label": "work"}]},
            "user_id": {"name": ctx.name(u, "plain"), "email": ctx.email(u)},
            "org_id": {"name": ctx.company()},
            "value": ctx.rng.randrange(1000, 10**6),
            "currency": ctx.rng.choice(["EUR", "USD", "GBP"]),
            "add_time": ctx.date(),
        })
    return {"success": True, "data": data}


def jira_issue(ctx, t):
    a, r = ctx.person(), ctx.person()
    return {
        "key": ctx.ticket(),
        "fields": {
            "summary": t(ctx.rng.choice(["Upgrade to {version} breaks SSO", "Customer {name} cannot export"])),
            "assignee": {"displayName": ctx.name(a, "plain"), "emailAddress": ctx.email(a)},
            "reporter": {"displayName": ctx.name(r), "emailAddress": ctx.email(r)},
            "comment": {"comments": [{"author": {"displayName": ctx.name(a, "plain")},
                                      "body": t("Reproduced on {ip}. cc {name}")}]},
            "fixVersions": [{"name": ctx.version()}],
            "created": ctx.date(),
        },
    }


def de_crm_export(ctx, t):
    rows = []
    for _ in range(ctx.rng.randrange(2, 5)):
        p, b = ctx.person(), ctx.person()
        rows.append({
            "Anrede": ctx.rng.choice(["Frau", "Herr", ""]),
            "Vorname": ctx.name(p, "given"),
            "Nachname": ctx.name(p, "surname"),
            "Firma": ctx.company(),
            "Telefon": ctx.phone(),
            "E-Mail": ctx.email(p),
            "Straße": ctx.street(),
            "PLZ": ctx.postcode(),
            "Ort": ctx.city(),
            "Betreuer": ctx.name(b, "plain"),
            "Bemerkung": t(ctx.rng.choice(["Rückruf erbeten unter {phone}.", "Vertretung: {name}.",
                                          "Kunde seit {date}.", ""])),
        })
    return rows


def fr_es_contacts(ctx, t):
    rows = []
    for _ in range(ctx.rng.randrange(2, 4)):
        p = ctx.person()
        if ctx.rng.random() < 0.5:
            rows.append({"nom": ctx.name(p, "surname"), "prénom": ctx.name(p, "given"),
                         "téléphone": ctx.phone(), "courriel": ctx.email(p),
                         "société": ctx.company(), "responsable": ctx.name(ctx.person(), "plain")})
        else:
            rows.append({"nombre_completo": ctx.name(p), "telefono_movil": ctx.phone(),
                         "correo": ctx.email(p), "empresa": ctx.company(),
                         "comercial_asignado": ctx.name(ctx.person(), "plain"),
                         "observaciones": t("Llamar a {given} después de las {time}.")})
    return {"contactos": rows, "total": len(rows)}


def shop_order(ctx, t):
    p = ctx.person()
    return {
        "order": {
            "name": ctx.ticket(),
            "email": ctx.email(p),
            "phone": ctx.phone(),
            "customer": {"first_name": ctx.name(p, "given"), "last_name": ctx.name(p, "surname"),
                         "orders_count": ctx.rng.randrange(1, 40)},
            "shipping_address": {"name": ctx.name(p, "plain"), "address1": ctx.street(),
                                 "city": ctx.city(), "zip": ctx.postcode(), "phone": ctx.phone(),
                                 "company": ctx.company() if ctx.rng.random() < 0.4 else None},
            "line_items": [{"title": ctx.rng.choice(["Nimbus Pro 5 Headset", "Everest Backpack 30L",
                                                      "Polaris Desk Lamp"]),
                            "sku": ctx.order_no(), "price": ctx.amount()}],
            "note": t(ctx.rng.choice(["", "Please ring {phone} at the gate.", "Gift from {name}."])),
            "total_price": ctx.amount(),
        }
    }


def teams_messages(ctx, t):
    vals = []
    for _ in range(ctx.rng.randrange(2, 4)):
        p = ctx.person()
        vals.append({
            "from": {"user": {"displayName": ctx.name(p, "plain"), "id": ctx.uuid()}},
            "createdDateTime": ctx.date(),
            "body": {"contentType": "text", "content": t(ctx.rng.choice([
                "{given}, can you take the call with {name2} at {time}?",
                "new number for {name}: {phone}",
                "FYI {email} bounced",
                "Heads-up: release {version} tonight",
                "Dial-in moved, see invite",
            ]))},
        })
    return {"@odata.count": len(vals), "value": vals}


def jcard(ctx, t):
    p = ctx.person()
    fn = ctx.name(p, "plain")
    return ["vcard", [
        ["version", {}, "text", "4.0"],
        ["fn", {}, "text", fn],
        ["org", {}, "text", ctx.company()],
        ["tel", {"type": ["work", "voice"]}, "uri", ctx.phone()],
        ["email", {"type": "work"}, "text", ctx.email(p)],
        ["title", {}, "text", ctx.rng.choice(["Research Scientist", "Head of Legal"])],
    ]]


def hr_directory(ctx, t):
    emps = []
    for _ in range(ctx.rng.randrange(2, 5)):
        p, m = ctx.person(), ctx.person()
        emps.append({
            "employee_id": f"E{ctx.rng.randrange(10**5, 10**6)}",
            "full_name": ctx.name(p),
            "preferred_name": ctx.name(p, "given"),
            "manager": ctx.name(m, "formal"),
            "work_phone": ctx.phone(),
            "work_email": ctx.email(p),
            "department": ctx.rng.choice(["Finance", "Legal", "R&D", "Operations"]),
            "start_date": ctx.date(),
        })
    return {"employees": emps}


def vendor_records(ctx, t):
    """Hard negatives: companies, firm names, IDs, amounts; phones are the only PII."""
    return {"vendors": [{
        "vendor_name": ctx.company(),
        "contact_name": ctx.company_legal(),
        "tax_id": f"DE{ctx.rng.randrange(10**8, 10**9)}",
        "iban_masked": "DE** **** **** **** **" + str(ctx.rng.randrange(10, 99)),
        "hotline": ctx.phone(),
        "open_orders": [ctx.order_no() for _ in range(2)],
        "balance": ctx.amount(),
        "updated": ctx.date(),
    } for _ in range(ctx.rng.randrange(2, 4))]}


JSON_BUILDERS = [sf_contacts, freshdesk_ticket, graph_event, intercom_conversation,
                 pipedrive_deals, jira_issue, de_crm_export, fr_es_contacts, shop_order,
                 teams_messages, jcard, hr_directory, vendor_records]
