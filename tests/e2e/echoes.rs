//! Echoes of restored values (invariant 1, issue 13.1): a value Sluice restored toward an
//! allowed internal backend, echoed back in a form the detectors miss — glued to other
//! text, reformatted, quoted in an error — comes back as the placeholder it already has,
//! never raw.

use serde_json::Value;

use crate::support::{example_bin, exec};

const EMAIL: &str = "amelia.hartley@northwind-logistics.co.uk";
const NAME: &str = "Amelia Hartley";
const PHONE: &str = "+44 20 7946 0958";

/// sheets (the source of the values) and the fault server (echo, squash, fail), both
/// internal, so the default policies let contact data flow to the fault server.
fn config() -> String {
    config_text()
}

fn config_text() -> String {
    format!(
        "[servers.sheets]\ncommand = {:?}\ntrust = \"internal\"\n\n\
         [servers.fault]\ncommand = {:?}\ntrust = \"internal\"\n",
        example_bin("sheets-server").to_str().expect("path"),
        example_bin("fault-server").to_str().expect("path"),
    )
}

/// Every form of the raw values an echo could carry.
fn raw_forms() -> Vec<String> {
    let mut forms = Vec::new();
    for raw in [EMAIL, NAME, PHONE] {
        forms.push(raw.to_owned());
        forms.push(raw.to_uppercase());
        forms.push(raw.replace(' ', ""));
        forms.push(raw.replace(' ', "").to_uppercase());
    }
    forms.push("Hartleyzz".into());
    forms.push("7946".into());
    forms
}

#[test]
fn echoes_of_restored_values_come_back_as_their_placeholders() {
    let program = r#"
      const row = await tools.sheets.getRow({ sheet: "q4-leads", id: "L-001" });
      const glued = { note: "zz" + row.name + "zz", key: "id=" + row.email + "zz", tel: "ref" + row.phone + "x" };
      const echoed = await tools.fault.echo(glued);
      const squashed = await tools.fault.squash(glued);
      let error = null;
      try { await tools.fault.fail({ message: `no lead with id "${row.name} & Co" (${row.email}z)` }); }
      catch (e) { error = e.message; }
      return { row, glued, echoed, squashed, error };"#;
    let out = exec(&config(), program);
    assert_eq!(out["error"], Value::Null, "{out}");
    let text = out.to_string();
    for form in raw_forms() {
        assert!(
            !text.contains(&form),
            "{form:?} reached the outcome: {text}"
        );
    }
    let result = &out["result"];
    let name = result["row"]["name"].as_str().expect("name placeholder");
    let email = result["row"]["email"].as_str().expect("email placeholder");
    assert!(
        name.starts_with("[NAME_") && email.starts_with("[EMAIL_"),
        "{result}"
    );
    // The echo comes back exactly as the program sent it: the same placeholders.
    assert_eq!(result["echoed"], result["glued"], "{result}");
    let squashed = result["squashed"]["note"].as_str().expect("note");
    assert!(squashed.contains(name), "{squashed}");
    let error = result["error"].as_str().expect("error message");
    assert!(
        error.contains(&format!("\"{name} & Co\"")) && error.contains(email),
        "{error}"
    );
}

#[test]
fn no_log_line_at_any_level_carries_a_raw_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sluice.toml");
    std::fs::write(&config, config_text()).expect("config");
    let program = r#"
      const row = await tools.sheets.getRow({ sheet: "q4-leads", id: "L-001" });
      await tools.fault.stderr({ message: "handled " + row.email + " for " + row.name + ", " + row.phone });
      await tools.fault.echo({ note: row.email });
      return 1;"#;
    for level in ["info", "debug", "trace"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["exec", "--config", config.to_str().expect("path"), "-"])
            .current_dir(dir.path())
            .env("SLUICE_LOG", level)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(program.as_bytes())?;
                child.wait_with_output()
            })
            .expect("sluice exec");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{level}: {stderr}");
        assert!(
            stderr.contains("handled [EMAIL]"),
            "{level}: the backend's line is relayed, scrubbed: {stderr}"
        );
        for raw in [EMAIL, PHONE, NAME] {
            assert!(
                !stderr.contains(raw),
                "{level}: {raw} is in the log:\n{stderr}"
            );
        }
    }
}
