//! Lower-cases the name dictionary's word lists at build time (`OUT_DIR/*.lower`), so the
//! dictionary built at run time (`name::build_dict`) borrows its keys from the binary
//! instead of allocating 45,000 lower-cased strings in every process that meets a
//! capitalized word. The source lists stay as their sources spell them (data/README.md).

use std::path::Path;

fn main() {
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    for name in [
        "given",
        "surnames",
        "ambiguous",
        "common_words",
        "given_wide",
        "surnames_wide",
    ] {
        let source = Path::new("data").join(format!("{name}.txt"));
        println!("cargo:rerun-if-changed={}", source.display());
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", source.display()));
        // The same lower-casing `name::build_dict` applies to every word it adds.
        let mut words: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        if name.ends_with("_wide") {
            // The wide lists are searched, not loaded (`name::in_sorted_lines`): byte order.
            words.sort_unstable();
            words.dedup();
        }
        let mut lower = String::with_capacity(text.len());
        for word in words {
            lower.push_str(&word);
            lower.push('\n');
        }
        let target = Path::new(&out).join(format!("{name}.lower"));
        std::fs::write(&target, lower)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", target.display()));
    }
    println!("cargo:rerun-if-changed=build.rs");
}
