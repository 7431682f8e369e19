//! `sluice exec --approve never|always|prompt`: how an `@on_deny("ask")` refusal is
//! answered on the command line. `never` (the default) asks nobody, so the refusal
//! stands; `always` approves every such call once; `prompt` shows the call on the
//! terminal (`/dev/tty`, since stdin may carry the program) and reads the operator's
//! answer. The approver is recorded in the audit log as `cli operator`.

use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;

use sluice::flow::{Answer, Approval, ApprovalFuture, ApprovalRequest, Approver, ApproverSlot};

/// Who answers on the command line, for the audit log.
const OPERATOR: &str = "cli operator";

/// How `sluice exec` answers approval requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ApproveMode {
    /// Ask nobody: an `ask` refusal stands.
    #[default]
    Never,
    /// Approve every `ask` refusal (once each).
    Always,
    /// Ask the operator on the terminal.
    Prompt,
}

impl ApproveMode {
    /// The approver for this mode.
    pub fn slot(self) -> ApproverSlot {
        match self {
            ApproveMode::Never => ApproverSlot::default(),
            ApproveMode::Always => ApproverSlot::new(Arc::new(Always)),
            ApproveMode::Prompt => ApproverSlot::new(Arc::new(Prompt)),
        }
    }
}

struct Always;

impl Approver for Always {
    fn approve<'a>(&'a self, _request: &'a ApprovalRequest) -> ApprovalFuture<'a> {
        Box::pin(async {
            Approval {
                answer: Answer::Once,
                approver: OPERATOR.to_owned(),
            }
        })
    }
}

struct Prompt;

impl Approver for Prompt {
    fn approve<'a>(&'a self, request: &'a ApprovalRequest) -> ApprovalFuture<'a> {
        let question = request.to_string();
        Box::pin(async move {
            let answer = tokio::task::spawn_blocking(move || ask_tty(&question))
                .await
                .unwrap_or_else(|_| Err("the prompt failed".to_owned()))
                .unwrap_or_else(|error| {
                    eprintln!("sluice: cannot ask on the terminal ({error}); refused");
                    Answer::Decline
                });
            Approval {
                answer,
                approver: OPERATOR.to_owned(),
            }
        })
    }
}

/// Shows `question` on the terminal and reads y (once), s (session) or anything else (no).
fn ask_tty(question: &str) -> Result<Answer, String> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| format!("/dev/tty: {e}"))?;
    let mut out = tty.try_clone().map_err(|e| e.to_string())?;
    write!(out, "{question}\nApprove? [y]es once, [s]ession, [N]o: ")
        .and_then(|()| out.flush())
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(tty)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    Ok(match line.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Answer::Once,
        "s" | "session" => Answer::Session,
        _ => Answer::Decline,
    })
}
