use std::sync::LazyLock;
use std::time::Instant;

use rmcp::model::{JsonObject, Tool};
use serde_json::{Value, json};

use super::*;

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

fn tool(name: &str, description: &str, input: Value) -> Tool {
    Tool::new(name.to_string(), description.to_string(), object(input))
}

fn catalog(server: &str, tools: Vec<Tool>) -> Catalog {
    Catalog::from_servers([(server.to_string(), tools)])
}

/// The full-detail declaration of a one-tool catalog whose input schema is `input`.
fn full(input: Value) -> String {
    catalog("t", vec![tool("f", "Doc.", input)]).render(Detail::Full)
}

/// The compact (signature) declaration of a one-tool catalog whose input schema is `input`.
fn compact(input: Value) -> String {
    catalog("t", vec![tool("f", "Doc.", input)]).render(Detail::Signatures)
}

fn update_lead() -> Tool {
    tool(
        "updateLead",
        "Update a lead.\nOnly the given fields change.",
        json!({
            "type": "object",
            "properties": {
                "id": {"type": "string", "description": "Lead ID."},
                "email": {"type": "string", "format": "email", "description": "New email."},
                "tags": {"type": "array", "items": {"type": "string"}, "default": []}
            },
            "required": ["id"]
        }),
    )
    .with_raw_output_schema(Arc::new(object(json!({
        "type": "object",
        "properties": {"ok": {"type": "boolean"}, "lead": {"$ref": "#/$defs/Lead"}},
        "required": ["ok"],
        "$defs": {"Lead": {"type": "object", "properties": {"id": {"type": "string"}}}}
    }))))
}

#[test]
fn signatures_show_required_and_optional_arguments_and_return_type() {
    let text = catalog("crm", vec![update_lead()]).render(Detail::Signatures);
    assert_eq!(
        text,
        "declare namespace tools.crm {\n  /** Update a lead. */\n  function updateLead(args: { id: string; email?: string; tags?: string[] }): Promise<{ ok: boolean; lead?: { id?: string } }>;\n}\n"
    );
}

#[test]
fn full_documents_every_field_with_defaults_and_formats() {
    let text = catalog("crm", vec![update_lead()]).render(Detail::Full);
    assert!(
        text.contains("  /**\n   * Update a lead.\n   * Only the given fields change.\n   */\n"),
        "{text}"
    );
    assert!(
        text.contains("    /** Lead ID. */\n    id: string;\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "    /**\n     * New email.\n     * @format email\n     */\n    email?: string;\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("    /** @default [] */\n    tags?: string[];\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "): Promise<{\n    ok: boolean;\n    lead?: {\n      id?: string;\n    };\n  }>;\n"
        ),
        "{text}"
    );
}

#[test]
fn names_list_only_accessors() {
    let text = catalog(
        "crm",
        vec![update_lead(), tool("getLead", "Get.", json!({}))],
    )
    .render(Detail::Names);
    assert_eq!(text, "tools.crm.updateLead\ntools.crm.getLead\n");
}

#[test]
fn detail_levels_grow_from_names_to_full() {
    let catalog = catalog("crm", vec![update_lead()]);
    let [names, signatures, full] = Detail::ALL.map(|detail| catalog.estimate(detail).bytes);
    assert!(
        names < signatures && signatures < full,
        "{names} {signatures} {full}"
    );
    assert!(!catalog.render(Detail::Signatures).contains("Lead ID."));
    assert!(catalog.render(Detail::Full).contains("Lead ID."));
}

#[test]
fn accessors_quote_names_that_are_not_identifiers() {
    let catalog = Catalog::from_servers([
        (
            "my-server".to_string(),
            vec![tool("tool-name", "Dashed.", json!({}))],
        ),
        (
            "crm".to_string(),
            vec![
                tool("delete", "Reserved.", json!({})),
                tool("x", "X.", json!({})),
            ],
        ),
        (
            "ok".to_string(),
            vec![tool("get_rows2", "Fine.", json!({}))],
        ),
    ]);
    let accessors: Vec<&str> = catalog.entries().iter().map(Entry::accessor).collect();
    assert_eq!(
        accessors,
        [
            "tools[\"my-server\"][\"tool-name\"]",
            "tools.crm.delete",
            "tools.crm.x",
            "tools.ok.get_rows2"
        ]
    );
    let text = catalog.render(Detail::Signatures);
    assert!(text.contains("interface Tools {\n  \"my-server\": {\n    /** Dashed. */\n    \"tool-name\"(args?: unknown): Promise<unknown>;\n  };\n}\n"), "{text}");
    // `delete` cannot be a function name, so the whole server switches to the interface form.
    assert!(
        text.contains("interface Tools {\n  crm: {\n    /** Reserved. */\n    delete(args?"),
        "{text}"
    );
    assert!(
        text.contains("declare namespace tools.ok {\n  /** Fine. */\n  function get_rows2("),
        "{text}"
    );
}

#[test]
fn property_names_that_are_not_identifiers_are_quoted() {
    let text = compact(
        json!({"properties": {"first-name": {"type": "string"}, "2fa": {"type": "boolean"}, "ok_1": {"type": "number"}}}),
    );
    assert!(
        text.contains("(args?: { \"first-name\"?: string; \"2fa\"?: boolean; ok_1?: number })"),
        "{text}"
    );
}

#[test]
fn enums_and_consts_become_literal_unions() {
    let text = compact(json!({"properties": {
        "status": {"type": "string", "enum": ["open", "won", "it's \"quoted\""]},
        "level": {"enum": [1, 2.5, -3]},
        "mixed": {"enum": ["a", 1, true, null]},
        "kind": {"const": "lead"}
    }}));
    assert!(
        text.contains("status?: \"open\" | \"won\" | \"it's \\\"quoted\\\"\""),
        "{text}"
    );
    assert!(text.contains("level?: 1 | 2.5 | -3"), "{text}");
    assert!(text.contains("mixed?: \"a\" | 1 | true | null"), "{text}");
    assert!(text.contains("kind?: \"lead\""), "{text}");
}

#[test]
fn nullable_and_type_arrays_become_unions() {
    let text = compact(json!({"properties": {
        "a": {"type": ["string", "null"]},
        "b": {"type": "integer", "nullable": true},
        "c": {"type": "array", "items": {"type": ["string", "number"]}}
    }}));
    assert!(text.contains("a?: string | null"), "{text}");
    assert!(text.contains("b?: number | null"), "{text}");
    assert!(text.contains("c?: (string | number)[]"), "{text}");
}

#[test]
fn any_of_one_of_and_all_of_become_unions_and_intersections() {
    let text = compact(json!({"properties": {
        "u": {"anyOf": [{"type": "string"}, {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}]},
        "o": {"oneOf": [{"const": "x"}, {"const": "y"}]},
        "i": {"allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}},
            {"anyOf": [{"type": "object", "properties": {"b": {"type": "number"}}}, {"type": "null"}]}
        ]}
    }}));
    assert!(text.contains("u?: string | { id: string }"), "{text}");
    assert!(text.contains("o?: \"x\" | \"y\""), "{text}");
    assert!(
        text.contains("i?: { a?: string } & ({ b?: number } | null)"),
        "{text}"
    );
}

#[test]
fn tuples_nested_objects_and_additional_properties() {
    let text = compact(json!({"properties": {
        "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}], "items": false},
        "old": {"type": "array", "items": [{"type": "boolean"}], "additionalItems": {"type": "string"}},
        "any": {"type": "array"},
        "map": {"type": "object", "additionalProperties": {"type": "integer"}},
        "open": {"type": "object", "properties": {"x": {"type": "string"}}, "additionalProperties": true},
        "closed": {"type": "object", "additionalProperties": false},
        "nest": {"type": "object", "properties": {"inner": {"type": "object", "properties": {"leaf": {"type": "string"}}}}}
    }}));
    assert!(text.contains("pair?: [string, number]"), "{text}");
    assert!(text.contains("old?: [boolean, ...string[]]"), "{text}");
    assert!(text.contains("any?: unknown[]"), "{text}");
    assert!(text.contains("map?: { [key: string]: number }"), "{text}");
    assert!(
        text.contains("open?: { x?: string; [key: string]: unknown }"),
        "{text}"
    );
    assert!(text.contains("closed?: {}"), "{text}");
    assert!(
        text.contains("nest?: { inner?: { leaf?: string } }"),
        "{text}"
    );
}

#[test]
fn local_refs_resolve_through_defs_and_definitions() {
    let text = compact(json!({
        "properties": {"a": {"$ref": "#/$defs/A"}, "b": {"$ref": "#/definitions/B"}, "c": {"$ref": "https://x/y"}, "d": {"$ref": "#/$defs/missing"}},
        "$defs": {"A": {"type": "string", "enum": ["x"]}},
        "definitions": {"B": {"type": "array", "items": {"$ref": "#/$defs/A"}}}
    }));
    assert!(
        text.contains("a?: \"x\"; b?: \"x\"[]; c?: unknown; d?: unknown"),
        "{text}"
    );
}

#[test]
fn recursive_refs_fall_back_to_unknown() {
    let text = full(json!({
        "properties": {"tree": {"$ref": "#/$defs/Node"}, "self": {"$ref": "#"}},
        "$defs": {"Node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}}
    }));
    assert!(text.contains("children?: unknown[];"), "{text}");
    assert!(text.contains("self?: {"), "{text}");
}

#[test]
fn docs_cannot_close_the_comment() {
    let text = full(
        json!({"properties": {"x": {"type": "string", "description": "evil */ declare const pwned: 1; /*", "default": "*/"}}}),
    );
    assert!(
        text.contains("evil *\\/ declare const pwned: 1; /*"),
        "{text}"
    );
    assert!(text.contains("@default \"*\\/\""), "{text}");
    assert_eq!(
        text.matches("*/").count(),
        text.matches("/**").count(),
        "{text}"
    );
}

#[test]
fn tools_without_output_schema_return_promise_unknown() {
    let text = compact(
        json!({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}),
    );
    assert!(
        text.contains("function f(args: { q: string }): Promise<unknown>;"),
        "{text}"
    );
}

#[test]
fn weird_schemas_render_as_unknown_without_panicking() {
    for input in [
        json!({"type": 7}),
        json!({"type": "object", "properties": "nope", "required": "id"}),
        json!({"type": ["object"], "properties": {"x": true, "y": false, "z": 12, "w": null}}),
        json!({"anyOf": [], "enum": "x", "items": [1, 2]}),
        json!({"$ref": 5, "allOf": {"a": 1}}),
        json!({"$ref": "#/properties/x/~1~0"}),
        json!({"$ref": "#"}),
    ] {
        let text = full(input.clone());
        assert!(text.contains("function f(args"), "{input}: {text}");
    }
    assert!(
        full(json!({"properties": {"y": false, "z": 12}})).contains("y?: never;\n    z?: unknown;")
    );
}

#[test]
fn deep_nesting_is_cut_off() {
    // Built and dropped on a big stack: serde_json's own drop of a 10k-deep value recurses.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            // Built by hand: `json!` would deep-copy the interpolated value at every level.
            let wrap = |inner: Value, kind: &str, key: &str| {
                let mut map = serde_json::Map::new();
                map.insert("type".into(), kind.into());
                if key == "properties" {
                    let mut properties = serde_json::Map::new();
                    properties.insert("x".into(), inner);
                    map.insert(key.into(), Value::Object(properties));
                } else {
                    map.insert(key.into(), inner);
                }
                Value::Object(map)
            };
            let mut schema = json!({"type": "string"});
            let mut arrays = json!({"type": "string"});
            for _ in 0..10_000 {
                schema = wrap(schema, "object", "properties");
                arrays = wrap(arrays, "array", "items");
            }
            let tools = vec![
                tool("deep", "Deep.", schema),
                tool("arrays", "Arrays.", arrays),
            ];
            let catalog = catalog("t", tools);
            for detail in Detail::ALL {
                let text = catalog.render(detail);
                assert!(text.len() < 100_000, "{}", text.len());
                assert!(detail == Detail::Names || text.contains("unknown"));
            }
        })
        .map(|thread| thread.join())
        .map_or_else(|error| panic!("{error}"), |joined| assert!(joined.is_ok()));
}

#[test]
fn ref_explosion_and_huge_schemas_are_bounded() {
    // Each level references the next twice: 2^30 expansions unless the budget stops it.
    let mut defs = serde_json::Map::new();
    for level in 0..30 {
        let next = format!("#/$defs/L{}", level + 1);
        defs.insert(
            format!("L{level}"),
            json!({"type": "object", "properties": {"a": {"$ref": next}, "b": {"$ref": next}}}),
        );
    }
    let refs = json!({"$ref": "#/$defs/L0", "$defs": defs});
    let wide: serde_json::Map<String, Value> = (0..50_000)
        .map(|i| {
            (
                format!("p{i}"),
                json!({"type": "string", "description": "x".repeat(50)}),
            )
        })
        .collect();
    let big_enum: Vec<Value> = (0..100_000).map(Value::from).collect();
    let started = Instant::now();
    for input in [
        refs,
        json!({"properties": wide}),
        json!({"properties": {"e": {"enum": big_enum}}}),
    ] {
        for detail in Detail::ALL {
            let text = catalog("t", vec![tool("f", "F.", input.clone())]).render(detail);
            assert!(text.len() < 200_000, "{}", text.len());
        }
    }
    // Bounded work finishes in well under a second on an idle machine; an unbounded
    // expansion (2^30 refs) would take hours. The margin is for a loaded CI machine.
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
}

#[test]
fn detail_parses_from_wire_names() {
    assert_eq!("full".parse::<Detail>().ok(), Some(Detail::Full));
    assert!("verbose".parse::<Detail>().is_err());
    assert_eq!(
        serde_json::from_value::<Detail>(json!("names")).ok(),
        Some(Detail::Names)
    );
}

static SYNTHETIC: LazyLock<Catalog> =
    LazyLock::new(|| Catalog::from_servers(synthetic::servers(1_500)));

fn top(query: &str) -> Vec<String> {
    SYNTHETIC
        .search(query, Detail::Names, 5)
        .iter()
        .map(|hit| format!("{}.{}", hit.entry.server(), hit.entry.name()))
        .collect()
}

#[test]
fn synthetic_catalog_is_large_and_spread() {
    assert!(
        SYNTHETIC.tool_count() >= 1_500,
        "{}",
        SYNTHETIC.tool_count()
    );
    let servers: std::collections::HashSet<&str> =
        SYNTHETIC.entries().iter().map(Entry::server).collect();
    assert!(servers.len() >= 50);
}

#[test]
fn obvious_tool_ranks_first() {
    for (query, expected) in [
        ("update a lead's email", "crm.updateLead"),
        ("post a message to chat", "chat.postMessage"),
        ("read rows from a spreadsheet", "sheets.getRows"),
        ("create github issue", "github.createIssue"),
        (
            "change an employee's email address",
            "hr.updateEmployeeEmail",
        ),
        ("send an email", "mail.sendEmail"),
        ("delete a lead", "crm.deleteLead"),
        ("set the status of a lead", "crm.updateLeadStatus"),
        ("move a jira ticket to done", "jira.transitionTicket"),
        ("open a pull request", "github.createPullRequest"),
        ("fetch the lead", "crm.getLead"),
        ("schedule a calendar meeting", "calendar.createEvent"),
    ] {
        let ranked = top(query);
        assert_eq!(
            ranked.first().map(String::as_str),
            Some(expected),
            "{query}: {ranked:?}"
        );
    }
}

#[test]
fn exact_tool_name_dominates() {
    assert_eq!(top("updateLeadStatus")[0], "crm.updateLeadStatus");
    assert_eq!(top("crm.getLead")[0], "crm.getLead");
    assert_eq!(top("teams.postMessage")[0], "teams.postMessage");
    assert_eq!(
        top("postMessage")[..2],
        ["chat.postMessage", "teams.postMessage"]
    );
}

#[test]
fn search_renders_hits_at_the_requested_detail() {
    let hits = SYNTHETIC.search("update lead email", Detail::Signatures, 3);
    assert_eq!(hits.len(), 3);
    assert!(hits.windows(2).all(|pair| pair[0].score >= pair[1].score));
    assert!(
        hits[0]
            .rendered
            .starts_with("declare namespace tools.crm {\n  /** Update a lead's fields"),
        "{}",
        hits[0].rendered
    );
    let grouped = render_hits(&hits, Detail::Signatures);
    assert!(
        grouped.starts_with("declare namespace tools.crm {"),
        "{grouped}"
    );
    assert!(SYNTHETIC.search("zzzz qqqq", Detail::Names, 5).is_empty());
    assert_eq!(SYNTHETIC.search("", Detail::Names, 4).len(), 4);
    assert!(SYNTHETIC.search("lead", Detail::Names, 0).is_empty());
}
