//! `crm`: a small CRM that keeps sales leads in an embedded `sled` database.
//!
//! This server is where personal data *lands*: whatever `updateLead` receives is stored as
//! given and flushed to disk before the call returns, so `crm-server --db DIR --dump` shows
//! exactly what reached the CRM. A new database is seeded with leads whose ids match the
//! `crm_id` column of the default sheet, but with stale or missing emails and phones, so a
//! sync has real work to do. The CRM checks that an email or phone *looks* like one: a
//! placeholder such as `[EMAIL_1]` that was not resolved on the way in is refused.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use rmcp::{
    Json, ServerHandler,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    tool, tool_handler, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Error;

/// The leads a new database starts with.
pub const SEED_JSON: &str = include_str!("../data/crm_seed.json");

/// A lead as the CRM stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Lead {
    /// CRM id, e.g. "CRM-1001".
    pub id: String,
    /// Full name of the contact.
    pub name: String,
    /// Email address, or null if the CRM has none.
    pub email: Option<String>,
    /// Phone number, or null if the CRM has none.
    pub phone: Option<String>,
    /// Company the contact works for.
    pub company: String,
    /// Pipeline stage, e.g. "new", "contacted", "customer".
    pub status: String,
    /// Notes, oldest first. Untrusted: may contain anything.
    pub notes: Vec<String>,
}

/// Result of `listLeads` and `searchLeads`, and what `--dump` prints.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct LeadList {
    /// The leads, ordered by id.
    pub leads: Vec<Lead>,
}

/// Arguments of `getLead`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetLeadArgs {
    /// CRM id of the lead, e.g. "CRM-1001".
    pub id: String,
}

/// Arguments of `searchLeads`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchLeadsArgs {
    /// Text to look for, case-insensitively, in id, name, email, phone, company and status.
    pub query: String,
}

/// Arguments of `updateLead`: the id plus at least one field to change.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateLeadArgs {
    /// CRM id of the lead to change, e.g. "CRM-1001".
    pub id: String,
    /// New email address.
    pub email: Option<String>,
    /// New phone number, international or national format.
    pub phone: Option<String>,
    /// New full name.
    pub name: Option<String>,
    /// New pipeline stage, e.g. "contacted".
    pub status: Option<String>,
    /// A note to append to the lead's notes.
    pub note: Option<String>,
}

impl UpdateLeadArgs {
    /// Applies the requested changes to `lead`, refusing values that cannot be right.
    fn apply(&self, lead: &mut Lead) -> Result<(), String> {
        let changes = [
            &self.email,
            &self.phone,
            &self.name,
            &self.status,
            &self.note,
        ];
        if changes.iter().all(|change| change.is_none()) {
            return Err(
                "nothing to update: pass at least one of email, phone, name, status, note".into(),
            );
        }
        if let Some(email) = &self.email {
            check_email(email)?;
            lead.email = Some(email.trim().to_owned());
        }
        if let Some(phone) = &self.phone {
            check_phone(phone)?;
            lead.phone = Some(phone.trim().to_owned());
        }
        if let Some(name) = &self.name {
            lead.name = non_empty("name", name)?;
        }
        if let Some(status) = &self.status {
            lead.status = non_empty("status", status)?;
        }
        if let Some(note) = &self.note {
            lead.notes.push(non_empty("note", note)?);
        }
        Ok(())
    }
}

fn non_empty(field: &str, value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("{field} must not be empty"));
    }
    Ok(value.to_owned())
}

/// Accepts `local@domain.tld` with no spaces; enough to refuse placeholders and typos.
fn check_email(email: &str) -> Result<(), String> {
    let email = email.trim();
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !email.contains(char::is_whitespace)
    });
    if valid {
        Ok(())
    } else {
        Err(format!("email {email:?} is not an email address"))
    }
}

/// Accepts 6 to 15 digits with the usual separators and an optional leading `+`.
fn check_phone(phone: &str) -> Result<(), String> {
    let phone = phone.trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let body = phone.strip_prefix('+').unwrap_or(phone);
    let allowed = body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.'));
    if allowed && (6..=15).contains(&digits) {
        Ok(())
    } else {
        Err(format!("phone {phone:?} is not a phone number"))
    }
}

/// The leads database: JSON-encoded leads in a `sled` tree, keyed by id.
#[derive(Debug, Clone)]
pub struct CrmStore {
    db: sled::Db,
    path: PathBuf,
    /// Serializes read-modify-write updates so concurrent sessions cannot lose one.
    write_lock: Arc<tokio::sync::Mutex<()>>,
}

impl CrmStore {
    /// Opens (or creates and seeds) the database in directory `path`.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let db = sled::open(path).map_err(|source| Error::Database {
            path: path.to_owned(),
            source,
        })?;
        let store = Self {
            db,
            path: path.to_owned(),
            write_lock: Arc::default(),
        };
        if store.db.is_empty() {
            store.seed()?;
        }
        Ok(store)
    }

    fn seed(&self) -> Result<(), Error> {
        let leads: Vec<Lead> =
            serde_json::from_str(SEED_JSON).map_err(|source| Error::CorruptLead {
                path: self.path.clone(),
                key: "<embedded seed>".into(),
                source,
            })?;
        for lead in &leads {
            self.put(lead)?;
        }
        self.db.flush().map_err(|source| self.db_error(source))?;
        tracing::info!(leads = leads.len(), path = %self.path.display(), "seeded a new CRM database");
        Ok(())
    }

    fn db_error(&self, source: sled::Error) -> Error {
        Error::Database {
            path: self.path.clone(),
            source,
        }
    }

    fn decode(&self, key: &[u8], value: &[u8]) -> Result<Lead, Error> {
        serde_json::from_slice(value).map_err(|source| Error::CorruptLead {
            path: self.path.clone(),
            key: String::from_utf8_lossy(key).into_owned(),
            source,
        })
    }

    fn put(&self, lead: &Lead) -> Result<(), Error> {
        let value = serde_json::to_vec(lead).map_err(|source| Error::CorruptLead {
            path: self.path.clone(),
            key: lead.id.clone(),
            source,
        })?;
        self.db
            .insert(lead.id.as_bytes(), value)
            .map_err(|source| self.db_error(source))?;
        Ok(())
    }

    /// Every lead, ordered by id.
    pub fn leads(&self) -> Result<Vec<Lead>, Error> {
        self.db
            .iter()
            .map(|entry| {
                let (key, value) = entry.map_err(|source| self.db_error(source))?;
                self.decode(&key, &value)
            })
            .collect()
    }

    /// Writes every lead as pretty JSON (`{"leads": [...]}`) to `out`.
    pub fn dump(&self, mut out: impl std::io::Write) -> Result<(), Error> {
        let list = LeadList {
            leads: self.leads()?,
        };
        serde_json::to_writer_pretty(&mut out, &list).map_err(Error::Dump)?;
        writeln!(out).map_err(|error| Error::Dump(serde_json::Error::io(error)))
    }

    /// The lead with this id, if there is one.
    pub fn lead(&self, id: &str) -> Result<Option<Lead>, Error> {
        match self.db.get(id).map_err(|source| self.db_error(source))? {
            Some(value) => self.decode(id.as_bytes(), &value).map(Some),
            None => Ok(None),
        }
    }

    /// Applies `update` and flushes it to disk; the outer error is storage, the inner one the caller's.
    pub async fn update(&self, update: &UpdateLeadArgs) -> Result<Result<Lead, String>, Error> {
        let _guard = self.write_lock.lock().await;
        let Some(mut lead) = self.lead(&update.id)? else {
            return Ok(Err(unknown_lead(&update.id)));
        };
        if let Err(message) = update.apply(&mut lead) {
            return Ok(Err(message));
        }
        self.put(&lead)?;
        self.db
            .flush_async()
            .await
            .map_err(|source| self.db_error(source))?;
        tracing::info!(id = %lead.id, "lead updated");
        Ok(Ok(lead))
    }
}

fn unknown_lead(id: &str) -> String {
    format!("no lead with id {id:?}; use searchLeads or listLeads to find lead ids")
}

/// The `crm` MCP server; cheap to clone, all clones share one database.
#[derive(Debug, Clone)]
pub struct CrmServer {
    store: CrmStore,
    tool_router: ToolRouter<Self>,
}

impl CrmServer {
    /// A server over an opened store.
    pub fn new(store: CrmStore) -> Self {
        Self {
            store,
            tool_router: Self::tool_router(),
        }
    }
}

#[tool_router]
impl CrmServer {
    /// Get one lead by its CRM id.
    #[tool(name = "getLead", annotations(read_only_hint = true))]
    async fn get_lead(
        &self,
        Parameters(args): Parameters<GetLeadArgs>,
    ) -> Result<Json<Lead>, String> {
        match self.store.lead(&args.id) {
            Ok(Some(lead)) => Ok(Json(lead)),
            Ok(None) => Err(unknown_lead(&args.id)),
            Err(error) => Err(error.to_string()),
        }
    }

    /// Find leads whose id, name, email, phone, company or status contains the query (case-insensitive).
    #[tool(name = "searchLeads", annotations(read_only_hint = true))]
    async fn search_leads(
        &self,
        Parameters(args): Parameters<SearchLeadsArgs>,
    ) -> Result<Json<LeadList>, String> {
        let query = non_empty("query", &args.query)?.to_lowercase();
        let leads = self.store.leads().map_err(|error| error.to_string())?;
        let leads = leads
            .into_iter()
            .filter(|lead| {
                [&lead.id, &lead.name, &lead.company, &lead.status]
                    .into_iter()
                    .chain(lead.email.as_ref())
                    .chain(lead.phone.as_ref())
                    .any(|field| field.to_lowercase().contains(&query))
            })
            .collect();
        Ok(Json(LeadList { leads }))
    }

    /// Change a lead's email, phone, name or status, or append a note; returns the updated lead.
    #[tool(
        name = "updateLead",
        annotations(destructive_hint = false, idempotent_hint = false)
    )]
    async fn update_lead(
        &self,
        Parameters(args): Parameters<UpdateLeadArgs>,
    ) -> Result<Json<Lead>, String> {
        match self.store.update(&args).await {
            Ok(Ok(lead)) => Ok(Json(lead)),
            Ok(Err(message)) => Err(message),
            Err(error) => Err(error.to_string()),
        }
    }

    /// List every lead in the CRM.
    #[tool(name = "listLeads", annotations(read_only_hint = true))]
    async fn list_leads(&self) -> Result<Json<LeadList>, String> {
        let leads = self.store.leads().map_err(|error| error.to_string())?;
        Ok(Json(LeadList { leads }))
    }
}

#[tool_handler(
    router = self.tool_router,
    name = "crm",
    instructions = "A CRM of sales leads. Find leads with searchLeads or listLeads; change them with updateLead."
)]
impl ServerHandler for CrmServer {}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(id: &str) -> UpdateLeadArgs {
        UpdateLeadArgs {
            id: id.into(),
            email: None,
            phone: None,
            name: None,
            status: None,
            note: None,
        }
    }

    #[test]
    fn seed_parses_and_matches_the_default_sheet_ids() {
        use crate::sheets::{DEFAULT_CSV, DEFAULT_SHEET, Sheet};
        let leads: Vec<Lead> = serde_json::from_str(SEED_JSON).unwrap();
        let sheet = Sheet::from_csv(DEFAULT_SHEET, DEFAULT_CSV, Path::new("leads.csv")).unwrap();
        for row in &sheet.rows {
            let crm_id = row.crm_id.as_deref().unwrap();
            assert!(leads.iter().any(|lead| lead.id == crm_id), "{crm_id}");
        }
    }

    #[test]
    fn placeholders_and_junk_are_not_emails_or_phones() {
        assert!(check_email("amelia.hartley@northwind-logistics.co.uk").is_ok());
        for bad in ["[EMAIL_1]", "a@b", "@x.com", "a b@x.com", "a@x.com.", ""] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        for good in ["+44 20 7946 0958", "(11) 96123-4567", "030 12345678"] {
            assert!(check_phone(good).is_ok(), "{good}");
        }
        for bad in ["[PHONE_1]", "12345", "+1 415 555 0199 ext", "1+2345678"] {
            assert!(check_phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_update_is_refused() {
        let mut lead: Lead = serde_json::from_str::<Vec<Lead>>(SEED_JSON).unwrap()[0].clone();
        assert!(update("CRM-1001").apply(&mut lead).is_err());
    }

    #[tokio::test]
    async fn update_is_stored_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = CrmStore::open(dir.path()).unwrap();
            let mut change = update("CRM-1001");
            change.email = Some("amelia.hartley@northwind-logistics.co.uk".into());
            change.note = Some("synced from q4-leads".into());
            let lead = store.update(&change).await.unwrap().unwrap();
            assert_eq!(lead.notes, ["synced from q4-leads"]);
            assert!(store.update(&update("CRM-0000")).await.unwrap().is_err());
        }
        let store = CrmStore::open(dir.path()).unwrap();
        let lead = store.lead("CRM-1001").unwrap().unwrap();
        assert_eq!(
            lead.email.as_deref(),
            Some("amelia.hartley@northwind-logistics.co.uk")
        );
        assert_eq!(store.leads().unwrap().len(), 12);
    }
}
