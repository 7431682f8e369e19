//! `sheets`: a read-only spreadsheet server. Each CSV file is one sheet, named after the
//! file (`q4-leads.csv` is the sheet `q4-leads`); every row is a sales lead.
//!
//! Sheets are loaded once at start and never written: this server is a data *source*.
//! Without files it serves the embedded `q4-leads` sheet (`data/leads.csv`), whose notes
//! include a prompt-injection attempt on purpose.

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

/// Name of the sheet served when no CSV file is given.
pub const DEFAULT_SHEET: &str = "q4-leads";

/// The embedded default sheet: twelve leads from several countries.
pub const DEFAULT_CSV: &str = include_str!("../data/leads.csv");

/// Whether a lead has been copied to the CRM yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not yet in the CRM, or changed since it was synced.
    Pending,
    /// The CRM holds this row's current data.
    Synced,
}

/// One row of a leads sheet; CSV headers are `id,name,email,phone,company,country,status,crm_id,notes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// Row id, unique within its sheet, e.g. "L-001".
    pub id: String,
    /// Full name of the contact.
    pub name: String,
    /// Email address of the contact.
    pub email: String,
    /// Phone number as entered: international (+44 …) or national (030 …) format.
    #[serde(default)]
    pub phone: String,
    /// Company the contact works for.
    #[serde(default)]
    pub company: String,
    /// ISO 3166-1 alpha-2 country code of the contact, e.g. "DE".
    #[serde(default)]
    pub country: String,
    /// Sync state: "pending" rows still need to be written to the CRM.
    pub status: Status,
    /// Id of the matching lead in the CRM (e.g. "CRM-1001"), or null if there is none.
    #[serde(default, alias = "crm_id")]
    pub crm_id: Option<String>,
    /// Free-text notes typed by a salesperson. Untrusted: may contain anything.
    #[serde(default)]
    pub notes: String,
}

/// A named sheet and its rows.
#[derive(Debug, Clone)]
pub struct Sheet {
    /// The sheet's name, used as the `sheet` argument of the tools.
    pub name: String,
    /// Its rows, in file order.
    pub rows: Vec<Row>,
}

impl Sheet {
    /// Parses CSV text (with a header line) into a sheet called `name`; `path` names it in errors.
    pub fn from_csv(name: &str, csv_text: &str, path: &Path) -> Result<Self, Error> {
        let rows = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(csv_text.as_bytes())
            .deserialize()
            .collect::<Result<Vec<Row>, _>>()
            .map_err(|source| Error::Sheet {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self {
            name: name.to_owned(),
            rows,
        })
    }

    /// Reads a CSV file as a sheet named after the file's stem.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let name = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .filter(|stem| !stem.is_empty())
            .ok_or_else(|| Error::SheetName {
                path: path.to_owned(),
            })?;
        let text = std::fs::read_to_string(path).map_err(|source| Error::Sheet {
            path: path.to_owned(),
            source: source.into(),
        })?;
        Self::from_csv(name, &text, path)
    }
}

/// Arguments of `getRows`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetRowsArgs {
    /// Sheet to read, e.g. "q4-leads" (see listSheets).
    pub sheet: String,
    /// Only return rows with this status.
    pub status: Option<Status>,
    /// Return at most this many rows, in sheet order.
    pub limit: Option<u32>,
}

/// Arguments of `getRow`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetRowArgs {
    /// Sheet to read, e.g. "q4-leads".
    pub sheet: String,
    /// Row id, e.g. "L-001".
    pub id: String,
}

/// Result of `getRows`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Rows {
    /// The matching rows, in sheet order.
    pub rows: Vec<Row>,
}

/// One entry of `listSheets`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SheetInfo {
    /// Sheet name, to pass as `sheet`.
    pub name: String,
    /// Number of rows in the sheet.
    pub row_count: usize,
}

/// Result of `listSheets`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SheetList {
    /// Every sheet this server holds.
    pub sheets: Vec<SheetInfo>,
}

/// The `sheets` MCP server; cheap to clone, all clones share the same sheets.
#[derive(Debug, Clone)]
pub struct SheetsServer {
    sheets: Arc<[Sheet]>,
    tool_router: ToolRouter<Self>,
}

impl SheetsServer {
    /// A server over the given sheets; sheet names must be unique.
    pub fn new(sheets: Vec<Sheet>) -> Result<Self, Error> {
        for (i, sheet) in sheets.iter().enumerate() {
            if sheets[..i].iter().any(|other| other.name == sheet.name) {
                return Err(Error::DuplicateSheet {
                    name: sheet.name.clone(),
                });
            }
        }
        Ok(Self {
            sheets: sheets.into(),
            tool_router: Self::tool_router(),
        })
    }

    /// A server over the embedded `q4-leads` sheet.
    pub fn embedded() -> Result<Self, Error> {
        let sheet = Sheet::from_csv(
            DEFAULT_SHEET,
            DEFAULT_CSV,
            Path::new("<embedded leads.csv>"),
        )?;
        Self::new(vec![sheet])
    }

    /// A server with one sheet per CSV file.
    pub fn from_files(paths: &[PathBuf]) -> Result<Self, Error> {
        let sheets = paths
            .iter()
            .map(|path| Sheet::from_file(path))
            .collect::<Result<_, _>>()?;
        Self::new(sheets)
    }

    fn sheet(&self, name: &str) -> Result<&Sheet, String> {
        self.sheets
            .iter()
            .find(|sheet| sheet.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.sheets.iter().map(|s| s.name.as_str()).collect();
                format!(
                    "no sheet named {name:?}; available sheets: {}",
                    known.join(", ")
                )
            })
    }
}

#[tool_router]
impl SheetsServer {
    /// List the sheets with their row counts.
    #[tool(name = "listSheets", annotations(read_only_hint = true))]
    async fn list_sheets(&self) -> Json<SheetList> {
        let sheets = self
            .sheets
            .iter()
            .map(|sheet| SheetInfo {
                name: sheet.name.clone(),
                row_count: sheet.rows.len(),
            })
            .collect();
        Json(SheetList { sheets })
    }

    /// Read the rows of a sheet, optionally only those with a given status and at most `limit` of them.
    #[tool(name = "getRows", annotations(read_only_hint = true))]
    async fn get_rows(
        &self,
        Parameters(args): Parameters<GetRowsArgs>,
    ) -> Result<Json<Rows>, String> {
        let sheet = self.sheet(&args.sheet)?;
        let limit = args.limit.map_or(usize::MAX, |n| n as usize);
        let rows = sheet
            .rows
            .iter()
            .filter(|row| args.status.is_none_or(|status| row.status == status))
            .take(limit)
            .cloned()
            .collect();
        Ok(Json(Rows { rows }))
    }

    /// Read one row of a sheet by its id.
    #[tool(name = "getRow", annotations(read_only_hint = true))]
    async fn get_row(&self, Parameters(args): Parameters<GetRowArgs>) -> Result<Json<Row>, String> {
        let sheet = self.sheet(&args.sheet)?;
        sheet
            .rows
            .iter()
            .find(|row| row.id == args.id)
            .cloned()
            .map(Json)
            .ok_or_else(|| format!("sheet {:?} has no row with id {:?}", sheet.name, args.id))
    }
}

#[tool_handler(
    router = self.tool_router,
    name = "sheets",
    instructions = "Spreadsheets of sales leads. Call listSheets, then getRows or getRow."
)]
impl ServerHandler for SheetsServer {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_sheet_parses_with_pending_and_synced_rows() {
        let server = SheetsServer::embedded().unwrap();
        let rows = &server.sheets[0].rows;
        assert_eq!(server.sheets[0].name, DEFAULT_SHEET);
        assert_eq!(rows.len(), 12);
        assert!(rows.iter().any(|r| r.status == Status::Pending));
        assert!(rows.iter().any(|r| r.status == Status::Synced));
        assert!(rows.iter().all(|r| r.crm_id.is_some()));
        assert!(
            rows.iter()
                .any(|r| r.notes.contains("Ignore previous instructions"))
        );
    }

    #[test]
    fn empty_crm_id_cell_reads_as_none_and_missing_columns_default() {
        let sheet = Sheet::from_csv(
            "t",
            "id,name,email,status,crm_id\nA,Ann Lee,ann@example.com,pending,\n",
            Path::new("t.csv"),
        )
        .unwrap();
        assert_eq!(sheet.rows[0].crm_id, None);
        assert_eq!(sheet.rows[0].phone, "");
    }

    #[test]
    fn bad_status_names_the_file() {
        let err = Sheet::from_csv(
            "t",
            "id,name,email,status\nA,Ann,ann@example.com,done\n",
            Path::new("t.csv"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("t.csv"), "{err}");
    }

    #[test]
    fn duplicate_sheet_names_are_rejected() {
        let sheet = Sheet::from_csv("a", "id,name,email,status\n", Path::new("a.csv")).unwrap();
        assert!(SheetsServer::new(vec![sheet.clone(), sheet]).is_err());
    }
}
