//! A deterministic synthetic tool catalog for relevance tests and benchmarks.
//!
//! Hand-written tools that queries should find, among generated distractors in the shape real MCP
//! servers have (`verbNoun` names, templated descriptions, id/field parameters). The distractors
//! are deliberately close: `crm.updateLeadStatus`, `hr.updateEmployeeEmail`, `teams.postMessage`,
//! `gitlab.createIssue` and generated `*.updateContact` tools with an `email` field all exist.
//! Shared by the unit tests and `benches/search.rs` (included there by path), so it only uses
//! `rmcp` and `serde_json`.

use rmcp::model::Tool;
use serde_json::{Map, Value, json};

/// A parameter: name, JSON type, description, required.
type Param = (&'static str, &'static str, &'static str, bool);

/// Hand-written tools: server, name, description, parameters.
const CORE: &[(&str, &str, &str, &[Param])] = &[
    (
        "crm",
        "updateLead",
        "Update a lead's fields such as email, phone or owner.",
        &[
            ("id", "string", "Lead ID.", true),
            ("email", "string", "New email address.", false),
            ("phone", "string", "New phone number.", false),
            ("owner", "string", "User ID of the new owner.", false),
        ],
    ),
    (
        "crm",
        "updateLeadStatus",
        "Move a lead to another pipeline status.",
        &[
            ("id", "string", "Lead ID.", true),
            (
                "status",
                "string",
                "New status: open, qualified, won or lost.",
                true,
            ),
        ],
    ),
    (
        "crm",
        "getLead",
        "Get one lead by ID, with contact details.",
        &[("id", "string", "Lead ID.", true)],
    ),
    (
        "crm",
        "deleteLead",
        "Delete a lead permanently.",
        &[("id", "string", "Lead ID.", true)],
    ),
    (
        "crm",
        "createLead",
        "Create a new lead.",
        &[
            ("name", "string", "Full name.", true),
            ("email", "string", "Email address.", false),
            ("company", "string", "Company name.", false),
        ],
    ),
    (
        "crm",
        "listLeads",
        "List leads, optionally filtered by status or owner.",
        &[
            ("status", "string", "Only leads with this status.", false),
            ("owner", "string", "Only leads owned by this user.", false),
        ],
    ),
    (
        "crm",
        "sendLeadEmail",
        "Send an email to a lead from the CRM and log it on the timeline.",
        &[
            ("id", "string", "Lead ID.", true),
            ("subject", "string", "Subject line.", true),
            ("body", "string", "Message body.", true),
        ],
    ),
    (
        "sheets",
        "getRows",
        "Read rows from a sheet range, as objects keyed by header.",
        &[
            ("spreadsheetId", "string", "Spreadsheet ID.", true),
            ("sheet", "string", "Sheet (tab) name.", true),
            (
                "range",
                "string",
                "A1 range; the whole sheet when omitted.",
                false,
            ),
        ],
    ),
    (
        "sheets",
        "appendRows",
        "Append rows to the end of a sheet.",
        &[
            ("spreadsheetId", "string", "Spreadsheet ID.", true),
            ("sheet", "string", "Sheet (tab) name.", true),
            ("rows", "array", "Rows to append.", true),
        ],
    ),
    (
        "sheets",
        "updateRows",
        "Overwrite rows in a sheet range.",
        &[
            ("spreadsheetId", "string", "Spreadsheet ID.", true),
            ("range", "string", "A1 range.", true),
            ("rows", "array", "New values.", true),
        ],
    ),
    (
        "sheets",
        "listSheets",
        "List the sheets (tabs) of a spreadsheet.",
        &[("spreadsheetId", "string", "Spreadsheet ID.", true)],
    ),
    (
        "sheets",
        "createSpreadsheet",
        "Create a new, empty spreadsheet.",
        &[("title", "string", "Title.", true)],
    ),
    (
        "sheets",
        "getCell",
        "Read the value of one cell.",
        &[
            ("spreadsheetId", "string", "Spreadsheet ID.", true),
            ("cell", "string", "A1 address of the cell.", true),
        ],
    ),
    (
        "chat",
        "postMessage",
        "Post a message to a channel.",
        &[
            ("channel", "string", "Channel ID or name.", true),
            ("text", "string", "Message text (markdown).", true),
            ("threadId", "string", "Reply in this thread.", false),
        ],
    ),
    (
        "chat",
        "updateMessage",
        "Edit the text of a message you posted.",
        &[
            ("channel", "string", "Channel ID.", true),
            ("ts", "string", "Message timestamp.", true),
            ("text", "string", "New text.", true),
        ],
    ),
    (
        "chat",
        "listChannels",
        "List channels visible to the bot.",
        &[],
    ),
    (
        "chat",
        "getChannelHistory",
        "Read recent messages of a channel.",
        &[
            ("channel", "string", "Channel ID.", true),
            ("limit", "integer", "Maximum messages.", false),
        ],
    ),
    (
        "chat",
        "addReaction",
        "Add an emoji reaction to a message.",
        &[
            ("channel", "string", "Channel ID.", true),
            ("ts", "string", "Message timestamp.", true),
            ("emoji", "string", "Emoji name.", true),
        ],
    ),
    (
        "teams",
        "postMessage",
        "Post a message to a Teams channel.",
        &[
            ("teamId", "string", "Team ID.", true),
            ("channelId", "string", "Channel ID.", true),
            ("content", "string", "HTML content.", true),
        ],
    ),
    (
        "github",
        "createIssue",
        "Create an issue in a repository.",
        &[
            ("owner", "string", "Repository owner.", true),
            ("repo", "string", "Repository name.", true),
            ("title", "string", "Issue title.", true),
            ("body", "string", "Issue body (markdown).", false),
            ("labels", "array", "Label names.", false),
        ],
    ),
    (
        "github",
        "getIssue",
        "Get an issue by number.",
        &[
            ("owner", "string", "Repository owner.", true),
            ("repo", "string", "Repository name.", true),
            ("number", "integer", "Issue number.", true),
        ],
    ),
    (
        "github",
        "listIssues",
        "List issues of a repository.",
        &[
            ("owner", "string", "Repository owner.", true),
            ("repo", "string", "Repository name.", true),
            ("state", "string", "open, closed or all.", false),
        ],
    ),
    (
        "github",
        "createPullRequest",
        "Open a pull request from a branch.",
        &[
            ("owner", "string", "Repository owner.", true),
            ("repo", "string", "Repository name.", true),
            ("head", "string", "Source branch.", true),
            ("base", "string", "Target branch.", true),
        ],
    ),
    (
        "github",
        "addIssueComment",
        "Comment on an issue or pull request.",
        &[
            ("owner", "string", "Repository owner.", true),
            ("repo", "string", "Repository name.", true),
            ("number", "integer", "Issue number.", true),
            ("body", "string", "Comment text.", true),
        ],
    ),
    (
        "gitlab",
        "createIssue",
        "Create an issue in a GitLab project.",
        &[
            ("projectId", "string", "Project ID.", true),
            ("title", "string", "Issue title.", true),
        ],
    ),
    (
        "jira",
        "updateTicket",
        "Update fields of a Jira ticket.",
        &[
            ("key", "string", "Ticket key such as OPS-12.", true),
            ("fields", "object", "Fields to set.", true),
        ],
    ),
    (
        "jira",
        "createTicket",
        "Create a Jira ticket in a project.",
        &[
            ("project", "string", "Project key.", true),
            ("summary", "string", "Summary.", true),
        ],
    ),
    (
        "jira",
        "transitionTicket",
        "Move a ticket to another workflow state.",
        &[
            ("key", "string", "Ticket key.", true),
            ("state", "string", "Target state.", true),
        ],
    ),
    (
        "mail",
        "sendEmail",
        "Send an email message.",
        &[
            ("to", "array", "Recipient addresses.", true),
            ("subject", "string", "Subject line.", true),
            ("body", "string", "Plain-text body.", true),
        ],
    ),
    (
        "mail",
        "listEmails",
        "List emails in a mailbox folder.",
        &[("folder", "string", "Folder name; INBOX by default.", false)],
    ),
    (
        "mail",
        "getEmail",
        "Read one email with headers and body.",
        &[("id", "string", "Email ID.", true)],
    ),
    (
        "mail",
        "deleteEmail",
        "Move an email to the trash.",
        &[("id", "string", "Email ID.", true)],
    ),
    (
        "hr",
        "updateEmployeeEmail",
        "Change an employee's work email address.",
        &[
            ("employeeId", "string", "Employee ID.", true),
            ("email", "string", "New work email.", true),
        ],
    ),
    (
        "hr",
        "getEmployee",
        "Get an employee record.",
        &[("employeeId", "string", "Employee ID.", true)],
    ),
    (
        "hr",
        "listEmployees",
        "List employees of a department.",
        &[("department", "string", "Department name.", false)],
    ),
    (
        "calendar",
        "createEvent",
        "Create a calendar event and invite attendees.",
        &[
            ("title", "string", "Event title.", true),
            ("start", "string", "Start time (RFC 3339).", true),
            ("attendees", "array", "Attendee emails.", false),
        ],
    ),
    (
        "drive",
        "listFiles",
        "List files in a folder.",
        &[("folderId", "string", "Folder ID.", false)],
    ),
    (
        "drive",
        "readFile",
        "Read a file's content as text.",
        &[("fileId", "string", "File ID.", true)],
    ),
];

/// Servers the distractors are spread over (the core servers get distractors too).
const SERVERS: &[&str] = &[
    "crm",
    "sheets",
    "chat",
    "github",
    "jira",
    "mail",
    "hr",
    "calendar",
    "drive",
    "teams",
    "gitlab",
    "salesforce",
    "hubspot",
    "zendesk",
    "stripe",
    "shopify",
    "notion",
    "confluence",
    "asana",
    "trello",
    "linear",
    "bitbucket",
    "discord",
    "twilio",
    "sendgrid",
    "mailchimp",
    "intercom",
    "dropbox",
    "box",
    "s3",
    "bigquery",
    "postgres",
    "snowflake",
    "airtable",
    "quickbooks",
    "xero",
    "workday",
    "greenhouse",
    "okta",
    "datadog",
    "pagerduty",
    "sentry",
    "figma",
    "miro",
    "zoom",
    "docusign",
    "google-analytics",
    "my_warehouse",
    "erp-legacy",
    "freshdesk",
];

/// Verbs and the description template each one uses (`{n}` noun, `{ns}` plural).
const VERBS: &[(&str, &str)] = &[
    ("get", "Get a {n} by ID."),
    ("list", "List {ns}, with optional filters and pagination."),
    ("create", "Create a new {n}."),
    ("update", "Update fields of an existing {n}."),
    ("delete", "Delete a {n} permanently."),
    ("search", "Search {ns} by keyword."),
    ("archive", "Archive a {n} so it no longer shows in lists."),
    ("export", "Export {ns} as CSV."),
    ("import", "Import {ns} from a CSV file."),
    ("sync", "Synchronize {ns} with the upstream system."),
    ("count", "Count {ns} matching a filter."),
    ("restore", "Restore an archived {n}."),
    ("assign", "Assign a {n} to a user."),
    ("tag", "Add tags to a {n}."),
    ("merge", "Merge two {ns} into one."),
    ("duplicate", "Duplicate a {n}."),
];

/// Nouns with the fields their records carry.
const NOUNS: &[(&str, &[&str])] = &[
    ("contact", &["name", "email", "phone"]),
    ("prospect", &["name", "email", "company"]),
    ("customer", &["name", "email", "address"]),
    ("account", &["name", "plan", "email"]),
    ("user", &["name", "email", "role"]),
    ("subscriber", &["email", "listId"]),
    ("invoice", &["amount", "currency", "dueDate"]),
    ("order", &["items", "total", "status"]),
    ("product", &["title", "price", "sku"]),
    ("payment", &["amount", "method"]),
    ("refund", &["paymentId", "amount"]),
    ("ticket", &["subject", "priority", "status"]),
    ("issue", &["title", "body", "labels"]),
    ("project", &["name", "description"]),
    ("task", &["title", "dueDate", "assignee"]),
    ("comment", &["body", "author"]),
    ("message", &["text", "channel"]),
    ("channel", &["name", "topic"]),
    ("file", &["name", "mimeType"]),
    ("folder", &["name", "parentId"]),
    ("document", &["title", "content"]),
    ("page", &["title", "content"]),
    ("record", &["fields"]),
    ("table", &["name", "schema"]),
    ("event", &["title", "start", "end"]),
    ("campaign", &["name", "audience", "sendAt"]),
    ("report", &["name", "period"]),
    ("dashboard", &["name", "widgets"]),
    ("webhook", &["url", "events"]),
    ("team", &["name", "members"]),
    ("deal", &["name", "amount", "stage"]),
    ("company", &["name", "domain"]),
    ("note", &["body"]),
    ("attachment", &["fileName", "url"]),
    ("label", &["name", "color"]),
    ("incident", &["title", "severity"]),
    ("alert", &["name", "threshold"]),
    ("meeting", &["topic", "start"]),
    ("envelope", &["subject", "recipients"]),
    ("employee", &["name", "department"]),
];

/// About `total` tools (at least every hand-written one) across [`SERVERS`], deterministic.
pub fn servers(total: usize) -> Vec<(String, Vec<Tool>)> {
    let mut servers: Vec<(String, Vec<Tool>)> = SERVERS
        .iter()
        .map(|server| (server.to_string(), Vec::new()))
        .collect();
    for (server, name, description, params) in CORE {
        if let Some((_, tools)) = servers.iter_mut().find(|(s, _)| s == server) {
            tools.push(tool(name, description, params.iter().copied()));
        }
    }
    let mut made = CORE.len();
    // Walk (server, verb, noun) with coprime strides so every server gets a spread of nouns.
    let combos = SERVERS.len() * VERBS.len() * NOUNS.len();
    let mut step = 0usize;
    while made < total && step < combos {
        let server = step % SERVERS.len();
        let pair = (step / SERVERS.len() * 37 + server * 13) % (VERBS.len() * NOUNS.len());
        let (verb, noun) = (pair % VERBS.len(), pair / VERBS.len());
        step += 1;
        let (verb, template) = VERBS[verb];
        let (noun, fields) = NOUNS[noun];
        let object = if verb == "list" {
            plural(noun)
        } else {
            noun.to_string()
        };
        let name = format!("{verb}{}", capitalize(&object));
        let name = match SERVERS[server] {
            "my_warehouse" => snake(&name),
            "erp-legacy" => snake(&name).replace('_', "-"),
            _ => name,
        };
        let tools = &mut servers[server].1;
        if tools.iter().any(|tool| tool.name == name) {
            continue;
        }
        let description = template.replace("{ns}", &plural(noun)).replace("{n}", noun);
        let mut params: Vec<(String, &str, String, bool)> = Vec::new();
        if !matches!(
            verb,
            "list" | "create" | "search" | "export" | "import" | "count" | "sync"
        ) {
            params.push(("id".into(), "string", format!("The {noun}'s ID."), true));
        }
        if matches!(verb, "create" | "update") {
            for field in fields.iter() {
                params.push((
                    field.to_string(),
                    "string",
                    format!("The {noun}'s {field}."),
                    verb == "create",
                ));
            }
        }
        if verb == "search" {
            params.push(("query".into(), "string", "Keywords to match.".into(), true));
        }
        tools.push(tool(
            &name,
            &description,
            params
                .iter()
                .map(|(n, t, d, r)| (n.as_str(), *t, d.as_str(), *r)),
        ));
        made += 1;
    }
    servers
}

fn tool<'a>(
    name: &str,
    description: &str,
    params: impl Iterator<Item = (&'a str, &'a str, &'a str, bool)>,
) -> Tool {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (param, kind, doc, needed) in params {
        let schema = match kind {
            "array" => json!({"type": "array", "items": {"type": "string"}, "description": doc}),
            "object" => json!({"type": "object", "additionalProperties": true, "description": doc}),
            _ => json!({"type": kind, "description": doc}),
        };
        properties.insert(param.to_string(), schema);
        if needed {
            required.push(Value::from(param));
        }
    }
    let mut schema = Map::new();
    schema.insert("type".into(), "object".into());
    schema.insert("properties".into(), Value::Object(properties));
    schema.insert("required".into(), Value::Array(required));
    Tool::new(name.to_string(), description.to_string(), schema)
}

fn plural(noun: &str) -> String {
    match noun.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{noun}s"),
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn snake(camel: &str) -> String {
    let mut out = String::new();
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
