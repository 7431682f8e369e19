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
    transpile(code, options(), "agent.ts").map(Cow::Owned)
}

/// A skill module made runnable: the body of a function that returns the module's default
/// export, and the TypeScript of its signature as written (for `search`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedModule {
    /// JavaScript to evaluate as a function body; it returns the default export.
    pub js: String,
    /// The type of the one parameter as written (`unknown` when untyped or absent).
    pub param_type: String,
    /// The declared return type as written (`Promise<unknown>` when absent).
    pub return_type: String,
    /// The module's own type aliases and interfaces, as written, that the signature names.
    pub types: Vec<String>,
}

/// Deepest bracket nesting a skill module may have: the parser, the type stripper and the
/// printer all recurse per level, and a module is checked on the host.
pub const MAX_MODULE_NESTING: usize = 256;

/// The binding the default export is held in inside a prepared module.
const DEFAULT_BINDING: &str = "__sluice_default";

/// Checks `code` as a JavaScript or TypeScript module whose default export is a function of
/// at most one argument, strips its types and turns it into a function body that returns
/// that default export (the guest has no module loader). A module may declare helpers; it
/// may not import anything or export anything but its default.
pub fn prepare_module(code: &str) -> Result<PreparedModule, SyntaxError> {
    use oxc::ast::ast::{ExportDefaultDeclarationKind, Statement};
    use oxc::span::GetSpan;

    let refuse = |offset: u32, message: &str| {
        let (line, column) = line_column(code, offset as usize);
        SyntaxError {
            line,
            column,
            message: message.to_owned(),
        }
    };
    // Counted over the raw text (brackets in strings and comments too), so it can only
    // refuse more than it must, never less.
    let mut depth = 0usize;
    for (at, byte) in code.bytes().enumerate() {
        match byte {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_MODULE_NESTING {
                    return Err(refuse(
                        at as u32,
                        &format!(
                            "the module nests brackets more than {MAX_MODULE_NESTING} deep; flatten it"
                        ),
                    ));
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, code, SourceType::ts()).parse();
    if let Some(first) = parsed.diagnostics.first() {
        return Err(locate(code, first));
    }
    let text = |span: oxc::span::Span| code[span.start as usize..span.end as usize].to_owned();
    let mut signature = None;
    let mut declared = Vec::new();
    for statement in &parsed.program.body {
        match statement {
            Statement::TSTypeAliasDeclaration(alias) => {
                declared.push((alias.id.name.to_string(), text(alias.span)));
            }
            Statement::TSInterfaceDeclaration(interface) => {
                declared.push((interface.id.name.to_string(), text(interface.span)));
            }
            Statement::ImportDeclaration(import) => {
                return Err(refuse(
                    import.span.start,
                    "a skill cannot import modules (the sandbox has none); use the tools, workspace and skills globals",
                ));
            }
            Statement::ExportNamedDeclaration(export) => {
                return Err(refuse(
                    export.span.start,
                    "a skill exports only its default function; declare helpers without `export`",
                ));
            }
            Statement::ExportAllDeclaration(export) => {
                return Err(refuse(
                    export.span.start,
                    "a skill exports only its default function",
                ));
            }
            Statement::ExportDefaultDeclaration(export) => {
                let (params, returns) = match &export.declaration {
                    ExportDefaultDeclarationKind::FunctionDeclaration(f) => {
                        (&f.params, f.return_type.as_ref())
                    }
                    ExportDefaultDeclarationKind::FunctionExpression(f) => {
                        (&f.params, f.return_type.as_ref())
                    }
                    ExportDefaultDeclarationKind::ArrowFunctionExpression(f) => {
                        (&f.params, f.return_type.as_ref())
                    }
                    _ => {
                        return Err(refuse(
                            export.span.start,
                            "the default export must be a function of one argument, e.g. `export default async function syncLead(args) { … }`",
                        ));
                    }
                };
                if params.items.len() > 1 || params.rest.is_some() {
                    return Err(refuse(
                        params.span.start,
                        "the default export takes one argument (an object); put every input in it",
                    ));
                }
                let param_type = params
                    .items
                    .first()
                    .and_then(|p| p.type_annotation.as_ref())
                    .map_or_else(|| "unknown".to_owned(), |t| text(t.type_annotation.span()));
                let return_type = returns.map_or_else(
                    || "Promise<unknown>".to_owned(),
                    |t| text(t.type_annotation.span()),
                );
                signature = Some((param_type, return_type));
            }
            _ => {}
        }
    }
    let Some((param_type, return_type)) = signature else {
        return Err(refuse(
            0,
            "the module has no default export; write `export default async function name(args) { … }`",
        ));
    };
    drop(parsed);
    let names_type = |name: &str| {
        [&param_type, &return_type].iter().any(|t| {
            t.match_indices(name).any(|(at, _)| {
                let before = t[..at].chars().next_back();
                let after = t[at + name.len()..].chars().next();
                let ident = |c: Option<char>| {
                    c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
                };
                !ident(before) && !ident(after)
            })
        })
    };
    let types = declared
        .into_iter()
        .filter(|(name, _)| names_type(name))
        .map(|(_, text)| text)
        .collect();
    let js = strip_types(code)?;
    // Splice on the printed JavaScript: the default export becomes a binding, returned last
    // (so helpers declared after it are initialized before the skill runs).
    let allocator = Allocator::default();
    let printed = Parser::new(&allocator, &js, SourceType::mjs()).parse();
    if let Some(first) = printed.diagnostics.first() {
        return Err(locate(&js, first));
    }
    for statement in &printed.program.body {
        if let Statement::ExportDefaultDeclaration(export) = statement {
            let declaration = export.declaration.span();
            let mut body = String::with_capacity(js.len() + 64);
            body.push_str(&js[..export.span.start as usize]);
            body.push_str("const ");
            body.push_str(DEFAULT_BINDING);
            body.push_str(" = (");
            body.push_str(&js[declaration.start as usize..declaration.end as usize]);
            body.push_str(");");
            body.push_str(&js[export.span.end as usize..]);
            body.push_str("\nreturn ");
            body.push_str(DEFAULT_BINDING);
            body.push(';');
            return Ok(PreparedModule {
                js: body,
                param_type,
                return_type,
                types,
            });
        }
    }
    Err(refuse(
        0,
        "the module's default export was lost while stripping its types",
    ))
}

/// Strips TypeScript from a module (JavaScript passes through re-printed).
fn strip_types(code: &str) -> Result<String, SyntaxError> {
    transpile(code, ParseOptions::default(), "skill.ts")
}

/// Parses `code` as TypeScript with `parse` options and prints it back as JavaScript, its
/// types stripped (`name` is the file name the transformer is told).
fn transpile(code: &str, parse: ParseOptions, name: &str) -> Result<String, SyntaxError> {
    let allocator = Allocator::default();
    let ts = Parser::new(&allocator, code, SourceType::ts())
        .with_options(parse)
        .parse();
    if let Some(first) = ts.diagnostics.first() {
        return Err(locate(code, first));
    }
    let mut program = ts.program;
    let scoping = SemanticBuilder::new()
        .build(&program)
        .semantic
        .into_scoping();
    let transformed = Transformer::new(&allocator, Path::new(name), &TransformOptions::default())
        .build_with_scoping(scoping, &mut program);
    if let Some(first) = transformed.diagnostics.first() {
        return Err(locate(code, first));
    }
    Ok(Codegen::new()
        .with_options(CodegenOptions::default())
        .build(&program)
        .code)
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
    fn a_typescript_skill_module_becomes_a_body_returning_its_default_export() {
        let code = "type Args = { id: string };\nexport default async function syncLead(args: Args): Promise<number> {\n  return helper(args.id);\n}\nconst helper = (id: string) => id.length;\n";
        let module = prepare_module(code).expect("valid module");
        assert_eq!(module.param_type, "Args");
        assert_eq!(module.return_type, "Promise<number>");
        assert_eq!(module.types, vec!["type Args = { id: string };".to_owned()]);
        assert!(!module.js.contains("export"), "{}", module.js);
        assert!(!module.js.contains(": Args"), "{}", module.js);
        assert!(
            module.js.trim_end().ends_with("return __sluice_default;"),
            "{}",
            module.js
        );
    }

    #[test]
    fn a_skill_module_without_a_function_default_export_is_refused() {
        assert!(prepare_module("const a = 1;").is_err());
        assert!(prepare_module("export default 42;").is_err());
        assert!(prepare_module("import x from 'y';\nexport default async () => x;").is_err());
        assert!(prepare_module("export default async (a, b) => a + b;").is_err());
        assert!(prepare_module("export default async (a) => {").is_err());
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        assert_eq!(line_column("é = ;", 4), (1, 4));
    }
}
