//! Unit tests of config parsing: keys, errors with file and line, imports.

use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("sluice.toml"))
}

#[test]
fn contract_example_parses() {
    let config = parse(
        r#"
[servers.sheets]
command = "sheets-server"
args = ["--data", "examples/data/leads.csv"]
env = { LOG = "warn" }
trust = "internal"
[servers.crm]
url = "http://127.0.0.1:7001/mcp"
headers = { Authorization = "Bearer ${CRM_TOKEN}" }
trust = "internal"
[policy]
dir = "policies"
"#,
    )
    .expect("valid");
    assert_eq!(config.servers.len(), 2);
    assert_eq!(config.servers["sheets"].trust, "internal");
    assert_eq!(config.policy.dir.as_deref(), Some(Path::new("policies")));
}

#[test]
fn unknown_key_is_rejected_with_file_key_and_line() {
    let err = parse("[servers.a]\ncommand = \"x\"\ncomand = \"y\"\n").expect_err("typo");
    let text = err.to_string();
    assert!(text.starts_with("sluice.toml:3:"), "{text}");
    assert!(text.contains("comand"), "{text}");
}

#[test]
fn server_needs_exactly_one_transport() {
    assert!(parse("[servers.a]\ntrust = \"internal\"\n").is_err());
    assert!(parse("[servers.a]\ncommand = \"x\"\nurl = \"http://h/mcp\"\n").is_err());
}

#[test]
fn mcp_json_servers_are_imported_as_external() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(".mcp.json"),
        r#"{"mcpServers": {
            "files": {"command": "files-server", "args": ["--root", "/tmp"], "env": {"A": "b"}},
            "remote": {"type": "http", "url": "https://mcp.example.com/mcp", "headers": {"X-Key": "${KEY}"}}
        }}"#,
    )
    .expect("write");
    let config = dir.path().join("sluice.toml");
    std::fs::write(
        &config,
        "import_mcp_json = \".mcp.json\"\n[servers.crm]\ncommand = \"crm\"\ntrust = \"internal\"\n",
    )
    .expect("write");
    let (config, _) = Config::discover(Some(&config)).expect("valid");
    assert_eq!(config.servers.len(), 3);
    assert_eq!(config.servers["files"].args, ["--root", "/tmp"]);
    assert_eq!(config.servers["files"].trust, "external");
    assert_eq!(
        config.servers["remote"].url.as_deref(),
        Some("https://mcp.example.com/mcp")
    );
    assert_eq!(config.servers["crm"].trust, "internal");
}

#[test]
fn mcp_json_name_clash_and_bad_json_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sluice.toml");
    std::fs::write(
        &config,
        "import_mcp_json = \"m.json\"\n[servers.crm]\ncommand = \"crm\"\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("m.json"),
        r#"{"mcpServers": {"crm": {"command": "x"}}}"#,
    )
    .expect("write");
    let err = Config::discover(Some(&config)).expect_err("clash");
    assert!(err.to_string().contains("name it once"), "{err}");
    std::fs::write(dir.path().join("m.json"), "{\n  \"mcpServers\": [}").expect("write");
    let err = Config::discover(Some(&config)).expect_err("bad json");
    assert!(err.to_string().contains("m.json:2:"), "{err}");
}

#[test]
fn serve_allowed_hosts_parse_and_unknown_serve_keys_are_rejected() {
    let config = parse("[serve]\nallowed_hosts = [\"mcp.example.com\"]\n").expect("valid");
    assert_eq!(
        config.serve.allowed_hosts.as_deref(),
        Some(&["mcp.example.com".to_owned()][..])
    );
    let err = parse("[serve]\nallowed_host = []\n").expect_err("typo");
    assert!(err.to_string().contains("allowed_host"), "{err}");
}

#[test]
fn a_misspelt_url_scheme_is_an_error_at_its_line() {
    let err = parse("[servers.crm]\ntrust = \"internal\"\nurl = \"htp://127.0.0.1:7001/mcp\"\n")
        .expect_err("bad scheme");
    let text = err.to_string();
    assert!(text.starts_with("sluice.toml:3:"), "{text}");
    assert!(
        text.contains("'htp://'") && text.contains("did you mean http://?"),
        "{text}"
    );
    let err = parse("[servers.crm]\nurl = \"127.0.0.1:7001/mcp\"\n").expect_err("no scheme");
    assert!(
        err.to_string()
            .contains("must start with http:// or https://"),
        "{err}"
    );
    assert!(parse("[servers.crm]\nurl = \"https://crm.example/mcp\"\n").is_ok());
}

#[test]
fn an_unknown_trust_level_is_an_error_at_its_line_with_a_suggestion() {
    let err = parse("[servers.crm]\ncommand = \"crm\"\ntrust = \"intrenal\"\n").expect_err("typo");
    let text = err.to_string();
    assert!(text.starts_with("sluice.toml:3:9:"), "{text}");
    assert!(text.contains("did you mean \"internal\"?"), "{text}");
    assert!(text.contains("[policy] trust_levels"), "{text}");
    let config = parse(
        "[policy]\ntrust_levels = [\"vendor\"]\n[servers.crm]\ncommand = \"crm\"\ntrust = \"vendor\"\n",
    )
    .expect("declared level");
    assert_eq!(config.servers["crm"].trust, "vendor");
}

#[test]
fn a_servers_table_without_transport_adjusts_an_imported_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(".mcp.json"),
        r#"{"mcpServers": {"sheets": {"command": "sheets-server"}, "files": {"command": "files"}}}"#,
    )
    .expect("write");
    let config = dir.path().join("sluice.toml");
    std::fs::write(
        &config,
        "import_mcp_json = \".mcp.json\"\n[servers.sheets]\ntrust = \"internal\"\ntags = [\"pii-source\"]\n",
    )
    .expect("write");
    let (config, _) = Config::discover(Some(&config)).expect("valid");
    assert_eq!(
        config.servers["sheets"].command.as_deref(),
        Some("sheets-server")
    );
    assert_eq!(config.servers["sheets"].trust, "internal");
    assert_eq!(config.servers["sheets"].tags, ["pii-source"]);
    assert_eq!(config.servers["files"].trust, "external");
    assert_eq!(config.servers["files"].tags, ["imported"]);
}

#[test]
fn an_sse_server_in_mcp_json_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("m.json"),
        r#"{"mcpServers": {"old": {"type": "sse", "url": "http://127.0.0.1:9/sse"}}}"#,
    )
    .expect("write");
    let config = dir.path().join("sluice.toml");
    std::fs::write(&config, "import_mcp_json = \"m.json\"\n").expect("write");
    let err = Config::discover(Some(&config)).expect_err("sse");
    let text = err.to_string();
    assert!(
        text.contains("\"sse\" transport") && text.contains("\"type\": \"http\""),
        "{text}"
    );
}

#[test]
fn out_of_range_memory_is_rejected() {
    let err = parse("[sandbox]\nmemory_mb = 0\n").expect_err("zero");
    assert!(err.to_string().contains("memory_mb"));
}

#[test]
fn relative_paths_sluice_opens_resolve_from_the_config_files_directory() {
    let dir = tempfile::tempdir().expect("dir");
    let conf = dir.path().join("conf");
    std::fs::create_dir(&conf).expect("mkdir");
    std::fs::write(conf.join("servers.json"), r#"{"mcpServers": {}}"#).expect("write");
    let config = conf.join("sluice.toml");
    std::fs::write(
        &config,
        "data_dir = \"state\"\nimport_mcp_json = \"servers.json\"\n\
         [policy]\ndir = \"../policies\"\n\
         [store]\nca_file = \"/etc/ssl/ca.pem\"\n\
         [servers.crm]\ncommand = \"bin/crm\"\nargs = [\"--db\", \"crm.db\"]\nca_file = \"ca.pem\"\n",
    )
    .expect("write");
    let (config, _) = Config::discover(Some(&config)).expect("valid");
    assert_eq!(config.data_dir(), conf.join("state"));
    assert_eq!(config.policy.dir, Some(conf.join("../policies")));
    // Absolute paths stay as written.
    assert_eq!(config.store.ca_file, Some(PathBuf::from("/etc/ssl/ca.pem")));
    let crm = &config.servers["crm"];
    assert_eq!(crm.ca_file, Some(conf.join("ca.pem")));
    // The child's command and arguments are its own business.
    assert_eq!(crm.command.as_deref(), Some("bin/crm"));
    assert_eq!(crm.args, ["--db", "crm.db"]);
}

#[test]
fn field_declarations_parse_for_every_tool_and_for_one_tool() {
    let config = parse(
        r#"
[servers.crm]
command = "crm-server"
[servers.crm.fields]
"leads[].owner" = "NAME"
[servers.crm.fields.getLead]
"assistant" = "PHONE"
"#,
    )
    .expect("valid");
    let fields = &config.servers["crm"].fields.0;
    let got: Vec<(Option<&str>, &str, &str)> = fields
        .iter()
        .map(|d| (d.tool.as_deref(), d.path.as_str(), d.kind.as_str()))
        .collect();
    assert!(got.contains(&(None, "leads[].owner", "NAME")), "{got:?}");
    assert!(
        got.contains(&(Some("getLead"), "assistant", "PHONE")),
        "{got:?}"
    );
}

#[test]
fn field_declaration_with_unknown_kind_names_file_line_and_the_kinds() {
    let err = parse(
        "[servers.crm]\ncommand = \"crm-server\"\n[servers.crm.fields.getLead]\n\"owner\" = \"NAEM\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("sluice.toml:4:"), "{err}");
    assert!(
        err.contains("[servers.crm.fields.getLead] \"owner\" = \"NAEM\": unknown kind (did you mean \"NAME\"?)"),
        "{err}"
    );
}

#[test]
fn field_declaration_with_bad_path_names_file_line_and_why() {
    let err = parse(
        "[servers.crm]\ncommand = \"crm-server\"\n\n[servers.crm.fields]\n\"leads[.owner\" = \"NAME\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("sluice.toml:5:"), "{err}");
    assert!(
        err.contains("[servers.crm.fields] \"leads[.owner\""),
        "{err}"
    );
}

#[test]
fn field_declaration_may_use_a_custom_kind() {
    let config = parse(
        "[[detectors.custom]]\nkind = \"ACCOUNT_NO\"\nregex = \"AC-[0-9]{6}\"\n\
         [servers.crm]\ncommand = \"crm-server\"\n[servers.crm.fields]\n\"acct\" = \"ACCOUNT_NO\"\n",
    );
    assert!(config.is_ok(), "{:?}", config.err());
}

#[test]
fn detectors_enable_turns_on_optional_kinds_and_rejects_others_with_the_line() {
    let config = parse("[detectors]\nenable = [\"IBAN\", \"SECRET\"]\n").expect("valid");
    assert_eq!(config.detectors.enable, ["IBAN", "SECRET"]);
    let err = parse("[detectors]\nregions = [\"US\"]\nenable = [\"IBNA\"]\n")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("sluice.toml:3:"), "{err}");
    assert!(err.contains("(did you mean \"IBAN\"?)"), "{err}");
    let err = parse("[detectors]\nenable = [\"NAME\"]\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("NAME is always on"), "{err}");
}
