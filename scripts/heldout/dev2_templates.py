"""DEV2 split templates of the held-out corpus: a second tuning set (issue 19).

Written without reading final.jsonl or final_templates.py, after dev was nearly
saturated, to give the tuner new evidence instead of more rules fitted to dev's
shapes. Names come from dev's pool (generate.Ctx("dev")), so no final name can
appear here by construction, plus a short hand list of particle surnames
(generate.Ctx.particle_surnames, CC0). The tuner may read this file and dev2.jsonl.

Deliberately varied: lower-case names after strong cues, "Surname, Given",
"Given M. Surname", "SURNAME Given", native-script names after cues, greetings,
signatures, attendee and CC lists, chat logs, titles (Dr., Mrs, Herr, Sra.),
particle surnames, names at sentence start, JSON with keys in many languages,
and hard negatives (firms, products, places, job titles, headings, sentence
starts, months and weekdays, `name` keys that hold products or teams).
"""

T = [
    # greetings and letters
    "Dear {cue},\n\nthank you for your patience with case {ticket}.",
    "Dear Dr. {surname},\nyour appointment is confirmed for {date} at {time}.",
    "Good morning Mrs {surname}, your parcel {order} is on its way.",
    "Sehr geehrter Herr {surname},\nvielen Dank für Ihre Anfrage vom {date}.",
    "Estimada Sra. {surname}: le escribimos respecto a la factura {order}.",
    "Dear {native},\nplease confirm the delivery address for {order}.",
    "Hello {upper}, your account manager is now {name2}.",
    "Hi {given} and {given2},\nthe contract draft is attached.",
    "Dear Prof. {name},\nwe would be delighted to have you speak at our {month} event.",
    # signatures
    "Cheers,\n{given}\n\nSent from my phone",
    "Thanks so much!\n-- \n{middle}\n{jobtitle}\n{phone}",
    "All the best,\n{upper}\n{email}",
    "Yours sincerely,\n\n{name}\n{jobtitle}, {company}",
    "Best,\n{plain} | {jobtitle}\nd: {phone}",
    "Met vriendelijke groet,\n\n{particle}\n{company}",
    "Atentamente,\n{fullmiddle}\n{city}",
    # attendee lists, CC lines
    "Attendees: {formal}; {formal2}; {formal3}",
    "Present: {name}, {name2} and {name3}. Apologies: {given4}.",
    "CC: {name} <{email}>; {name2} <{email2}>",
    "Participants (3): {plain}, {plain2}, {plain3}",
    "Invited: {initial}, {initial2}, {name3}",
    "Reviewers: @{given} @{given2}",
    "Organizer: {native}\nRequired: {plain2}, {plain3}",
    # chat
    "{given}: running 5 min late, start without me",
    "[{time}] {plain}: can you check {order}?",
    "<{given}> anyone seen the invoice from {company}?",
    "{plain} joined the channel",
    "{plain} reacted to your message in #sales",
    "thanks {lower}! will do",
    "lol {given} that's exactly what {given2} said",
    "ping {given} re: {ticket}",
    "ask {plain} about the {product} renewal, she knows the history",
    # sentence start and narrative
    "{name} will present the budget on {weekday}.",
    "{surname} approved the exception; see {ticket}.",
    "{formal} (employee no. {order}) is on parental leave until {date}.",
    "{middle} has been appointed {jobtitle} effective {date}.",
    "Yesterday {plain} from {company} visited our {city} office.",
    "According to {name}, the {product} rollout slipped to {month}.",
    "The case was handed over to {particle} on {date}.",
    "{particle} signed the NDA on {date}.",
    "Our contact at {company} is {particle}.",
    # native script after cues
    "Caller: {native}, callback {phone}",
    "Guest name: {native}",
    "Signed by {native} on {date}.",
    "Contact person — {native} ({email})",
    # lower case after strong cues
    "my name is {lower} and I need help with my account",
    "name: {lower}\nphone: {phone}",
    "customer name - {lower}",
    "Dear {lower},\nyour password was reset.",
    # titles and forms
    "Patient: {formal}\nDOB: {date}\nReferring physician: Dr. {name2}",
    "Passenger {pnr} MR, seat 14C, booking ref {ticket}.",
    "Applicant: {name}\nPosition: {jobtitle}\nPhone: {phone}",
    "Emergency contact: {name} (spouse), {phone}",
    "Witness: {fullmiddle}, {street}, {city}",
    # hard negatives (no PII)
    "Q3 planning — {month} edition. {heading}, then {heading}.",
    "Product update: {product} {version} is now available in {city}.",
    "{jobtitle} wanted: join {company} in {city}.",
    "Our {product} integrates with {company} and {company}.",
    "{heading}\n{heading}\n{heading}",
    "Closed on {weekday}, {month} 3 for the holiday.",
    "Warehouse {city} ships via {company}.",
    "Please review the {heading} section before {weekday}.",
    "Visit our office at {street}, {postcode} {city}.",
    "Counsel: {firm}.",
    "Unfortunately the shipment is late. Regarding {order}, Finance will confirm by {weekday}.",
    "Approved by the {team} team on {date}.",
    "The {jobtitle} and the {jobtitle} will join the {team} sync.",
    "{weekday} {month} {heading}: {product}, {product}",
    "Migration to {product} completed; {team} owns the follow-up.",
]

TEXT_TEMPLATES = [(f"dev2.text.{i:02}", t) for i, t in enumerate(T)]


# ---------------------------------------------------------------- JSON shapes

def hr_employee(ctx, t):
    p, m = ctx.person(), ctx.person()
    return {"mitarbeiter": {
        "Personalnummer": str(ctx.rng.randrange(10**5, 10**6)),
        "Vorname": ctx.name(p, "given"),
        "Nachname": ctx.name(p, "surname"),
        "Abteilung": ctx.team(),
        "Position": ctx.jobtitle(),
        "Vorgesetzter": ctx.name(m, "plain"),
        "Telefon": ctx.phone(),
        "E-Mail": ctx.email(p),
        "Eintritt": ctx.date(),
    }}


def issue_tracker(ctx, t):
    rep, asg = ctx.person(), ctx.person()
    people = {"1": rep, "2": asg}
    return {"issues": [{
        "key": f"OPS-{ctx.rng.randrange(10, 9999)}",
        "fields": {
            "summary": t("{product} crashes on save"),
            "reporter": {"displayName": ctx.name(rep, "plain"), "emailAddress": ctx.email(rep)},
            "assignee": {"displayName": ctx.name(asg, "plain")},
            "comment": {"comments": [
                {"author": {"displayName": ctx.name(asg, "plain")},
                 "body": t("@{given1} can you attach the logs? cc {name3}", people)},
                {"author": {"displayName": ctx.name(rep, "plain")},
                 "body": t("Done. Thanks {given2}.", people)},
            ]},
            "labels": ["crash", ctx.month().lower()],
        },
    }]}


def booking(ctx, t):
    a, b = ctx.person(), ctx.person()
    return {"reservation": {
        "pnr": ctx.ticket(),
        "guest_name": ctx.name(a, "formal"),
        "passengers": [{"name": ctx.extra_name(a, "pnr"), "title": "MR"},
                       {"name": ctx.extra_name(b, "pnr"), "title": "MS"}],
        "hotel": f"{ctx.city()} Grand Hotel",
        "arrival": ctx.date(),
        "contact_phone": ctx.phone(),
    }}


def multilingual_contact(ctx, t):
    p = ctx.person()
    shapes = [
        ("contacto", "nombre_completo", "teléfono", "correo"),
        ("contact", "nom_complet", "téléphone", "courriel"),
        ("contatto", "nominativo", "telefono", "posta"),
        ("contato", "nome", "telefone", "email"),
        ("kontakt", "imię_i_nazwisko", "telefon", "e-mail"),
        ("контакт", "ФИО", "телефон", "почта"),
        ("联系人", "姓名", "电话", "邮箱"),
        ("連絡先", "氏名", "電話番号", "メール"),
        ("담당자", "이름", "전화", "이메일"),
        ("επαφή", "ονοματεπώνυμο", "τηλέφωνο", "email"),
        ("جهة_الاتصال", "الاسم", "الهاتف", "البريد"),
    ]
    outer, name_key, phone_key, mail_key = ctx.rng.choice(shapes)
    native = outer in ("контакт", "联系人", "連絡先", "담당자", "επαφή", "جهة_الاتصال")
    if native:
        q = ctx.person(native=True)
        p = q if q.native else p
    return {outer: {name_key: ctx.name(p, "plain"), phone_key: ctx.phone(),
                    mail_key: ctx.email(p), "id": ctx.uuid()}}


def fhir_patient(ctx, t):
    p, gp = ctx.person(), ctx.person()
    return {"resourceType": "Patient", "id": ctx.uuid(),
            "name": [{"use": "official", "family": ctx.name(p, "surname"),
                      "given": [ctx.name(p, "given")]}],
            "telecom": [{"system": "phone", "value": ctx.phone(), "use": "mobile"}],
            "generalPractitioner": [{"display": "Dr. " + ctx.name(gp, "plain")}],
            "managingOrganization": {"display": ctx.company_legal()}}


def team_directory(ctx, t):
    members = []
    for _ in range(ctx.rng.randrange(2, 4)):
        p = ctx.person()
        members.append({"id": f"U{ctx.rng.randrange(10**7, 10**8)}",
                        "real_name": ctx.name(p, "plain"),
                        "profile": {"title": ctx.jobtitle(), "display_name": ctx.name(p, "given"),
                                    "phone": ctx.phone()},
                        "tz": "Europe/Amsterdam"})
    return {"team": {"name": ctx.team()}, "members": members}


def git_commits(ctx, t):
    commits = []
    for _ in range(ctx.rng.randrange(2, 4)):
        p = ctx.person()
        commits.append({"sha": ctx.uuid().replace("-", "")[:12],
                        "author": {"name": ctx.name(p, "plain"), "email": ctx.email(p)},
                        "message": t(ctx.rng.choice([
                            "Fix {product} crash reported by {name}",
                            "Bump version to {version}",
                            "Co-authored-by: {plain} <{email}>",
                            "Merge branch 'release/{version}'"]))})
    return {"commits": commits}


def product_catalog(ctx, t):
    """Hard negatives: `name` keys that hold products, stores and teams; one manager."""
    return {"products": [{"name": ctx.product(), "vendor": ctx.company(),
                          "sku": f"SKU-{ctx.rng.randrange(10**5, 10**6)}", "price": ctx.amount()}
                         for _ in range(ctx.rng.randrange(2, 4))],
            "stores": [{"name": f"{ctx.city()} Central", "manager": ctx.name(ctx.person(), "plain")}],
            "category": {"name": ctx.heading()}}


def invoice(ctx, t):
    a = ctx.person()
    return {"invoice": {
        "number": ctx.order_no(),
        "bill_to": {"attention": ctx.name(a), "company": ctx.company_legal(),
                    "address": ctx.street(), "city": ctx.city()},
        "lines": [{"description": ctx.product(), "amount": ctx.amount()}],
        "approved_by": ctx.name(ctx.person(), "initial"),
        "terms": ctx.heading(),
    }}


def mail_thread(ctx, t):
    a, b, c = ctx.person(), ctx.person(), ctx.person()
    people = {"1": a, "2": b, "3": c}
    return {"messages": [{
        "from": t("{plain1} <{email1}>", people),
        "to": [t("{email2}", people)],
        "cc": t("{plain2} <{email2}>, {plain3} <{email3}>", people),
        "subject": t("{heading} — {month}"),
        "preview": t("Hi {given2}, following up on {order}. Regards, {given1}", people),
    }]}


def form_submission(ctx, t):
    p = ctx.person()
    return {"form": "contact-us", "fields": [
        {"label": "Full name", "value": ctx.name(p, "plain")},
        {"label": "Company", "value": ctx.company()},
        {"label": "Phone", "value": ctx.phone()},
        {"label": "Topic", "value": ctx.product()},
        {"label": "Message", "value": t("Please call me back, ask for {given1}.", {"1": p})},
    ]}


def org_chart(ctx, t):
    return {"teams": [{"name": ctx.team(), "lead": ctx.name(ctx.person(), "plain"),
                       "members": [ctx.name(ctx.person()), ctx.name(ctx.person())],
                       "meets": ctx.weekday()}
                      for _ in range(ctx.rng.randrange(1, 3))]}


JSON_BUILDERS = [hr_employee, issue_tracker, booking, multilingual_contact, fhir_patient,
                 team_directory, git_commits, product_catalog, invoice, mail_thread,
                 form_submission, org_chart]
