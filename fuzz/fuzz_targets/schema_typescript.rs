//! The JSON-Schema-to-TypeScript generator behind `search`, fed backend `tools/list` data.
//!
//! The input is JSON: either `{"server": "...", "tools": [Tool, ...]}` (tools as a backend
//! lists them over MCP) or a bare object, used as one tool's `inputSchema` and
//! `outputSchema`. Properties, at every detail level:
//! - rendering never panics and stays small: at most 64 KiB plus four times the input per
//!   tool, however deep, wide or `$ref`-recursive the schema;
//! - the output is valid TypeScript (it parses as a declaration file with oxc), as the
//!   catalog promises.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxc::allocator::Allocator;
use oxc::parser::Parser;
use oxc::span::SourceType;
use rmcp::model::Tool;
use serde_json::{Map, Value};
use sluice::catalog::{Catalog, Detail};

fn tool_from_schema(schema: Map<String, Value>) -> Tool {
    let mut tool = Tool::new("getRows", "Reads rows.", schema.clone());
    tool.output_schema = Some(std::sync::Arc::new(schema));
    tool
}

fn assert_typescript(text: &str, detail: Detail) {
    let allocator = Allocator::default();
    let ret = Parser::new(&allocator, text, SourceType::d_ts()).parse();
    assert!(
        !ret.diagnostics.has_errors() && !ret.panicked,
        "invalid TypeScript at {detail}: {:?}\n{text}",
        ret.diagnostics
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Object(input)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let (server, tools) = match (input.get("server"), input.get("tools")) {
        (Some(Value::String(server)), Some(Value::Array(tools))) => (
            server.clone(),
            tools
                .iter()
                .filter_map(|t| serde_json::from_value::<Tool>(t.clone()).ok())
                .collect::<Vec<_>>(),
        ),
        _ => ("crm".to_owned(), vec![tool_from_schema(input)]),
    };
    let count = tools.len();
    let catalog = Catalog::from_servers([(server, tools)]);
    let bound = count.max(1) * (64 * 1024 + 4 * data.len());
    for detail in Detail::ALL {
        let text = catalog.render(detail);
        assert!(
            text.len() <= bound,
            "{detail}: {} bytes of TypeScript from {} bytes of input",
            text.len(),
            data.len()
        );
        if detail == Detail::Names {
            // Accessor lines: each is a JavaScript expression.
            let allocator = Allocator::default();
            let ret = Parser::new(&allocator, &text, SourceType::ts()).parse();
            assert!(
                !ret.diagnostics.has_errors(),
                "invalid accessors {:?}\n{text}",
                ret.diagnostics
            );
        } else {
            assert_typescript(&text, detail);
        }
        for hit in catalog.search("rows", detail, 3) {
            assert!(hit.rendered.len() <= 64 * 1024 + 4 * data.len());
        }
    }
});
