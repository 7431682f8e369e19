//! Leak suite (invariant 1): adversarial tool results go through `execute`, and no raw
//! value of a detected kind reaches the outcome.
//!
//! The backend is the fault server's `echo`, which returns whatever it is given. The program
//! returns every string of the result *reversed*: the final outcome scan cannot recognise a
//! reversed email, so only tokenization at ingress keeps the value out. The test looks for
//! the raw value both as written and reversed.

use serde_json::{Value, json};

use crate::support::{example_bin, exec};

const EMAIL: &str = "amelia.hartley@northwind-logistics.co.uk";
const PHONE: &str = "+44 20 7946 0958";
const NAME: &str = "Amelia Hartley";

fn config() -> String {
    format!(
        "[servers.fault]\ncommand = {:?}\ntrust = \"internal\"\n",
        example_bin("fault-server").to_str().expect("path")
    )
}

const REVERSE: &str = r#"const rev = (v) => typeof v === "string" ? [...v].reverse().join("")
  : Array.isArray(v) ? v.map(rev)
  : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [rev(k), rev(x)]))
  : v;"#;

fn reversed(s: &str) -> String {
    s.chars().rev().collect()
}

/// Runs `payload` through echo and returns the outcome (as text) after checking it.
fn echo_outcome(payload: &Value) -> String {
    let program = format!(
        "{REVERSE}\nconst r = await tools.fault.echo({payload});\nconsole.log(JSON.stringify(rev(r)));\nreturn rev(r);"
    );
    let out = exec(&config(), &program);
    assert_eq!(out["error"], Value::Null, "{out}");
    out.to_string()
}

fn assert_clean(outcome: &str, raws: &[&str], case: &str) {
    for raw in raws {
        for form in [raw.to_string(), reversed(raw)] {
            assert!(
                !outcome.contains(&form),
                "{case}: {form:?} reached the outcome: {outcome}"
            );
        }
    }
}

#[test]
fn nested_fields_keys_and_arrays() {
    let payload = json!({
        "lead": { "contact": { "email": EMAIL, "phone": PHONE }, "owner": NAME },
        "by_email": { EMAIL: { "name": NAME } },
        "list": [[["deep", EMAIL]], { "x": [PHONE] }],
    });
    assert_clean(&echo_outcome(&payload), &[EMAIL, PHONE, NAME], "nested");
}

#[test]
fn json_escaped_and_url_encoded_forms() {
    let inner = json!({ "email": EMAIL, "name": NAME }).to_string();
    let payload = json!({
        "blob": inner,
        "twice": serde_json::to_string(&inner).expect("json"),
        "link": "https://crm.example/lead?contact=amelia.hartley%40northwind-logistics.co.uk&x=1",
        "mailto": format!("mailto:{EMAIL}?subject=hi"),
    });
    let outcome = echo_outcome(&payload);
    assert_clean(
        &outcome,
        &[EMAIL, "amelia.hartley%40northwind-logistics.co.uk", NAME],
        "escaped",
    );
}

#[test]
fn invisible_characters_and_lookalikes_do_not_hide_an_address() {
    let payload = json!({
        "zw": "ame\u{200B}lia.hartley@northwind-logistics.co.uk",
        "fullwidth": "amelia.hartley\u{FF20}northwind-logistics.co.uk",
        "soft_hyphen": "amelia.hart\u{00AD}ley@northwind-logistics.co.uk",
    });
    let outcome = echo_outcome(&payload);
    assert_clean(
        &outcome,
        &[
            EMAIL,
            "hartley@northwind-logistics",
            "lia.hartley",
            "hartley\u{FF20}northwind",
        ],
        "lookalikes",
    );
}

#[test]
fn a_value_at_the_end_of_a_very_long_string() {
    // ~720 KB built in the program (the program itself must stay small); the reversed
    // head of the result is where the values were.
    let program = format!(
        "{REVERSE}\nconst text = \"lorem ipsum \".repeat(60000) + \" {EMAIL} and {PHONE}\";\nconst r = await tools.fault.echo({{ text }});\nreturn [r.text.length > 700000, rev(r.text).slice(0, 300)];"
    );
    let out = exec(&config(), &program);
    assert_eq!(out["error"], Value::Null, "{out}");
    assert_eq!(out["result"][0], true, "{out}");
    assert_clean(&out.to_string(), &[EMAIL, PHONE], "long string");
}

#[test]
fn values_inside_backend_error_messages() {
    let dir = tempfile::tempdir().expect("dir");
    let config = format!(
        "{}[servers.crm]\ncommand = {:?}\nargs = [\"--db\", {:?}]\ntrust = \"internal\"\n",
        config(),
        example_bin("crm-server").to_str().expect("path"),
        dir.path().join("crm").to_str().expect("path"),
    );
    let program = format!(
        "{REVERSE}\ntry {{ await tools.crm.getLead({{ id: {EMAIL:?} }}); return \"no error\"; }} catch (e) {{ return rev(e.message); }}"
    );
    let out = exec(&config, &program);
    assert_eq!(out["error"], Value::Null, "{out}");
    let text = out.to_string();
    assert_ne!(out["result"], "no error");
    assert_clean(&text, &[EMAIL], "error message");
}
