//! Policy test cases (`policies/tests/*.json`): requests with expected decisions and policy ids.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{
    Action, CallRequest, Decision, EntityModel, FlowRequest, PolicyEngine, PolicyError,
    PolicyRequest,
};

const EMBEDDED_CASES: &[(&str, &str)] = &[(
    "default.json",
    include_str!("../../../policies/tests/default.json"),
)];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[serde(default)]
    model: ModelSpec,
    cases: Vec<Case>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelSpec {
    #[serde(default)]
    servers: BTreeMap<String, ServerSpec>,
    #[serde(default)]
    agents: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    kinds: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSpec {
    trust: String,
    #[serde(default)]
    tags: Vec<String>,
    /// Tool names, or tool names with their MCP `inputSchema` (for argument rules).
    #[serde(default)]
    tools: ToolsSpec,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ToolsSpec {
    Names(Vec<String>),
    Schemas(BTreeMap<String, serde_json::Value>),
}

impl Default for ToolsSpec {
    fn default() -> Self {
        ToolsSpec::Names(Vec::new())
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Expect {
    Allow,
    Deny,
    /// Denied, but a human may override it (every deciding forbid is `@on_deny("ask")`).
    Ask,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    agent: String,
    action: Action,
    /// `"server/tool"`.
    tool: String,
    kind: Option<String>,
    source: Option<String>,
    placeholder: Option<String>,
    arg_path: Option<String>,
    email_domain: Option<String>,
    phone_country: Option<String>,
    /// Provenance of the flowing value: `server/tool` and field path.
    source_tool: Option<String>,
    source_path: Option<String>,
    /// The call's arguments as the agent wrote them (`context.args`; call facts are
    /// derived from them).
    args: Option<serde_json::Value>,
    /// Sample values of the placeholders in `args`, e.g. `{"[EMAIL_1]": "a@b.example"}`:
    /// facts are derived from them as the broker would from the vault.
    #[serde(default)]
    placeholders: BTreeMap<String, String>,
    expect: Expect,
    /// When present, the deciding policy ids must be exactly these (order ignored).
    policy_ids: Option<Vec<String>>,
}

/// The outcome of one test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The test-case file.
    pub file: PathBuf,
    /// The case's name.
    pub name: String,
    /// Whether decision and policy ids matched the expectation.
    pub passed: bool,
    /// The decision the engine made.
    pub decision: Decision,
    /// What was expected versus what happened, when it failed.
    pub message: String,
}

/// All test-case outcomes of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestReport {
    /// One entry per case, in file and case order.
    pub cases: Vec<CaseResult>,
}

impl TestReport {
    /// Number of passing cases.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed).count()
    }

    /// Number of failing cases.
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }

    /// Whether every case passed.
    pub fn all_passed(&self) -> bool {
        self.cases.iter().all(|c| c.passed)
    }
}

/// Loads the policies of `dir` (or the defaults) and runs `dir/tests/*.json` (or the default cases).
pub fn run_tests(dir: Option<&Path>) -> Result<TestReport, PolicyError> {
    let engine = PolicyEngine::load(dir)?;
    let files: Vec<(PathBuf, String)> = match dir {
        None => EMBEDDED_CASES
            .iter()
            .map(|(n, t)| {
                (
                    PathBuf::from(format!("<embedded>/tests/{n}")),
                    (*t).to_owned(),
                )
            })
            .collect(),
        Some(dir) => read_case_files(&dir.join("tests"))?,
    };
    let mut report = TestReport::default();
    for (file, text) in files {
        let parsed: CaseFile = serde_json::from_str(&text).map_err(|e| PolicyError::TestCases {
            file: file.clone(),
            message: e.to_string(),
        })?;
        let engine = engine.with_model(parsed.model.into_model())?;
        for case in &parsed.cases {
            report.cases.push(run_case(&engine, &file, case)?);
        }
    }
    Ok(report)
}

fn read_case_files(dir: &Path) -> Result<Vec<(PathBuf, String)>, PolicyError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let io = |source| PolicyError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == "json") {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            std::fs::read_to_string(&p)
                .map(|t| (p.clone(), t))
                .map_err(|source| PolicyError::Io { path: p, source })
        })
        .collect()
}

impl ModelSpec {
    fn into_model(self) -> EntityModel {
        let mut b = EntityModel::builder();
        let mut inputs = Vec::new();
        for (name, s) in self.servers {
            b = b.server(&name, &s.trust, s.tags);
            match s.tools {
                ToolsSpec::Names(tools) => b = b.tools(&name, tools),
                ToolsSpec::Schemas(tools) => {
                    b = b.tools(&name, tools.keys().cloned());
                    inputs.extend(
                        tools
                            .into_iter()
                            .map(|(t, schema)| (name.clone(), t, schema)),
                    );
                }
            }
        }
        for (name, groups) in self.agents {
            b = b.agent(&name, groups);
        }
        for (name, groups) in self.kinds {
            b = b.kind(&name, groups);
        }
        let mut model = b.build();
        for (server, tool, schema) in inputs {
            model.set_tool_input(&server, &tool, schema);
        }
        model
    }
}

fn run_case(engine: &PolicyEngine, file: &Path, case: &Case) -> Result<CaseResult, PolicyError> {
    let bad = |message: String| PolicyError::TestCases {
        file: file.to_path_buf(),
        message: format!("case \"{}\": {message}", case.name),
    };
    let Some((server, tool)) = case.tool.split_once('/') else {
        return Err(bad(format!(
            "tool \"{}\" must be \"server/tool\"",
            case.tool
        )));
    };
    let mut restored = std::collections::HashMap::new();
    for (text, value) in &case.placeholders {
        let placeholder = crate::vault::Placeholder::parse(text).map_err(|_| {
            bad(format!(
                "\"{text}\" in \"placeholders\" is not a placeholder like [EMAIL_1]"
            ))
        })?;
        restored.insert(
            placeholder.to_string(),
            (placeholder.kind().to_owned(), value.as_str()),
        );
    }
    let restored: std::collections::HashMap<String, super::Restored<'_>> = restored
        .iter()
        .map(|(p, (kind, value))| (p.clone(), super::Restored { kind, value }))
        .collect();
    let facts = case
        .args
        .as_ref()
        .map(|args| super::CallFacts::gather_default(args, &restored));
    let request = match case.action {
        Action::Call => PolicyRequest::Call(CallRequest {
            agent: &case.agent,
            server,
            tool,
            args: case.args.as_ref(),
            call: facts.as_ref(),
        }),
        Action::Flow => {
            let (Some(kind), Some(source)) = (&case.kind, &case.source) else {
                return Err(bad("a flow case needs \"kind\" and \"source\"".to_owned()));
            };
            PolicyRequest::Flow(FlowRequest {
                agent: &case.agent,
                server,
                tool,
                kind,
                source,
                placeholder: case.placeholder.as_deref().unwrap_or("[PLACEHOLDER_1]"),
                arg_path: case.arg_path.as_deref().unwrap_or(""),
                email_domain: case.email_domain.as_deref(),
                phone_country: case.phone_country.as_deref(),
                source_tool: case.source_tool.as_deref(),
                source_path: case.source_path.as_deref(),
                call: facts.as_ref(),
            })
        }
    };
    let decision = engine.decide(&request);
    let want_allowed = matches!(case.expect, Expect::Allow);
    let mut problems = Vec::new();
    // A name close to a known one is almost surely a typo that would make the case test
    // something else; one far from every known name is a deliberate unknown entity.
    let (kind, source) = match &request {
        PolicyRequest::Flow(f) => (Some(f.kind), Some(f.source)),
        PolicyRequest::Call(_) => (None, None),
    };
    for (note, likely_typo) in engine
        .model()
        .unknown_names(&case.agent, server, tool, kind, source)
    {
        if likely_typo {
            problems.push(note);
        }
    }
    let outcome = |allowed: bool, ask: bool| match (allowed, ask) {
        (true, _) => "allow",
        (false, true) => "ask",
        (false, false) => "deny",
    };
    let (want, got) = (
        outcome(want_allowed, matches!(case.expect, Expect::Ask)),
        outcome(decision.allowed, engine.askable(&decision)),
    );
    if want != got {
        problems.push(format!("expected {want}, got {got} ({})", decision.reason));
    }
    if let Some(want) = &case.policy_ids {
        let mut want = want.clone();
        want.sort_unstable();
        if want != decision.policy_ids {
            problems.push(format!(
                "expected deciding policies {want:?}, got {:?}",
                decision.policy_ids
            ));
        }
    }
    Ok(CaseResult {
        file: file.to_path_buf(),
        name: case.name.clone(),
        passed: problems.is_empty(),
        message: problems.join("; "),
        decision,
    })
}
