//! JSON-aware scanning: walks a `serde_json::Value` iteratively (no recursion,
//! so depth is bounded by memory, not the stack), scans every string and
//! object key once, and applies hints from the key a value sits under.
//!
//! Key hints: a string under a person-ish key (`name`, `full_name`, `owner`,
//! `assignee`, `created_by`, …) is a NAME as a whole when it is plausibly a
//! person; company-, place- and status-ish keys (`company`, `city`, `status`)
//! suppress NAME findings; phone-ish keys (`phone`, `mobile`, `fax`) let bare
//! digit runs (and JSON numbers) count as phones, identifier-ish keys
//! (`order_id`, `isbn`, `zip`) only let `+` numbers count. Hints apply to the
//! direct value, to the elements of an array value, and — for `name`, `first`,
//! `last` — inside an object under a person-ish or company-ish key
//! (`"owner": {"name": …}` versus `"company": {"name": …}`).

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::{Map, Value};

use crate::columns::{self, DocNames};
use crate::fields::{At, FieldHints, PathState};
use crate::name::{self, NameHint};
use crate::phone::PhoneHint;
use crate::{Detectors, Finding, Hint, Kind};

/// A finding inside a JSON value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonFinding {
    /// Where the string sits, e.g. `rows[0].email` (empty for the root value).
    pub path: String,
    /// True when the finding is in an object key (then `path` names the object).
    pub in_key: bool,
    /// The finding; its offsets are relative to that string (or key).
    pub finding: Finding,
}

/// What a key says about the values under it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct KeyClass {
    person: bool,
    not_person: bool,
    phone: PhoneHint,
    /// The key itself is a bare "name"-like word that takes its meaning from the parent.
    generic_name: bool,
    /// The key names a credential (`password`, `api_key`, `access_token`).
    secret: bool,
    /// The key names a part of a person's name (`lastName`, `cust_ln`, `Фамилия`).
    part: bool,
    /// The key names a postal address (`shipping_address`, `Adresse`): not a person itself,
    /// but the bare `name` in it is as often the addressee as a building.
    address: bool,
}

impl KeyClass {
    const NEUTRAL: KeyClass = KeyClass {
        person: false,
        not_person: false,
        phone: PhoneHint::None,
        generic_name: false,
        secret: false,
        part: false,
        address: false,
    };
}

/// Context inherited from an enclosing key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ctx {
    Neutral,
    Person,
    Company,
    /// Inside a postal address: a bare `name` is left to the rules in its value.
    Address,
}

const NAME_WORDS: &[&str] = &[
    "name",
    "names",
    "fullname",
    "firstname",
    "lastname",
    "surname",
    "surnames",
    "givenname",
    "familyname",
    "middlename",
    "nickname",
    "maidenname",
    "forename",
    "displayname",
    "nombre",
    "apellido",
    "apellidos",
    "nom",
    "prenom",
    "prénom",
    "vorname",
    "nachname",
    "nome",
    "cognome",
    "sobrenome",
    "nominativo",
    "naam",
    "voornaam",
    "achternaam",
    "imie",
    "imię",
    "nazwisko",
    "jmeno",
    "jméno",
    "prijmeni",
    "příjmení",
    "soyad",
    "soyadi",
    "soyadı",
    "fornavn",
    "efternavn",
    "etternavn",
    "förnamn",
    "efternamn",
    "etunimi",
    "sukunimi",
    "nev",
    "név",
    "vezetéknév",
    "keresztnév",
    "nama",
    "prenume",
    "numele",
    "ime",
    "prezime",
    "имя",
    "фамилия",
    "отчество",
    "фио",
    "ім'я",
    "прізвище",
    "όνομα",
    "επώνυμο",
    "ονοματεπώνυμο",
    "名前",
    "姓名",
    "名字",
    "氏名",
    "姓",
    "名",
    "이름",
    "성명",
    "اسم",
    "الاسم",
    "שם",
    "नाम",
    "ชื่อ",
    "นามสกุล",
    // Abbreviations in CRM field names (`fname`, `lname`); the two-letter ones
    // (`cust_nm`, `emp_ln`) only after a prefix, see `ABBREVIATED_NAME_PARTS`.
    "fname",
    "lname",
    "mname",
    // More languages: German, Turkish, Korean, Hebrew.
    "familienname",
    "rufname",
    "geburtsname",
    "adi",
    "adı",
    "isim",
    "성",
];
/// Two-letter name abbreviations, a name only as the last word of a longer key.
const ABBREVIATED_NAME_PARTS: &[&[u8]] = &[b"nm", b"fn", b"ln", b"mn"];

/// Key words for a part of a person's name (`lastName`, `cust_ln`, `Фамилия`): a value
/// under them is a name part even when it is also an English word ("Rose", "Morales")
/// or a single Han or Hangul syllable ("王").
const NAME_PART_WORDS: &[&str] = &[
    "first",
    "last",
    "given",
    "family",
    "middle",
    "surname",
    "surnames",
    "firstname",
    "lastname",
    "givenname",
    "familyname",
    "middlename",
    "forename",
    "maidenname",
    "fn",
    "ln",
    "fname",
    "lname",
    "mname",
    "apellido",
    "apellidos",
    "prenom",
    "prénom",
    "vorname",
    "nachname",
    "familienname",
    "rufname",
    "geburtsname",
    "cognome",
    "sobrenome",
    "voornaam",
    "achternaam",
    "imie",
    "imię",
    "nazwisko",
    "jmeno",
    "jméno",
    "prijmeni",
    "příjmení",
    "soyad",
    "soyadi",
    "soyadı",
    "adi",
    "adı",
    "fornavn",
    "efternavn",
    "etternavn",
    "förnamn",
    "efternamn",
    "etunimi",
    "sukunimi",
    "vezetéknév",
    "keresztnév",
    "prenume",
    "prezime",
    "ime",
    "имя",
    "фамилия",
    "отчество",
    "ім'я",
    "прізвище",
    "όνομα",
    "επώνυμο",
    "姓",
    "名",
    "성",
    "이름",
    "משפחה",
    "פרטי",
    "名字",
    "ชื่อ",
    "นามสกุล",
];
const GENERIC_NAME_WORDS: &[&str] = &[
    "name",
    "first",
    "last",
    "full",
    "given",
    "family",
    "middle",
    "display",
    "surname",
    "names",
    // SCIM's `name.formatted`, vCard's `fn`: the whole name inside a name object.
    "formatted",
];
const PERSON_ROLES: &[&str] = &[
    // Activity feeds and audit logs (`actor`, `agent`), abbreviated roles (`acct_mgr`).
    "actor",
    "assigned",
    "poc",
    "dri",
    "signee",
    "correspondent",
    // Meeting minutes: "Absent: …", "Apologies: …".
    "absent",
    "apologies",
    "excused",
    "notetaker",
    "mgr",
    "contact",
    "contacts",
    "owner",
    "owners",
    "assignee",
    "assignees",
    "author",
    "authors",
    "manager",
    "creator",
    "reporter",
    "reviewer",
    "reviewers",
    "approver",
    "recipient",
    "recipients",
    "sender",
    "customer",
    "client",
    "patient",
    "employee",
    "person",
    "people",
    "attendee",
    "attendees",
    "participant",
    "participants",
    "member",
    "members",
    "rep",
    "salesperson",
    "supervisor",
    "signatory",
    "guardian",
    "spouse",
    "tenant",
    "landlord",
    "requester",
    "requestor",
    "submitter",
    "user",
    "driver",
    "buyer",
    "seller",
    "host",
    "organizer",
    "organiser",
    "speaker",
    "candidate",
    "applicant",
    "student",
    "teacher",
    "doctor",
    "physician",
    "nurse",
    "beneficiary",
    "holder",
    "cardholder",
    "ceo",
    "founder",
    "representative",
    "lead",
    "friend",
    "colleague",
    "boss",
    "mentor",
    "emergency",
    "kin",
    "parent",
    "child",
    "insured",
    "passenger",
    "guest",
    "traveler",
    "traveller",
    "addressee",
    "signer",
    "witness",
    "attention",
    "vorgesetzter",
    "vorgesetzte",
    "sachbearbeiter",
    "sachbearbeiterin",
    "betreuer",
    "betreuerin",
    "kontakt",
    "kontaktperson",
    "ansprechpartner",
    "empfänger",
    "absender",
    "inhaber",
    "kunde",
    "contacto",
    "contato",
    "contatto",
    "propietario",
    "responsable",
    "destinataire",
    "expéditeur",
    "titulaire",
    "destinatario",
    "mittente",
    "titolare",
    "referente",
    "владелец",
    "контакт",
    "клиент",
    "получатель",
    "отправитель",
    "担当者",
    "担当",
    "宛先",
    "负责人",
    "联系人",
    "收件人",
    "담당자",
    "수신자",
    // Roles in more tools and languages (issue 19: keys nobody here wrote).
    "caller",
    "callee",
    "interviewer",
    "interviewee",
    "invitee",
    "invitees",
    "moderator",
    "presenter",
    "coordinator",
    "consultant",
    "advisor",
    "adviser",
    "technician",
    "lawyer",
    "attorney",
    "notary",
    "occupant",
    "resident",
    "visitor",
    "subscriber",
    "payer",
    "payee",
    "shipper",
    "consignee",
    "receiver",
    "authorizer",
    "verifier",
    "inspector",
    "auditor",
    "examiner",
    "husband",
    "wife",
    "father",
    "mother",
    "son",
    "daughter",
    "sibling",
    "relative",
    "dependent",
    "caregiver",
    "guarantor",
    "cosigner",
    "borrower",
    "proprietor",
    "mitarbeiter",
    "mitarbeiterin",
    "bearbeiter",
    "bearbeiterin",
    "verantwortlich",
    "verantwortlicher",
    "teilnehmer",
    "teilnehmerin",
    "autor",
    "verfasser",
    "kundin",
    "gast",
    "fahrer",
    "fahrerin",
    "interlocuteur",
    "auteur",
    "invité",
    "conseiller",
    "conseillère",
    "gestionnaire",
    "demandeur",
    "locataire",
    "propriétaire",
    "employé",
    "salarié",
    "solicitante",
    "remitente",
    "participante",
    "invitado",
    "empleado",
    "asesor",
    "gestor",
    "encargado",
    "titular",
    "conductor",
    "paciente",
    "huésped",
    "vendedor",
    "comprador",
    "responsável",
    "remetente",
    "convidado",
    "funcionário",
    "consultor",
    "proprietário",
    "motorista",
    "hóspede",
    "richiedente",
    "partecipante",
    "invitato",
    "dipendente",
    "consulente",
    "proprietario",
    "autista",
    "paziente",
    "ospite",
    "venditore",
    "acquirente",
    "autore",
    "contactpersoon",
    "klant",
    "eigenaar",
    "medewerker",
    "afzender",
    "ontvanger",
    "deelnemer",
    "aanvrager",
    "behandelaar",
    "klient",
    "właściciel",
    "pracownik",
    "nadawca",
    "odbiorca",
    "uczestnik",
    "kund",
    "ägare",
    "ejer",
    "eier",
    "handläggare",
    "saksbehandler",
    "deltagare",
    "deltager",
    "avsändare",
    "mottagare",
    "modtager",
    "mottaker",
    "müşteri",
    "yetkili",
    "gönderen",
    "alıcı",
    "katılımcı",
    "автор",
    "ответственный",
    "исполнитель",
    "менеджер",
    "сотрудник",
    "участник",
    "заказчик",
    "пациент",
    "顧客",
    "送信者",
    "差出人",
    "受信者",
    "作成者",
    "参加者",
    "申請者",
    "お客様",
    "客户",
    "发件人",
    "作者",
    "创建人",
    "参与者",
    "申请人",
    "经办人",
    "고객",
    "작성자",
    "보낸사람",
    "받는사람",
    "참석자",
    "신청자",
    "العميل",
    "المرسل",
    "المستلم",
    "المسؤول",
    "πελάτης",
    "υπεύθυνος",
    "αποστολέας",
    "παραλήπτης",
];
/// Words that make a "…name" key or a role key about a non-person.
const NON_PERSON: &[&str] = &[
    "company",
    "companies",
    "org",
    "organization",
    "organisation",
    "business",
    "brand",
    "product",
    "file",
    "filename",
    "host",
    "hostname",
    "domain",
    "server",
    "project",
    "team",
    "app",
    "application",
    "bucket",
    "event",
    "street",
    "city",
    "country",
    "state",
    "region",
    "group",
    "tool",
    "sheet",
    "table",
    "field",
    "column",
    "kind",
    "type",
    "category",
    "account",
    "vendor",
    "supplier",
    "store",
    "shop",
    "school",
    "bank",
    "device",
    "model",
    "plan",
    "package",
    "module",
    "service",
    "queue",
    "channel",
    "folder",
    "database",
    "db",
    "schema",
    "index",
    "key",
    "role",
    "tag",
    "label",
    "venue",
    "hotel",
    "building",
    "site",
    "location",
    "place",
    "campaign",
    "job",
    "task",
    "ticket",
    "deal",
    "opportunity",
    "pipeline",
    "stage",
    "status",
    "template",
    "list",
    "feature",
    "test",
    "branch",
    "repo",
    "repository",
    "image",
    "container",
    "cluster",
    "node",
    "namespace",
    "method",
    "function",
    "var",
    "variable",
    "param",
    "property",
    "attribute",
    "currency",
    "language",
    "locale",
    "timezone",
    "color",
    "colour",
    "font",
    "icon",
    "page",
    "section",
    "menu",
    "button",
    "link",
    "url",
    "path",
    "title",
    "employer",
    "firm",
    "agency",
    "department",
    "dept",
    "division",
    "unit",
    "industry",
    "source",
    "tier",
    "street",
    "address",
    "town",
    "province",
    "county",
    "district",
    "zip",
    "postal",
    "id",
    "email",
    "mail",
    "phone",
    "tel",
    "mobile",
    "fax",
    "count",
    "number",
    "num",
    "date",
    "time",
    "at",
    "on",
    "type",
    "url",
    "uri",
    "avatar",
    "photo",
    "picture",
    "ip",
    "username",
    "login",
    "handle",
    "slug",
    "code",
    "sku",
    "nickname_id",
    "display_id",
    "legal",
    "trading",
    "brand",
    "merchant",
    "payee_account",
    "institution",
    "university",
    "hospital",
    "clinic",
    "restaurant",
    "airline",
    "carrier",
    "network",
    "platform",
    "provider",
    "partner",
    "workspace",
    "org_name",
    "calendar",
    "channel",
    "subject",
    "description",
    "summary",
    "notes",
    "note",
    "comment",
    "message",
    "body",
    "text",
    "content",
];
const COMPANY_KEYS: &[&str] = &[
    "company",
    "companies",
    "organization",
    "organisation",
    "org",
    "employer",
    "vendor",
    "supplier",
    "business",
    "brand",
    "product",
    "firm",
    "agency",
    "bank",
    "school",
    "university",
    "hotel",
    "restaurant",
    "store",
    "shop",
    "city",
    "town",
    "country",
    "state",
    "street",
    "address",
    "region",
    "location",
    "place",
    "venue",
    "title",
    "department",
    "dept",
    "team",
    "status",
    "stage",
    "type",
    "category",
    "industry",
    "source",
    "channel",
    "plan",
    "tier",
    "currency",
    "language",
    "locale",
    "timezone",
    "account",
    "merchant",
    "institution",
    "hospital",
    "clinic",
    "airline",
    "carrier",
    "network",
    "platform",
    "provider",
    "workspace",
    "province",
    "county",
    "district",
    "country_code",
    "project",
    "campaign",
    "product",
    // Configuration objects: `{"config": {"name": "Sales Cloud", "displayName": "Key Risks"}}`.
    "config",
    "configuration",
    "settings",
    "options",
    "preferences",
    "manifest",
    "spec",
    "plugin",
    "extension",
    "policy",
    "permission",
    "license",
    "subscription",
    // Things, not people: `"items": [{"name": "Echo Dot"}]`, `"Abteilung": "Vertrieb Nord"`.
    "item",
    "article",
    "course",
    "skill",
    "position",
    "abteilung",
    "bereich",
    "departamento",
    "département",
    "afdeling",
    "reparto",
    // Address lines ("shipping_address": {"line1": "Kolonie Panke Grund 17"}).
    "line1",
    "line2",
    "line3",
    "address1",
    "address2",
    "addr",
    "addr1",
    "addr2",
    "street1",
    "street2",
    "suburb",
    "locality",
    // Things with names of their own: `{"labels": [{"name": "Bug"}]}`, `{"board": {"name": …}}`.
    "label",
    "tag",
    "file",
    "attachment",
    "board",
    "milestone",
    "sprint",
    "component",
    "epic",
    "room",
    "resource",
    "workflow",
    "integration",
    "webhook",
    "asset",
    "environment",
    "segment",
    "dashboard",
    "playlist",
    "repo",
    "repository",
    "folder",
    "bucket",
    "device",
    "model",
    "package",
    "module",
    "queue",
    "database",
    "schema",
    "sheet",
    "column",
    "template",
    "feature",
    "branch",
    "image",
    "container",
    "cluster",
    "namespace",
    "app",
    "application",
    "tool",
    "sku",
];
const PHONE_KEYS: &[&str] = &[
    "phone",
    "phones",
    "tel",
    "telephone",
    "mobile",
    "cell",
    "cellphone",
    "fax",
    "whatsapp",
    "msisdn",
    "sms",
    "landline",
    "telefono",
    "telefone",
    "telefon",
    "handy",
    "celular",
    "phonenumber",
];
const ID_KEYS: &[&str] = &[
    "id",
    "ids",
    "uuid",
    "guid",
    "order",
    "invoice",
    "po",
    "isbn",
    "sku",
    "zip",
    "postal",
    "postcode",
    "version",
    "ip",
    "amount",
    "price",
    "total",
    "qty",
    "quantity",
    "count",
    "timestamp",
    "ts",
    "date",
    "time",
    "acct",
    "iban",
    "card",
    "ssn",
    "tax",
    "vat",
    "serial",
    "tracking",
    "ref",
    "reference",
    "code",
    "hash",
    "checksum",
    "balance",
    "revenue",
    "size",
    "bytes",
    "port",
    "year",
    "age",
    "created",
    "updated",
    "at",
    "number",
    "num",
    "no",
];

// Roles of a key word, looked up in one hash table instead of scanning lists.
const W_NAME: u8 = 1;
const W_GENERIC: u8 = 1 << 1;
const W_ROLE: u8 = 1 << 2;
const W_NON_PERSON: u8 = 1 << 3;
const W_COMPANY: u8 = 1 << 4;
const W_PHONE: u8 = 1 << 5;
const W_ID: u8 = 1 << 6;
const W_SECRET: u8 = 1 << 7;

/// Key words that name a credential; "key" alone does not (`sort_key`, `key_id`).
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "credential",
    "credentials",
    "passphrase",
    "authorization",
];

static NAME_PART_SET: LazyLock<std::collections::HashSet<&'static [u8], crate::Fnv>> =
    LazyLock::new(|| NAME_PART_WORDS.iter().map(|w| w.as_bytes()).collect());

static KEY_WORDS: LazyLock<HashMap<&'static [u8], u8, crate::Fnv>> = LazyLock::new(|| {
    let mut map: HashMap<&'static [u8], u8, crate::Fnv> = HashMap::default();
    for (list, flag) in [
        (NAME_WORDS, W_NAME),
        (GENERIC_NAME_WORDS, W_GENERIC),
        (PERSON_ROLES, W_ROLE),
        (NON_PERSON, W_NON_PERSON),
        (COMPANY_KEYS, W_COMPANY),
        (PHONE_KEYS, W_PHONE),
        (ID_KEYS, W_ID),
        (SECRET_KEYS, W_SECRET),
    ] {
        for w in list {
            *map.entry(w.as_bytes()).or_insert(0) |= flag;
        }
    }
    map
});

/// Splits a key into lower-cased words on `_`, `-`, `.`, spaces and camelCase.
fn key_words(key: &str, buf: &mut [u8; 64]) -> ([(usize, usize); 8], usize, usize) {
    let mut words = [(0usize, 0usize); 8];
    let mut nw = 0;
    let mut len = 0;
    let mut start = 0;
    let mut prev_lower = false;
    for &b in key.as_bytes().iter().take(64) {
        let is_sep = !b.is_ascii_alphanumeric() && b < 0x80;
        let camel = b.is_ascii_uppercase() && prev_lower;
        if (is_sep || camel) && len > start {
            if nw < words.len() {
                words[nw] = (start, len);
                nw += 1;
            }
            start = len;
        }
        if !is_sep && len < buf.len() {
            buf[len] = b.to_ascii_lowercase();
            len += 1;
        }
        if is_sep {
            start = len;
        }
        prev_lower = b.is_ascii_lowercase() || b.is_ascii_digit();
    }
    if len > start && nw < words.len() {
        words[nw] = (start, len);
        nw += 1;
    }
    (words, nw, len)
}

/// Cheap pre-test for [`is_person_key`] on ASCII keys: the last word
/// (after `_`, `-`, `.`, a space or a camelCase hump) is a name word, a role or "by".
pub(crate) fn last_word_may_be_person(key: &[u8]) -> bool {
    if !key.is_ascii() {
        return true;
    }
    let mut s = key.len();
    while s > 0 && key[s - 1].is_ascii_lowercase() {
        s -= 1;
    }
    if s > 0 && key[s - 1].is_ascii_uppercase() {
        s -= 1;
        // An all-caps key ("NAME", "OWNER"): take the whole capital run.
        if s == key.len() - 1 || !key[s + 1..].iter().any(u8::is_ascii_lowercase) {
            while s > 0 && key[s - 1].is_ascii_uppercase() {
                s -= 1;
            }
        }
    }
    let word = &key[s..];
    if word.is_empty() || word.len() > 24 {
        return false;
    }
    let mut buf = [0u8; 24];
    let b = &mut buf[..word.len()];
    b.copy_from_slice(word);
    b.make_ascii_lowercase();
    let f = KEY_WORDS.get(&*b).copied().unwrap_or(0);
    f & (W_NAME | W_ROLE | W_GENERIC) != 0 || &*b == b"by"
}

/// Whether a key (or a label before `:`/`=` in text) names a person.
pub(crate) fn is_person_key(key: &str) -> bool {
    classify_key(key).person
}

fn classify_key(key: &str) -> KeyClass {
    // Keys in other scripts ("Имя", "ΌΝΟΜΑ") compare in lower case.
    if !key.is_ascii() && key.chars().any(char::is_uppercase) {
        return classify_key_words(&key.to_lowercase());
    }
    classify_key_words(key)
}

fn classify_key_words(key: &str) -> KeyClass {
    let mut buf = [0u8; 64];
    let (words, nw, len) = key_words(key, &mut buf);
    let words = &words[..nw];
    if words.is_empty() {
        return KeyClass::NEUTRAL;
    }
    let table = &*KEY_WORDS;
    // A plural key word takes its singular's roles ("passengers", "products",
    // "categories") when the plural itself is not listed.
    let flags = |&(s, e): &(usize, usize)| {
        let w = &buf[s..e];
        table
            .get(w)
            .copied()
            .unwrap_or_else(|| singular_flags(table, w))
    };
    let mut whole = table.get(&buf[..len]).copied().unwrap_or(0);
    // `cust_nm`, `emp_ln`: a two-letter name abbreviation after a prefix (alone, `ln`
    // and `fn` are as often a line or a function).
    if words.len() >= 2
        && let Some(&(s, e)) = words.last()
        && ABBREVIATED_NAME_PARTS.contains(&&buf[s..e])
    {
        whole |= W_NAME;
    }
    let mut any = 0u8;
    let mut all_generic = true;
    let mut others_non_person = false;
    for w in words {
        let f = flags(w);
        any |= f;
        all_generic &= f & W_GENERIC != 0;
        others_non_person |= f & W_NAME == 0 && f & W_NON_PERSON != 0;
    }
    let last = words.last().map_or(0, flags);
    let last_by = words.last().is_some_and(|&(s, e)| &buf[s..e] == b"by");
    let mut class = KeyClass::NEUTRAL;
    if (any | whole) & W_NAME != 0 {
        if others_non_person {
            class.not_person = true;
        } else {
            class.person = true;
            class.generic_name = all_generic;
        }
    } else if last_by || last & W_ROLE != 0 {
        // The head noun decides: "account_manager" is a person, "lead_source" is not.
        class.person = true;
    } else if any & W_ROLE != 0 {
        class.person = !others_non_person;
    } else if any & W_COMPANY != 0 {
        class.not_person = true;
    } else if all_generic {
        class.generic_name = true;
    }
    let has = |w: &[u8]| words.iter().any(|&(s, e)| &buf[s..e] == w);
    class.part = class.person
        && (NAME_PART_SET.contains(&buf[..len])
            || words
                .iter()
                .any(|&(s, e)| NAME_PART_SET.contains(&buf[s..e])));
    class.address = class.not_person
        && [
            &b"address"[..],
            b"addresses",
            b"addr",
            b"adresse",
            b"adres",
            b"direccion",
            b"endereco",
            b"indirizzo",
        ]
        .iter()
        .any(|w| has(w));
    class.secret = (any | whole) & W_SECRET != 0
        || (has(b"key") && (has(b"api") || has(b"private") || has(b"access") || has(b"secret")));
    if (any | whole) & W_PHONE != 0 {
        class.phone = PhoneHint::Phone;
    } else if any & W_ID != 0 {
        class.phone = PhoneHint::NotPhone;
    }
    class
}

/// The roles of a plural key word's singular (`teams` → `team`, `categories` →
/// `category`, `addresses` → `address`); 0 when it is no plural of a listed word.
fn singular_flags(table: &HashMap<&'static [u8], u8, crate::Fnv>, w: &[u8]) -> u8 {
    let Some(stem) = w.strip_suffix(b"s").filter(|s| s.len() >= 3) else {
        return 0;
    };
    if let Some(&f) = table.get(stem) {
        return f;
    }
    if let Some(ies) = w.strip_suffix(b"ies") {
        let mut y = [0u8; 64];
        if ies.len() < y.len() {
            y[..ies.len()].copy_from_slice(ies);
            y[ies.len()] = b'y';
            if let Some(&f) = table.get(&y[..=ies.len()]) {
                return f;
            }
        }
    }
    w.strip_suffix(b"es")
        .and_then(|es| table.get(es).copied())
        .unwrap_or(0)
}

/// A per-call memo from short strings (plus a one-byte signature of how they
/// are read) to what scanning them gave: JSON tool results repeat the same
/// keys in every row, and the same enum-like values (statuses, stages,
/// countries, owners, first names) in many.
///
/// An open-addressing table probed with a hash of the whole string: the
/// direct-mapped key cache it replaced took its slot from a key's length and
/// three of its bytes, so keys of one record evicted each other
/// (`lastname`/`lastmodifieddate`) and missed on every row. Entries and probes
/// are capped, so crafted colliding strings cost a fresh scan, never a long
/// probe run, and a call's memo stays small.
struct ShortMemo<V> {
    slots: Vec<Option<MemoEntry<V>>>,
    len: usize,
    /// Entries kept at most; past this, new strings are looked up but not added.
    cap: usize,
}

struct MemoEntry<V> {
    hash: u64,
    sig: u8,
    text: Box<str>,
    value: V,
}

/// Keys remembered per call (as before this memo): past this, new keys are classified every time.
const KEY_MEMO_ENTRIES: usize = 4096;
/// Values remembered per call. Small on purpose: the table is probed for every
/// short value, and one that outgrew the CPU's L2 cache (with the document
/// being walked) cost more in misses than the scans it saved.
const VALUE_MEMO_ENTRIES: usize = 512;
/// Slots looked at before a string counts as absent.
const MEMO_PROBES: usize = 8;

/// A fast hash of a short string, eight bytes per step (FxHash-style mixing).
#[inline]
fn short_hash(b: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = (b.len() as u64).wrapping_mul(K);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        // The tail as the last eight bytes (overlapping the chunks): no variable-length copy.
        let w = match b.len().checked_sub(8) {
            Some(from) => b[from..]
                .iter()
                .rev()
                .fold(0u64, |w, &x| w << 8 | u64::from(x)),
            None => rest.iter().rev().fold(0u64, |w, &x| w << 8 | u64::from(x)),
        };
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    h
}

/// Where a string is in a [`ShortMemo`]: its value, or the free slot it may take.
enum Probe<'m, V> {
    /// The value and the slot it is in.
    Hit(&'m V, usize),
    Miss {
        hash: u64,
        free: Option<usize>,
    },
}

impl<V> ShortMemo<V> {
    fn with_cap(cap: usize) -> Self {
        ShortMemo {
            slots: Self::empty(64),
            len: 0,
            cap,
        }
    }

    fn empty(n: usize) -> Vec<Option<MemoEntry<V>>> {
        std::iter::repeat_with(|| None).take(n).collect()
    }

    /// The slot index a hash starts probing at (`slots.len()` is a power of two;
    /// the high bits are where the multiply mixed in every byte).
    #[inline]
    fn home(&self, hash: u64) -> usize {
        (hash >> 40) as usize & (self.slots.len() - 1)
    }

    #[inline]
    fn probe(&self, sig: u8, text: &str) -> Probe<'_, V> {
        let hash = short_hash(text.as_bytes());
        let mask = self.slots.len() - 1;
        let home = self.home(hash);
        for p in 0..MEMO_PROBES {
            let i = (home + p) & mask;
            match &self.slots[i] {
                Some(e) if e.hash == hash && e.sig == sig && &*e.text == text => {
                    return Probe::Hit(&e.value, i);
                }
                Some(_) => {}
                None => {
                    return Probe::Miss {
                        hash,
                        free: Some(i),
                    };
                }
            }
        }
        Probe::Miss { hash, free: None }
    }

    /// The value of `text` if it is in slot `i` (a slot a [`Probe::Hit`] named earlier;
    /// a table that grew since may hold another string there, or none).
    #[inline]
    fn at(&self, i: usize, sig: u8, text: &str) -> Option<&V> {
        match self.slots.get(i) {
            Some(Some(e)) if e.sig == sig && *e.text == *text => Some(&e.value),
            _ => None,
        }
    }

    /// Remembers `value` for `text` in the slot a [`Probe::Miss`] offered.
    fn insert(&mut self, hash: u64, free: Option<usize>, sig: u8, text: &str, value: V) {
        let Some(i) = free else {
            return;
        };
        if self.len >= self.cap {
            return;
        }
        self.slots[i] = Some(MemoEntry {
            hash,
            sig,
            text: Box::from(text),
            value,
        });
        self.len += 1;
        if self.len * 2 > self.slots.len() {
            self.grow();
        }
    }

    /// Doubles the table (kept at most half full, so probe runs stay short).
    fn grow(&mut self) {
        let doubled = Self::empty(self.slots.len() * 2);
        let old = std::mem::replace(&mut self.slots, doubled);
        let mask = self.slots.len() - 1;
        self.len = 0;
        for e in old.into_iter().flatten() {
            let home = self.home(e.hash);
            if let Some(i) = (0..MEMO_PROBES)
                .map(|p| (home + p) & mask)
                .find(|&i| self.slots[i].is_none())
            {
                self.slots[i] = Some(e);
                self.len += 1;
            }
        }
    }
}

/// Per-call memo of what a key says and whether the key text itself holds PII.
struct KeyCache {
    memo: ShortMemo<KeyInfo>,
    /// `recent[depth][i]`: the memo slot of the `i`th key of the last object seen at
    /// `depth` (`u32::MAX`: none). Records of one array share their keys in order, so
    /// a key is most often the one at its place in the previous record: one comparison,
    /// no hash of the key and no probe.
    recent: Vec<Vec<u32>>,
}

/// Depths and key positions [`KeyCache::recent`] keeps (deeper or later keys are only probed).
const RECENT_MAX: usize = 64;

impl Default for KeyCache {
    fn default() -> Self {
        KeyCache {
            memo: ShortMemo::with_cap(KEY_MEMO_ENTRIES),
            recent: Vec::new(),
        }
    }
}

/// A key's class, whether the key text is free of findings, and the kind a key hint gives it.
type KeyInfo = (KeyClass, bool, Option<usize>);

impl KeyCache {
    /// The key's class, true when the key text has no findings of its own, and its key hint.
    fn info(
        &mut self,
        det: &Detectors,
        hints: &FieldHints,
        key: &str,
        scratch: &mut Vec<Finding>,
    ) -> KeyInfo {
        self.info_slot(det, hints, key, scratch).0
    }

    /// Like [`info`](Self::info) for the `pos`th key of an object at `depth`, trying
    /// first the key at the same place of the previous object at that depth.
    #[inline]
    fn info_at(
        &mut self,
        depth: usize,
        pos: usize,
        det: &Detectors,
        hints: &FieldHints,
        key: &str,
        scratch: &mut Vec<Finding>,
    ) -> KeyInfo {
        if let Some(&slot) = self.recent.get(depth).and_then(|row| row.get(pos))
            && let Some(info) = self.memo.at(slot as usize, 0, key)
        {
            return *info;
        }
        let (info, slot) = self.info_slot(det, hints, key, scratch);
        if let Some(slot) = slot.and_then(|s| u32::try_from(s).ok())
            && depth < RECENT_MAX
            && pos < RECENT_MAX
        {
            if self.recent.len() <= depth {
                self.recent.resize_with(depth + 1, Vec::new);
            }
            let row = &mut self.recent[depth];
            if row.len() <= pos {
                row.resize(pos + 1, u32::MAX);
            }
            row[pos] = slot;
        }
        info
    }

    /// The key's info and, when it was already in the memo, its slot there.
    fn info_slot(
        &mut self,
        det: &Detectors,
        hints: &FieldHints,
        key: &str,
        scratch: &mut Vec<Finding>,
    ) -> (KeyInfo, Option<usize>) {
        let (hash, free) = match self.memo.probe(0, key) {
            Probe::Hit(info, slot) => return (*info, Some(slot)),
            Probe::Miss { hash, free } => (hash, free),
        };
        scratch.clear();
        det.scan(key, Hint::NONE, scratch);
        let info = (classify_key(key), scratch.is_empty(), hints.key_kind(key));
        scratch.clear();
        self.memo.insert(hash, free, 0, key, info);
        (info, None)
    }
}

/// Values longer than this are scanned every time: long strings are prose that
/// rarely repeats, where hashing and storing them costs more than it saves.
const VALUE_MEMO_MAX_LEN: usize = 48;

/// Per-call memo of the findings in short string values (see [`ShortMemo`]).
///
/// A value is remembered the second time it is seen: most values of a tool
/// result that repeat at all repeat often, while identifiers, timestamps and
/// contact details are seen once, and storing those would cost an allocation
/// each and fill the table for nothing. The first sighting leaves only its hash.
struct ValueMemo {
    memo: ShortMemo<Box<[Finding]>>,
    seen: SeenHashes,
}

impl Default for ValueMemo {
    fn default() -> Self {
        ValueMemo {
            memo: ShortMemo::with_cap(VALUE_MEMO_ENTRIES),
            seen: SeenHashes::default(),
        }
    }
}

/// A set of hashes (open addressing, capped): which values were seen once.
/// A false positive only makes a value remembered on its first repeat's behalf.
#[derive(Default)]
struct SeenHashes {
    slots: Vec<u64>,
    len: usize,
}

impl SeenHashes {
    /// Adds `hash`; true when it was already there.
    fn check_and_add(&mut self, hash: u64) -> bool {
        // 0 marks an empty slot.
        let hash = hash | 1;
        if self.slots.is_empty() {
            self.slots = vec![0; 256];
        }
        let mask = self.slots.len() - 1;
        let home = (hash >> 40) as usize & mask;
        for p in 0..MEMO_PROBES {
            let i = (home + p) & mask;
            if self.slots[i] == hash {
                return true;
            }
            if self.slots[i] == 0 {
                if self.len < 2 * VALUE_MEMO_ENTRIES {
                    self.slots[i] = hash;
                    self.len += 1;
                    if self.len * 2 > self.slots.len() {
                        self.grow();
                    }
                }
                return false;
            }
        }
        false
    }

    fn grow(&mut self) {
        let doubled = vec![0; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        let mask = self.slots.len() - 1;
        for h in old.into_iter().filter(|&h| h != 0) {
            let home = (h >> 40) as usize & mask;
            if let Some(i) = (0..MEMO_PROBES)
                .map(|p| (home + p) & mask)
                .find(|&i| self.slots[i] == 0)
            {
                self.slots[i] = h;
            }
        }
    }
}

impl ValueMemo {
    /// Findings in one string value under `slot`, appended to `out`: exactly what
    /// [`scan_string`] gives (scanning a string depends only on the string and the
    /// slot's person, name-part and hint flags), remembered for short values that repeat.
    fn scan(
        &mut self,
        det: &Detectors,
        hints: &FieldHints,
        s: &str,
        slot: Slot,
        out: &mut Vec<Finding>,
    ) {
        // Whole-value field hints and credential keys are cheap paths of their own.
        if s.len() > VALUE_MEMO_MAX_LEN || slot.whole.is_some() || slot.secret {
            return scan_string(det, hints, s, slot, out);
        }
        let sig = u8::from(slot.person)
            | (slot.hint.name as u8) << 1
            | (slot.hint.phone as u8) << 2
            | (slot.part as u8) << 3;
        let (hash, free) = match self.memo.probe(sig, s) {
            Probe::Hit(found, _) => {
                #[cfg(debug_assertions)]
                {
                    let mut fresh = Vec::new();
                    scan_string(det, hints, s, slot, &mut fresh);
                    // No values in the message: findings are PII.
                    debug_assert!(
                        fresh.as_slice() == &found[..],
                        "memoised findings differ from a fresh scan of the same value"
                    );
                }
                out.extend_from_slice(found);
                return;
            }
            Probe::Miss { hash, free } => (hash, free),
        };
        let base = out.len();
        scan_string(det, hints, s, slot, out);
        if free.is_some() && self.seen.check_and_add(hash ^ u64::from(sig)) {
            let found = out.get(base..).unwrap_or_default();
            self.memo.insert(hash, free, sig, s, found.into());
        }
    }
}

/// The hint for a value under `class` inside an object reached through `ctx`.
fn value_hint(class: KeyClass, ctx: Ctx) -> (bool, Hint) {
    let (person, not_person) = match ctx {
        Ctx::Person if class.generic_name => (true, false),
        // "company": {"name": …} is the company's name; a role under it
        // ("shipping_address": {"recipient": …}) is still a person.
        Ctx::Company if class.generic_name => (false, true),
        // "shipping_address": {"name": "Kennith Howe"} is the addressee; {"name": "Main
        // Building"} is not: the value's own evidence decides.
        Ctx::Address if class.generic_name => (false, false),
        _ => (class.person, class.not_person),
    };
    let name = if not_person {
        NameHint::NotPerson
    } else {
        NameHint::None
    };
    (
        person,
        Hint {
            name,
            phone: class.phone,
        },
    )
}

/// The context children of an object under `class` inherit.
fn child_ctx(class: KeyClass, ctx: Ctx) -> Ctx {
    if class.person && !class.generic_name {
        Ctx::Person
    } else if class.not_person && class.address {
        Ctx::Address
    } else if class.not_person {
        Ctx::Company
    } else if class.generic_name {
        // `"name": {"family": …, "given": […]}` (FHIR, vCard-like): the parts of a
        // bare `name` object are a person's unless an enclosing key said otherwise.
        if ctx == Ctx::Neutral && class.person {
            Ctx::Person
        } else {
            ctx
        }
    } else {
        Ctx::Neutral
    }
}

/// How a string is scanned: its hint and whether a person-ish key claims it whole.
#[derive(Clone, Copy)]
struct Slot {
    person: bool,
    hint: Hint,
    ctx: Ctx,
    /// Field-hint path states active at this value.
    field: PathState,
    /// A field hint that makes the whole value a finding of this kind (index into the hints).
    whole: Option<u16>,
    /// Under a credential key: a random-looking whole value is a SECRET.
    secret: bool,
    /// An array element or the root: only there are name/value pairs looked for.
    element: bool,
    /// Under a name-part key (`lastName`): a value is a name part even if also an English word.
    part: bool,
    /// Inside a long list of records (more than 16): no [`DocNames`] pass there.
    long_list: bool,
    /// An element of an array whose person columns were inferred: 1 + index into the
    /// walker's column sets (0: none).
    columns: u16,
    /// Under the rows of a table whose header is a separate array (`{"columns": [...],
    /// "rows": [[...]]}`): 1 + index into the walker's table headers (0: none).
    table: u16,
    /// With `table`: this is one row; its elements are cells named by the header.
    row: bool,
}

fn root(hints: &FieldHints) -> Slot {
    Slot {
        person: false,
        hint: Hint::NONE,
        ctx: Ctx::Neutral,
        field: hints.root(),
        whole: None,
        secret: false,
        element: true,
        part: false,
        long_list: false,
        columns: 0,
        table: 0,
        row: false,
    }
}

/// Label keys of name/value pairs (`{"label": "Full name", "value": …}`).
const PAIR_LABELS: &[&str] = &[
    "label",
    "name",
    "key",
    "field",
    "title",
    "property",
    "displayName",
];

/// Whether `map` is a name/value pair whose label names a person
/// (`{"label": "Full name", "value": "Ana Souza"}`, `{"field": "Owner", "value": …}`):
/// then its `value` is read like a value under that label.
fn pair_names_person(map: &Map<String, Value>) -> bool {
    // Pairs are small objects; a record with many fields is no pair (and is not hashed twice).
    // (Comparing up to eight keys costs less than hashing one with SipHash.)
    map.len() <= 8
        && map.keys().any(|k| k == "value")
        && PAIR_LABELS.iter().any(|l| {
            map.get(*l)
                .and_then(Value::as_str)
                .is_some_and(|s| s.len() <= 40 && is_person_key(s))
        })
}

/// Keys of a table's header when it is an array of its own.
const HEADER_KEYS: &[&str] = &[
    "columns",
    "column_names",
    "columnNames",
    "headers",
    "header",
    "fields",
    "cols",
];
/// Keys of a table's rows (arrays of cells, in the header's order).
const ROWS_KEYS: &[&str] = &["rows", "data", "values", "records", "items", "results"];

/// A table whose header is a separate array (`{"columns": ["Full name", "E-mail"],
/// "rows": [["Ana Souza", "ana@…"]]}`, as database and spreadsheet tools return them):
/// the rows' key and the column names. Headers may be strings or objects naming the
/// column (`{"name": …}`, `{"label": …}`, `{"title": …}`, `{"field": …}`).
fn table_of(map: &Map<String, Value>) -> Option<(&str, Vec<String>)> {
    if map.len() < 2 || map.len() > 16 {
        return None;
    }
    let mut header = None;
    let mut rows = None;
    for (k, v) in map {
        let Value::Array(items) = v else {
            continue;
        };
        if header.is_none() && HEADER_KEYS.contains(&k.as_str()) {
            header = Some(items);
        } else if rows.is_none()
            && ROWS_KEYS.contains(&k.as_str())
            && items.first().is_some_and(Value::is_array)
        {
            rows = Some(k.as_str());
        }
    }
    let (header, rows) = (header?, rows?);
    if header.is_empty() || header.len() > 256 {
        return None;
    }
    let names = header
        .iter()
        .map(|h| match h {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => ["name", "label", "title", "field", "key", "header"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str))
                .map(str::to_string),
            _ => None,
        })
        .collect::<Option<Vec<String>>>()?;
    Some((rows, names))
}

/// The slot of element `i` of an array under `parent`, for tables (see [`table_of`]):
/// the rows array's elements are rows; a row's elements are cells read as if under
/// their column's name. Any other array's elements are no part of a table.
fn table_child(
    det: &Detectors,
    hints: &FieldHints,
    keys: &mut KeyCache,
    headers: &[Vec<String>],
    parent: &Slot,
    mut child: Slot,
    i: usize,
) -> Slot {
    child.table = 0;
    child.row = false;
    if parent.table == 0 {
        return child;
    }
    if !parent.row {
        child.table = parent.table;
        child.row = true;
        return child;
    }
    let Some(head) = headers
        .get(usize::from(parent.table) - 1)
        .and_then(|h| h.get(i))
    else {
        return child;
    };
    if child.field != 0 || child.whole.is_some() {
        return child;
    }
    let mut scratch = Vec::new();
    let class = keys.info(det, hints, head, &mut scratch).0;
    let (person, hint) = value_hint(class, parent.ctx);
    child.person = person;
    child.hint = hint;
    child.part = person && class.part;
    child.secret = class.secret;
    child.ctx = child_ctx(class, parent.ctx);
    child
}

/// Registers the table of `map` (see [`table_of`]) in `headers`: the rows' key and its id.
fn register_table<'m>(
    map: &'m Map<String, Value>,
    headers: &mut Vec<Vec<String>>,
) -> Option<(&'m str, u16)> {
    let (rows, names) = table_of(map)?;
    if headers.len() >= usize::from(u16::MAX) - 1 {
        return None;
    }
    headers.push(names);
    Some((rows, headers.len() as u16))
}

/// What an object says about the slots of its entries, read once per object: whether it is
/// a person's name/value pair ([`pair_names_person`]), what it says it is ([`Typed`]) and
/// the key of its table rows ([`table_of`]). `K` is `&str`, or `String` where the map is
/// borrowed mutably while its entries are walked.
struct Entries<K> {
    pair: bool,
    typed: Typed,
    table: Option<(K, u16)>,
}

impl<'m> Entries<&'m str> {
    /// The facts of `map`, an object in `slot`; a table is registered in `tables`.
    fn of(map: &'m Map<String, Value>, slot: &Slot, tables: &mut Vec<Vec<String>>) -> Self {
        Entries {
            pair: slot.element && pair_names_person(map),
            typed: object_typed(map),
            table: register_table(map, tables),
        }
    }

    /// The same facts, owning the rows' key.
    fn owned(self) -> Entries<String> {
        Entries {
            pair: self.pair,
            typed: self.typed,
            table: self.table.map(|(rows, id)| (rows.to_string(), id)),
        }
    }
}

impl<K: AsRef<str>> Entries<K> {
    /// The slot of the entry under `k`, from the slot its key gives (`child`).
    #[inline]
    fn slot(&self, child: Slot, k: &str) -> Slot {
        let table = self.table.as_ref().map(|(rows, id)| (rows.as_ref(), *id));
        let child = rows_slot(typed_slot(child, self.typed, k), table, k);
        if self.pair && k == "value" {
            pair_value_slot(child)
        } else {
            child
        }
    }
}

/// `child`, the value under key `k`, marked as a table's rows when `k` is them.
#[inline]
fn rows_slot(mut child: Slot, table: Option<(&str, u16)>, k: &str) -> Slot {
    if let Some((rows, id)) = table
        && rows == k
    {
        child.table = id;
        child.row = false;
    }
    child
}

/// A jCard property (RFC 7095, as RDAP and contact APIs return vCards): `["fn", {},
/// "text", "Ana Souza"]` is a formatted name, `["n", {}, "text", ["Souza", "Ana", …]]`
/// the structured one. 0: none, 1: `fn`, 2: `n`.
fn jcard_of(items: &[Value]) -> u8 {
    match items {
        [Value::String(p), Value::Object(_), Value::String(_), _, ..] => {
            if p.eq_ignore_ascii_case("fn") {
                1
            } else if p.eq_ignore_ascii_case("n") {
                2
            } else {
                0
            }
        }
        _ => 0,
    }
}

/// Element `i` of a jCard property (see [`jcard_of`]): its value is a person's name
/// (`fn`) or name parts (`n`).
#[inline]
fn jcard_child(child: Slot, jcard: u8, i: usize) -> Slot {
    if jcard == 0 || i < 3 || child.field != 0 {
        return child;
    }
    let mut child = as_person(child);
    child.part = jcard == 2;
    child
}

/// What an object's own fields say about its name fields: a type field
/// (`{"type": "bot", "name": "Atlas Tracker"}`, `{"object": "user", "name": …}`) or a
/// role mailbox beside them (`{"name": "Bluefield", "address": "support@…"}`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Typed {
    /// Nothing said: the keys decide.
    Unknown,
    /// A person's record: its name fields are a person's whatever their values look like.
    Person,
    /// A bot, service, team, organisation or role mailbox: its name fields are left to the
    /// rules in the value (a person's name there is still found by its own evidence).
    Thing,
}

/// Keys that say what kind of thing an object is.
const TYPE_KEYS: &[&str] = &[
    "type",
    "kind",
    "object",
    "actor_type",
    "author_type",
    "user_type",
    "entity_type",
    "principal_type",
    "subject_type",
];
/// Type values of people (`"type": "admin"` is an Intercom teammate, a person).
const PERSON_TYPES: &[&str] = &[
    "user",
    "person",
    "people",
    "contact",
    "admin",
    "customer",
    "lead",
    "member",
    "agent",
    "employee",
    "human",
    "individual",
    "end-user",
    "end_user",
    "enduser",
    "teammate",
    "guest",
];
/// Type values of things that have names but are no person.
const THING_TYPES: &[&str] = &[
    "bot",
    "service",
    "app",
    "application",
    "integration",
    "system",
    "workspace",
    "team",
    "group",
    "organization",
    "organisation",
    "org",
    "company",
    "account",
    "channel",
    "project",
    "queue",
    "webhook",
    "api",
    "device",
    "service_account",
    "serviceaccount",
    "machine",
    "automation",
    "page",
    "database",
    "repository",
    "repo",
    "product",
    "tool",
];

/// What `map` says about its own name fields (see [`Typed`]); only small objects (records
/// of authors, actors, senders) are read.
fn object_typed(map: &Map<String, Value>) -> Typed {
    // A type or a mailbox and a name: two entries at least.
    if map.len() < 2 || map.len() > 12 {
        return Typed::Unknown;
    }
    let same = |list: &[&str], w: &str| {
        list.iter()
            .any(|t| t.len() == w.len() && t.eq_ignore_ascii_case(w))
    };
    let mut name_key = false;
    for (k, v) in map {
        let Value::String(s) = v else {
            continue;
        };
        // One byte settles most keys before any comparison.
        let first = k.as_bytes().first().map_or(0, |b| b | 0x20);
        if s.len() <= 24
            && matches!(first, b't' | b'k' | b'o' | b'a' | b'u' | b'e' | b'p' | b's')
            && same(TYPE_KEYS, k)
        {
            let s = s.trim();
            if same(PERSON_TYPES, s) {
                return Typed::Person;
            }
            if same(THING_TYPES, s) {
                return Typed::Thing;
            }
        }
        name_key =
            name_key || (matches!(first, b'n' | b'd' | b'f' | b'r') && same(BARE_NAME_KEYS, k));
    }
    // Mailboxes are read only beside a bare name (the one key the answer changes).
    let role_mailbox = name_key
        && map.values().any(
            |v| matches!(v, Value::String(s) if s.len() <= 254 && columns::is_role_mailbox(s)),
        );
    if role_mailbox {
        Typed::Thing
    } else {
        Typed::Unknown
    }
}

/// The keys of a sender's or an author's bare name, which a role mailbox beside them
/// makes a role's (`{"name": "Bluefield Support", "address": "support@…"}`).
const BARE_NAME_KEYS: &[&str] = &[
    "name",
    "display",
    "displayName",
    "display_name",
    "fullName",
    "full_name",
    "realName",
    "real_name",
];

/// `child` under key `k` of an object that says what it is (see [`Typed`]). Field hints
/// (`child.field`) keep the last word.
fn typed_slot(child: Slot, typed: Typed, k: &str) -> Slot {
    match typed {
        // The object's own type outweighs its parent's key ("target": {"type": "user", …}).
        Typed::Person
            if child.field == 0 && {
                let c = classify_key(k);
                (c.person || c.generic_name) && !c.not_person
            } =>
        {
            as_person(child)
        }
        Typed::Thing if child.field == 0 && child.person => Slot {
            person: false,
            ..child
        },
        _ => child,
    }
}

/// The slot of the `value` of a person pair (see [`pair_names_person`]).
fn pair_value_slot(mut slot: Slot) -> Slot {
    slot.person = true;
    slot.hint.name = NameHint::None;
    slot
}

/// Whether a key's class leaves a column's values to other evidence (no person,
/// company/place, phone or credential key).
fn neutral_key(info: KeyInfo) -> bool {
    let c = info.0;
    !c.person && !c.not_person && !c.secret && !c.generic_name && c.phone == PhoneHint::None
}

/// Person columns of the records in `items`, remembered in `sets`; the id for
/// [`Slot::columns`] (0: none).
fn column_set(
    det: &Detectors,
    hints: &FieldHints,
    keys: &mut KeyCache,
    items: &[Value],
    sets: &mut Vec<Vec<String>>,
) -> u16 {
    let mut scratch = Vec::new();
    let Some(cols) = columns::person_columns(det, items, |k| {
        neutral_key(keys.info(det, hints, k, &mut scratch))
    }) else {
        return 0;
    };
    if sets.len() >= usize::from(u16::MAX) - 1 {
        return 0;
    }
    sets.push(cols);
    sets.len() as u16
}

/// An array element's slot: inside a long list or not, and the array's person columns.
fn element_slot(mut child: Slot, len: usize, cols: u16) -> Slot {
    child.long_list |= len > 16;
    child.columns = cols;
    child
}

/// The mailboxes of `map` for [`mark_person`] (none unless a value could be a name under
/// a key that decides nothing by itself in `obj`).
fn mailboxes(
    det: &Detectors,
    hints: &FieldHints,
    keys: &mut KeyCache,
    obj: &Slot,
    map: &Map<String, Value>,
) -> columns::Mailboxes {
    let mut scratch = Vec::new();
    let on = det.names_enabled();
    let candidate = map.iter().take(64).any(|(k, v)| {
        matches!(v, Value::String(s) if columns::name_candidate(s)) && {
            let (person, hint) = value_hint(keys.info(det, hints, k, &mut scratch).0, obj.ctx);
            on && !person && hint.name != NameHint::NotPerson
        }
    });
    if candidate {
        columns::Mailboxes::of(map.values())
    } else {
        columns::Mailboxes::of(std::iter::empty())
    }
}

/// Makes `child` a person slot when the key decides nothing by itself and either the
/// key is a person column of the records (`obj.columns`) or the value spells a mailbox
/// of its object (`boxes`).
fn mark_person(
    child: Slot,
    sets: &[Vec<String>],
    obj: &Slot,
    boxes: &columns::Mailboxes,
    item: &Value,
    k: &str,
) -> Slot {
    let child = mark_column(child, sets, obj, k);
    if open_slot(&child)
        && !boxes.is_empty()
        && matches!(item, Value::String(s) if boxes.spelled_by(s))
    {
        return as_person(child);
    }
    child
}

/// Whether the key of `child` decides nothing by itself (no person, no company or place).
#[inline]
fn open_slot(child: &Slot) -> bool {
    !child.person && child.hint.name != NameHint::NotPerson
}

/// `child` read as a person's value.
#[inline]
fn as_person(mut child: Slot) -> Slot {
    child.person = true;
    child.hint.name = NameHint::None;
    child
}

/// Makes `child` a person slot when its key is a person column of the records (`obj.columns`).
#[inline]
fn mark_column(child: Slot, sets: &[Vec<String>], obj: &Slot, k: &str) -> Slot {
    if obj.columns != 0
        && open_slot(&child)
        && sets
            .get(usize::from(obj.columns) - 1)
            .is_some_and(|c| c.iter().any(|x| x == k))
    {
        return as_person(child);
    }
    child
}

/// Bit for entry `idx` when its value could be a name spelled by a sibling e-mail:
/// the mailboxes are read only for objects that have such a value.
#[inline]
fn mail_candidate(child: &Slot, item: &Value, idx: usize) -> u64 {
    match item {
        Value::String(s) if idx < 64 && open_slot(child) && columns::name_candidate(s) => 1 << idx,
        _ => 0,
    }
}

/// The slot of the value under key `key` (with key info `info`) of an object in `parent`.
#[inline]
fn key_slot(hints: &FieldHints, info: KeyInfo, parent: &Slot, key: &str) -> Slot {
    let (class, _, key_hint) = info;
    let (person, hint) = value_hint(class, parent.ctx);
    if parent.field == 0 && key_hint.is_none() {
        return Slot {
            person,
            hint,
            ctx: child_ctx(class, parent.ctx),
            field: 0,
            whole: None,
            secret: class.secret,
            element: false,
            part: person && class.part,
            long_list: parent.long_list,
            columns: 0,
            table: 0,
            row: false,
        };
    }
    let (field, path_hint) = hints.step(parent.field, At::Key(key));
    let slot = Slot {
        person,
        hint,
        ctx: child_ctx(class, parent.ctx),
        field,
        whole: None,
        secret: class.secret,
        element: false,
        part: person && class.part,
        long_list: parent.long_list,
        columns: 0,
        table: 0,
        row: false,
    };
    apply_hint(hints, slot, path_hint.or(key_hint))
}

/// The slot of element `i` of an array in `parent`: the array's hints, plus any path ending here.
#[inline]
fn index_slot(hints: &FieldHints, parent: &Slot, i: usize) -> Slot {
    if parent.field == 0 {
        return Slot {
            element: true,
            ..*parent
        };
    }
    let (field, path_hint) = hints.step(parent.field, At::Index(i));
    apply_hint(
        hints,
        Slot {
            field,
            element: true,
            ..*parent
        },
        path_hint,
    )
}

#[inline]
fn apply_hint(hints: &FieldHints, mut slot: Slot, hint: Option<usize>) -> Slot {
    let Some(i) = hint else {
        return slot;
    };
    match hints.kind(i) {
        Some(Kind::Name) => {
            slot.person = true;
            slot.hint.name = NameHint::None;
            slot.ctx = Ctx::Person;
            slot.whole = None;
        }
        Some(Kind::Phone) => {
            slot.hint.phone = PhoneHint::Phone;
            slot.whole = None;
        }
        Some(Kind::Email) | None => {}
        Some(_) => slot.whole = u16::try_from(i).ok(),
    }
    slot
}

/// Findings in one string value under `slot`, appended to `out`.
fn scan_string(det: &Detectors, hints: &FieldHints, s: &str, slot: Slot, out: &mut Vec<Finding>) {
    if let Some(kind) = slot.whole.and_then(|i| hints.kind(usize::from(i))) {
        let start = s.len() - s.trim_start().len();
        let end = s.trim_end().len();
        if let Some(t) = s.get(start..end)
            && !t.is_empty()
        {
            out.push(Finding::verbatim(kind.clone(), start, t));
            return;
        }
    }
    if slot.secret
        && let Some(secrets) = det.secrets()
    {
        let t = s.trim();
        if !t.contains(char::is_whitespace) && secrets.cued_value(t) {
            let start = s.len() - s.trim_start().len();
            out.push(Finding::verbatim(Kind::Secret, start, t));
            return;
        }
    }
    if slot.person
        && det.names_enabled()
        && (name::plausible_person_value(s) || slot.part && name::plausible_name_part(s))
    {
        let start = s.len() - s.trim_start().len();
        let end = s.trim_end().len();
        if let Some(t) = s.get(start..end) {
            out.push(Finding::verbatim(Kind::Name, start, t));
            return;
        }
    }
    det.scan(s, slot.hint, out);
}

/// A JSON number under a phone key (or a field hint), as a finding over its decimal text.
fn scan_number(
    det: &Detectors,
    hints: &FieldHints,
    n: &serde_json::Number,
    slot: Slot,
) -> Option<Finding> {
    if let Some(kind) = slot.whole.and_then(|i| hints.kind(usize::from(i))) {
        return Some(Finding::verbatim(kind.clone(), 0, &n.to_string()));
    }
    if slot.hint.phone != PhoneHint::Phone {
        return None;
    }
    let text = n.as_u64()?.to_string();
    let valid = det.phone_bare(&text)?;
    Some(Finding {
        start: 0,
        end: text.len(),
        kind: Kind::Phone,
        normalized: valid.e164,
        region: Some(valid.region),
        text,
    })
}

/// One step of the path to a value.
#[derive(Clone, Copy)]
enum Seg<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

fn render_seg(out: &mut String, seg: Seg<'_>) {
    match seg {
        Seg::Root => {}
        Seg::Index(i) => {
            out.push('[');
            let mut digits = [0u8; 20];
            let mut n = i;
            let mut k = digits.len();
            loop {
                k -= 1;
                digits[k] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 || k == 0 {
                    break;
                }
            }
            out.extend(digits[k..].iter().map(|&d| char::from(d)));
            out.push(']');
        }
        Seg::Key(k) => {
            let simple = !k.is_empty()
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !k.as_bytes()[0].is_ascii_digit();
            if simple {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            } else {
                out.push('[');
                out.push_str(&serde_json::Value::String(k.to_string()).to_string());
                out.push(']');
            }
        }
    }
}

#[cfg(test)]
fn render_path(path: &[Seg<'_>]) -> String {
    let mut out = String::new();
    for seg in path {
        render_seg(&mut out, *seg);
    }
    out
}

/// The path to the current value, rendered lazily and incrementally: sibling
/// strings share their parent's rendered prefix (`rows[12].`), so a row's
/// findings cost one prefix rendering, not one per finding.
struct PathBuf<'a> {
    segs: Vec<Seg<'a>>,
    text: String,
    /// `ends[i]` is the length of `text` once `segs[..i]` are rendered.
    ends: Vec<usize>,
}

impl<'a> PathBuf<'a> {
    fn new() -> Self {
        PathBuf {
            segs: Vec::new(),
            text: String::new(),
            ends: vec![0],
        }
    }

    fn truncate(&mut self, depth: usize) {
        self.segs.truncate(depth);
        if self.ends.len() > depth + 1 {
            self.ends.truncate(depth + 1);
            let keep = self.ends.last().copied().unwrap_or(0);
            self.text.truncate(keep);
        }
    }

    fn push(&mut self, seg: Seg<'a>) {
        self.segs.push(seg);
    }

    fn render(&mut self) -> &str {
        while self.ends.len() <= self.segs.len() {
            let i = self.ends.len() - 1;
            if let Some(seg) = self.segs.get(i) {
                render_seg(&mut self.text, *seg);
            }
            self.ends.push(self.text.len());
        }
        &self.text
    }
}

/// All findings in `value`, depth-first, in document order.
pub(crate) fn find(det: &Detectors, hints: &FieldHints, value: &Value) -> Vec<JsonFinding> {
    let mut results = Vec::new();
    let mut path = PathBuf::new();
    let mut stack: Vec<(&Value, usize, Seg<'_>, Slot)> = vec![(value, 0, Seg::Root, root(hints))];
    let mut buf = Vec::new();
    let mut keys = KeyCache::default();
    let mut values = ValueMemo::default();
    let mut doc = DocNames::default();
    let mut sets: Vec<Vec<String>> = Vec::new();
    let mut tables: Vec<Vec<String>> = Vec::new();
    while let Some((v, depth, seg, slot)) = stack.pop() {
        path.truncate(depth);
        path.push(seg);
        match v {
            Value::String(s) => {
                buf.clear();
                values.scan(det, hints, s, slot, &mut buf);
                doc.pass(
                    det,
                    s,
                    slot.long_list,
                    slot.hint.name == NameHint::NotPerson,
                    &mut buf,
                );
                push_all(&mut results, &mut path, false, &mut buf);
            }
            Value::Number(n) => {
                if let Some(f) = scan_number(det, hints, n, slot) {
                    results.push(JsonFinding {
                        path: path.render().to_string(),
                        in_key: false,
                        finding: f,
                    });
                }
            }
            Value::Array(items) => {
                let cols = column_set(det, hints, &mut keys, items, &mut sets);
                let jcard = jcard_of(items);
                for (i, item) in items.iter().enumerate().rev() {
                    let child = index_slot(hints, &slot, i);
                    let child = element_slot(child, items.len(), cols);
                    let child = table_child(det, hints, &mut keys, &tables, &slot, child, i);
                    let child = jcard_child(child, jcard, i);
                    stack.push((item, depth + 1, Seg::Index(i), child));
                }
            }
            Value::Object(map) => {
                let first_child = stack.len();
                let entries = Entries::of(map, &slot, &mut tables);
                let mut cands = 0u64;
                for (idx, (k, item)) in map.iter().enumerate() {
                    let info = keys.info_at(depth, idx, det, hints, k, &mut buf);
                    if !info.1 {
                        buf.clear();
                        det.scan(k, Hint::NONE, &mut buf);
                        push_all(&mut results, &mut path, true, &mut buf);
                    }
                    let child = entries.slot(key_slot(hints, info, &slot, k), k);
                    let child = mark_column(child, &sets, &slot, k);
                    cands |= mail_candidate(&child, item, idx);
                    stack.push((item, depth + 1, Seg::Key(k.as_str()), child));
                }
                if cands != 0 {
                    let boxes = columns::Mailboxes::of(map.values());
                    for (idx, entry) in stack[first_child..].iter_mut().enumerate() {
                        if cands >> idx & 1 == 1
                            && let Value::String(s) = entry.0
                            && boxes.spelled_by(s)
                        {
                            entry.3 = as_person(entry.3);
                        }
                    }
                }
                // Pop in document order.
                stack[first_child..].reverse();
            }
            Value::Null | Value::Bool(_) => {}
        }
    }
    results
}

fn push_all(
    results: &mut Vec<JsonFinding>,
    path: &mut PathBuf<'_>,
    in_key: bool,
    buf: &mut Vec<Finding>,
) {
    if buf.is_empty() {
        return;
    }
    let rendered = path.render();
    for f in buf.drain(..) {
        results.push(JsonFinding {
            path: rendered.to_string(),
            in_key,
            finding: f,
        });
    }
}

/// A container being rebuilt by [`redact`].
enum Frame<'a> {
    Array {
        items: std::iter::Enumerate<std::slice::Iter<'a, Value>>,
        out: Vec<Value>,
        slot: Slot,
        key: Option<String>,
        /// The array's length and person-column set id.
        len: usize,
        cols: u16,
        /// A jCard property (see [`jcard_of`]).
        jcard: u8,
    },
    Object {
        entries: serde_json::map::Iter<'a>,
        out: Map<String, Value>,
        slot: Slot,
        key: Option<String>,
        /// What the object says about its entries' slots.
        facts: Entries<&'a str>,
        /// The object's mailboxes (see [`mark_person`]).
        boxes: columns::Mailboxes,
    },
}

/// A copy of `value` with findings in strings and keys replaced.
pub(crate) fn redact(
    det: &Detectors,
    hints: &FieldHints,
    value: &Value,
    replace: &mut dyn FnMut(&Finding) -> String,
) -> Value {
    let mut buf = Vec::new();
    let mut kbuf = Vec::new();
    let mut keys = KeyCache::default();
    let mut values = ValueMemo::default();
    let mut doc = DocNames::default();
    let mut sets: Vec<Vec<String>> = Vec::new();
    let mut tables: Vec<Vec<String>> = Vec::new();
    let mut redact_str =
        |s: &str, slot: Slot, replace: &mut dyn FnMut(&Finding) -> String| -> Value {
            buf.clear();
            values.scan(det, hints, s, slot, &mut buf);
            doc.pass(
                det,
                s,
                slot.long_list,
                slot.hint.name == NameHint::NotPerson,
                &mut buf,
            );
            Value::String(crate::replace_spans(s, &buf, replace).into_owned())
        };
    let mut stack: Vec<Frame<'_>> = Vec::new();
    // Turns one child into either a finished value or a new frame.
    let mut result: Option<Value> = None;
    let mut pending: Option<(&Value, Slot, Option<String>)> = Some((value, root(hints), None));
    loop {
        if let Some((v, slot, mut key)) = pending.take() {
            let done = match v {
                Value::String(s) => Some(redact_str(s, slot, replace)),
                Value::Number(n) => Some(match scan_number(det, hints, n, slot) {
                    Some(f) => Value::String(replace(&f)),
                    None => v.clone(),
                }),
                Value::Null | Value::Bool(_) => Some(v.clone()),
                Value::Array(items) => {
                    let cols = column_set(det, hints, &mut keys, items, &mut sets);
                    stack.push(Frame::Array {
                        items: items.iter().enumerate(),
                        out: Vec::with_capacity(items.len()),
                        slot,
                        key: key.take(),
                        len: items.len(),
                        cols,
                        jcard: jcard_of(items),
                    });
                    None
                }
                Value::Object(map) => {
                    stack.push(Frame::Object {
                        entries: map.iter(),
                        out: Map::new(),
                        slot,
                        key: key.take(),
                        facts: Entries::of(map, &slot, &mut tables),
                        boxes: mailboxes(det, hints, &mut keys, &slot, map),
                    });
                    None
                }
            };
            if let Some(done) = done {
                match stack.last_mut() {
                    Some(Frame::Array { out, .. }) => out.push(done),
                    Some(Frame::Object { out, .. }) => {
                        out.insert(key.unwrap_or_default(), done);
                    }
                    None => {
                        result = Some(done);
                        break;
                    }
                }
            }
            continue;
        }
        // Advance the innermost frame.
        let Some(top) = stack.last_mut() else {
            break;
        };
        match top {
            Frame::Array {
                items,
                slot,
                len,
                cols,
                jcard,
                ..
            } => {
                if let Some((i, item)) = items.next() {
                    let child = element_slot(index_slot(hints, slot, i), *len, *cols);
                    let child = table_child(det, hints, &mut keys, &tables, slot, child, i);
                    let child = jcard_child(child, *jcard, i);
                    pending = Some((item, child, None));
                    continue;
                }
            }
            Frame::Object {
                entries,
                slot,
                facts,
                boxes,
                ..
            } => {
                if let Some((k, item)) = entries.next() {
                    let info = keys.info(det, hints, k, &mut kbuf);
                    let new_key = if info.1 {
                        k.clone()
                    } else {
                        kbuf.clear();
                        det.scan(k, Hint::NONE, &mut kbuf);
                        crate::replace_spans(k, &kbuf, replace).into_owned()
                    };
                    let child = facts.slot(key_slot(hints, info, slot, k), k);
                    let child = mark_person(child, &sets, slot, boxes, item, k);
                    pending = Some((item, child, Some(new_key)));
                    continue;
                }
            }
        }
        // The frame is exhausted: close it into its parent.
        let Some(frame) = stack.pop() else {
            break;
        };
        let (done, key) = match frame {
            Frame::Array { out, key, .. } => (Value::Array(out), key),
            Frame::Object { out, key, .. } => (Value::Object(out), key),
        };
        match stack.last_mut() {
            Some(Frame::Array { out, .. }) => out.push(done),
            Some(Frame::Object { out, .. }) => {
                out.insert(key.unwrap_or_default(), done);
            }
            None => {
                result = Some(done);
                break;
            }
        }
    }
    result.unwrap_or(Value::Null)
}

/// Rewrites `value` in place: strings (and keys) with findings are replaced,
/// everything else is left untouched (no copy of clean data).
pub(crate) fn redact_in_place(
    det: &Detectors,
    hints: &FieldHints,
    value: &mut Value,
    replace: &mut dyn FnMut(&Finding) -> String,
) {
    let mut buf = Vec::new();
    let mut keys = KeyCache::default();
    let mut values = ValueMemo::default();
    let mut infos: Vec<KeyInfo> = Vec::new();
    let mut doc = DocNames::default();
    let mut sets: Vec<Vec<String>> = Vec::new();
    let mut tables: Vec<Vec<String>> = Vec::new();
    let mut stack: Vec<(&mut Value, Slot, usize)> = vec![(value, root(hints), 0)];
    while let Some((v, slot, depth)) = stack.pop() {
        match v {
            Value::String(s) => {
                buf.clear();
                values.scan(det, hints, s, slot, &mut buf);
                doc.pass(
                    det,
                    s,
                    slot.long_list,
                    slot.hint.name == NameHint::NotPerson,
                    &mut buf,
                );
                if !buf.is_empty() {
                    let new = crate::replace_spans(s, &buf, replace).into_owned();
                    *s = new;
                }
            }
            Value::Number(n) => {
                if let Some(f) = scan_number(det, hints, n, slot) {
                    *v = Value::String(replace(&f));
                }
            }
            Value::Array(items) => {
                let cols = column_set(det, hints, &mut keys, items, &mut sets);
                let len = items.len();
                let jcard = jcard_of(items);
                for (i, item) in items.iter_mut().enumerate().rev() {
                    let child = element_slot(index_slot(hints, &slot, i), len, cols);
                    let child = table_child(det, hints, &mut keys, &tables, &slot, child, i);
                    let child = jcard_child(child, jcard, i);
                    stack.push((item, child, depth + 1));
                }
            }
            Value::Object(map) => {
                // Keys with findings are renamed first (rare), then values are queued.
                // One key lookup per key: the infos are kept for queueing the values.
                infos.clear();
                let mut dirty: Vec<String> = Vec::new();
                for (pos, k) in map.keys().enumerate() {
                    let info = keys.info_at(depth, pos, det, hints, k, &mut buf);
                    if !info.1 {
                        dirty.push(k.clone());
                    }
                    infos.push(info);
                }
                // A renamed key's values keep the hints of the key the backend wrote, as in
                // `redact`: a placeholder is not neutral text (`[NAME_1]` reads as a
                // person-ish key, `[PHONE_1]` as a phone-ish one).
                // Path hints follow the backend's key too.
                let mut renamed: Option<HashMap<String, (KeyInfo, String)>> = None;
                if !dirty.is_empty() {
                    let classes = renamed.get_or_insert_with(HashMap::new);
                    // Rebuild the map so key order survives with `preserve_order` too.
                    let old = std::mem::take(map);
                    for (k, item) in old {
                        let info = keys.info(det, hints, &k, &mut buf);
                        let original = k.clone();
                        let k = if dirty.contains(&k) {
                            buf.clear();
                            det.scan(&k, Hint::NONE, &mut buf);
                            crate::replace_spans(&k, &buf, replace).into_owned()
                        } else {
                            k
                        };
                        // On a clash the later entry wins, in the map and here.
                        classes.insert(k.clone(), (info, original));
                        map.insert(k, item);
                    }
                }
                let first_child = stack.len();
                let entries = Entries::of(map, &slot, &mut tables).owned();
                let mut cands = 0u64;
                for (i, (k, item)) in map.iter_mut().enumerate() {
                    let child = match renamed.as_ref().and_then(|c| c.get(k)) {
                        Some((info, original)) => key_slot(hints, *info, &slot, original),
                        // Not renamed: the map is as it was when `infos` was filled.
                        None => match infos.get(i) {
                            Some(info) => key_slot(hints, *info, &slot, k),
                            None => key_slot(hints, keys.info(det, hints, k, &mut buf), &slot, k),
                        },
                    };
                    let child = mark_column(entries.slot(child, k), &sets, &slot, k);
                    cands |= mail_candidate(&child, item, i);
                    stack.push((item, child, depth + 1));
                }
                if cands != 0 {
                    let boxes = columns::Mailboxes::of(stack[first_child..].iter().map(|e| &*e.0));
                    for (idx, entry) in stack[first_child..].iter_mut().enumerate() {
                        if cands >> idx & 1 == 1
                            && let Value::String(s) = &*entry.0
                            && boxes.spelled_by(s)
                        {
                            entry.1 = as_person(entry.1);
                        }
                    }
                }
                stack[first_child..].reverse();
            }
            Value::Null | Value::Bool(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_keys_are_classified() {
        for k in [
            "name",
            "full_name",
            "firstName",
            "last_name",
            "owner",
            "assignee",
            "created_by",
            "customerName",
            "author",
            "manager",
            "contact",
        ] {
            assert!(classify_key(k).person, "{k}");
        }
        for k in [
            "company_name",
            "file_name",
            "productName",
            "city",
            "company",
            "status",
        ] {
            let c = classify_key(k);
            assert!(!c.person && c.not_person, "{k}");
        }
        for k in ["order_id", "isbn", "zip", "invoice_number"] {
            assert_eq!(classify_key(k).phone, PhoneHint::NotPhone, "{k}");
        }
        for k in ["phone", "mobile_phone", "workTel", "fax"] {
            assert_eq!(classify_key(k).phone, PhoneHint::Phone, "{k}");
        }
    }

    /// Each key of `record` with its value alone: no value repeats within one call,
    /// so nothing is answered from the per-call memo.
    fn alone(record: &Value) -> Vec<(String, Value)> {
        record
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), serde_json::json!({ k.as_str(): v.clone() })))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn keys_in_a_new_order_are_read_by_their_own_text_not_their_place() {
        // The key memo first tries the key at the same place of the previous object at
        // that depth; rows that swap keys of equal length (a person key and a place
        // key, a phone key and a neutral one) must still read each value by its own key.
        let det = Detectors::new();
        let first = serde_json::json!({
            "name": "Jordan Lee", "city": "Jordan Lee",
            "phone": "4155552671", "notes": "4155552671",
        });
        let swapped = serde_json::json!({
            "city": "Jordan Lee", "name": "Jordan Lee",
            "notes": "4155552671", "phone": "4155552671",
        });
        let rows = serde_json::json!({
            "rows": [first.clone(), swapped.clone(), first.clone(), swapped.clone()]
        });
        let label = |f: &Finding| format!("[{}:{}]", f.kind.as_str(), f.normalized);
        let found = det.find_json(&rows);
        let mut in_place = rows.clone();
        det.redact_json_in_place(&mut in_place, label);
        for (row, record) in [&first, &swapped, &first, &swapped].into_iter().enumerate() {
            let prefix = format!("rows[{row}].");
            let got: Vec<(String, Finding)> = found
                .iter()
                .filter_map(|f| {
                    Some((f.path.strip_prefix(&prefix)?.to_string(), f.finding.clone()))
                })
                .collect();
            let mut expected = Vec::new();
            let mut expected_row = serde_json::Map::new();
            for (key, single) in alone(record) {
                for f in det.find_json(&single) {
                    expected.push((key.clone(), f.finding));
                }
                let mut one = single.clone();
                det.redact_json_in_place(&mut one, label);
                expected_row.insert(key.clone(), one[key.as_str()].clone());
            }
            assert_eq!(expected.len(), 2, "one NAME and one PHONE per row");
            assert_eq!(got, expected, "find_json row {row}");
            assert_eq!(
                in_place["rows"][row],
                Value::Object(expected_row),
                "in place row {row}"
            );
        }
    }

    #[test]
    fn repeated_values_are_found_alike_under_every_key_and_in_every_row() {
        // The same short strings under keys that read them differently (person,
        // company, phone, identifier, credential, neutral), repeated over rows: the
        // memo must answer a repeat exactly as a fresh scan of that value there would.
        let det = Detectors::builder()
            .secrets(true)
            .build()
            .expect("default detectors with secrets build");
        let record = serde_json::json!({
            "name": "Jordan Lee",
            "company": "Jordan Lee",
            "note": "Jordan Lee",
            "owner": "Acme Corp",
            "city": "Acme Corp",
            "phone": "4155552671",
            "order_id": "4155552671",
            "memo": "4155552671",
            "api_key": "sk_live_51HxQ2eZvKYlo2C0aB1c2D3e",
            "token_note": "sk_live_51HxQ2eZvKYlo2C0aB1c2D3e",
            "email": "jordan.lee@example.com",
            "cc": "jordan.lee@example.com",
            // A name part (an English word too) reads differently under a name-part key.
            "lastName": "Morales",
            "owner_name": "Morales",
            "status": "Morales",
        });
        let rows = serde_json::json!({ "rows": [record.clone(), record.clone(), record.clone()] });
        let label = |f: &Finding| format!("[{}:{}]", f.kind.as_str(), f.normalized);
        let found = det.find_json(&rows);
        let redacted = det.redact_json(&rows, label);
        let mut in_place = rows.clone();
        det.redact_json_in_place(&mut in_place, label);
        let mut expected = Vec::new();
        let mut expected_row = serde_json::Map::new();
        for (key, single) in alone(&record) {
            for f in det.find_json(&single) {
                expected.push((key.clone(), f.finding));
            }
            if let Some((k, v)) = det
                .redact_json(&single, label)
                .as_object()
                .and_then(|m| m.iter().next())
            {
                expected_row.insert(k.clone(), v.clone());
            }
        }
        assert!(expected.len() >= 5, "the record has findings to repeat");
        for row in 0..3 {
            let prefix = format!("rows[{row}].");
            let got: Vec<(String, Finding)> = found
                .iter()
                .filter_map(|f| {
                    let key = f.path.strip_prefix(&prefix)?;
                    Some((key.to_string(), f.finding.clone()))
                })
                .collect();
            assert_eq!(got, expected, "row {row}");
            let want = Value::Object(expected_row.clone());
            assert_eq!(redacted["rows"][row], want, "redact_json row {row}");
            assert_eq!(
                in_place["rows"][row], want,
                "redact_json_in_place row {row}"
            );
        }
    }

    #[test]
    fn paths_render_like_javascript() {
        let p = [
            Seg::Root,
            Seg::Key("rows"),
            Seg::Index(0),
            Seg::Key("e-mail"),
        ];
        assert_eq!(render_path(&p), r#"rows[0]["e-mail"]"#);
    }
}
