//! Program text before it enters the sandbox: syntax checking and TypeScript type stripping
//! (oxc), on the host, so errors point at the user's own lines and columns.
//!
//! Plain JavaScript is passed through byte for byte (so runtime stack traces keep the
//! user's line numbers); only programs that need TypeScript parsing are re-printed.

use std::borrow::Cow;
use std::path::Path;

use oxc::allocator::Allocator;
use oxc::codegen::{Codegen, CodegenOptions};
use oxc::diagnostics::OxcDiagnostic;
use oxc::parser::{ParseOptions, Parser};
use oxc::semantic::SemanticBuilder;
use oxc::span::SourceType;
use oxc::transformer::{TransformOptions, Transformer};

/// A program that failed to parse, located in the user's own text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The parser's explanation.
    pub message: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SyntaxError at line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

fn options() -> ParseOptions {
    ParseOptions {
        allow_return_outside_function: true,
        ..ParseOptions::default()
    }
}

/// Checks `code` (the body of an async function: top-level `await` and `return` allowed)
/// and returns JavaScript the guest can run.
pub fn prepare(code: &str) -> Result<Cow<'_, str>, SyntaxError> {
    let allocator = Allocator::default();
    let js = Parser::new(&allocator, code, SourceType::mjs())
        .with_options(options())
        .parse();
    if js.diagnostics.is_empty() && !js.panicked {
        return Ok(Cow::Borrowed(code));
    }
    drop(js);
    let allocator = Allocator::default();
    let ts = Parser::new(&allocator, code, SourceType::ts())
        .with_options(options())
        .parse();
    if let Some(first) = ts.diagnostics.first() {
        return Err(locate(code, first));
    }
    let mut program = ts.program;
    let scoping = SemanticBuilder::new()
        .build(&program)
        .semantic
        .into_scoping();
    let transformed = Transformer::new(
        &allocator,
        Path::new("agent.ts"),
        &TransformOptions::default(),
    )
    .build_with_scoping(scoping, &mut program);
    if let Some(first) = transformed.diagnostics.first() {
        return Err(locate(code, first));
    }
    let printed = Codegen::new()
        .with_options(CodegenOptions::default())
        .build(&program);
    Ok(Cow::Owned(printed.code))
}

fn locate(code: &str, diagnostic: &OxcDiagnostic) -> SyntaxError {
    let offset = diagnostic
        .labels
        .first()
        .map(|label| label.offset() as usize)
        .unwrap_or(0)
        .min(code.len());
    let (line, column) = line_column(code, offset);
    SyntaxError {
        line,
        column,
        message: diagnostic.message.to_string(),
    }
}

/// 1-based line and character column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_javascript_passes_through_unchanged() {
        let code = "const x = await tools.a.b({});\nreturn x;";
        assert!(matches!(prepare(code), Ok(Cow::Borrowed(c)) if c == code));
    }

    #[test]
    fn typescript_types_are_stripped() {
        let code = "interface Row { id: number }\nconst rows: Row[] = [{ id: 1 }];\nreturn rows.map((r: Row): number => r.id);";
        let js = prepare(code).expect("valid TypeScript");
        assert!(!js.contains("interface"), "{js}");
        assert!(!js.contains(": Row"), "{js}");
        assert!(js.contains("rows.map"), "{js}");
    }

    #[test]
    fn syntax_error_reports_the_users_line_and_column() {
        let err = prepare("const a = 1;\nconst b = ;\n").expect_err("invalid");
        assert_eq!((err.line, err.column), (2, 11), "{err}");
    }

    #[test]
    fn typescript_syntax_error_is_located() {
        let err = prepare("let x: number = 1;\nfunction f(a: string {\n}").expect_err("invalid");
        assert_eq!(err.line, 2, "{err}");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        assert_eq!(line_column("é = ;", 4), (1, 4));
    }
}
