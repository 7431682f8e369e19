//! The MCP Skills extension (SEP-2640, `io.modelcontextprotocol/skills`): the saved skills
//! of the session's agent as `skills/list` and `skills/get` entries, each one file — its
//! `SKILL.md` — served by `resources/read`. `tools/list` is unchanged. The broker lists
//! and scans the manifests; this module only shapes them.

use rmcp::ErrorData;
use rmcp::model::{
    GetSkillResult, ListSkillsResult, ReadResourceResult, ResourceContents, Skill,
    SkillFrontmatter, SkillResource, SkillResources,
};

/// The URI of a skill's `SKILL.md`.
fn uri(name: &str) -> String {
    format!("skill://sluice/{name}/SKILL.md")
}

fn entry(name: &str, description: &str, manifest: &str) -> Skill {
    let uri = uri(name);
    Skill::new(
        uri.clone(),
        SkillFrontmatter::new(name, description),
        SkillResources::Files(vec![SkillResource::from_bytes(uri, manifest.as_bytes())]),
    )
}

/// `skills/list` over the broker's `(name, description, manifest)` triples.
pub(super) fn list(manifests: &[(String, String, String)]) -> ListSkillsResult {
    ListSkillsResult::with_all_items(
        manifests
            .iter()
            .map(|(name, description, manifest)| entry(name, description, manifest))
            .collect(),
    )
}

/// `skills/get` of `requested` (a `SKILL.md` URI).
pub(super) fn get(
    manifests: &[(String, String, String)],
    requested: &str,
) -> Result<GetSkillResult, ErrorData> {
    manifests
        .iter()
        .find(|(name, _, _)| uri(name) == requested)
        .map(|(name, description, manifest)| {
            GetSkillResult::new(entry(name, description, manifest))
        })
        .ok_or_else(|| not_found(requested))
}

/// `resources/read` of `requested`: the `SKILL.md` text.
pub(super) fn read(
    manifests: &[(String, String, String)],
    requested: &str,
) -> Result<ReadResourceResult, ErrorData> {
    manifests
        .iter()
        .find(|(name, _, _)| uri(name) == requested)
        .map(|(_, _, manifest)| {
            ReadResourceResult::new(vec![
                ResourceContents::text(manifest.clone(), requested).with_mime_type("text/markdown"),
            ])
        })
        .ok_or_else(|| not_found(requested))
}

fn not_found(requested: &str) -> ErrorData {
    let shown: String = requested.chars().take(200).collect();
    ErrorData::invalid_params(
        format!(
            "no saved skill at {shown:?}; list them with skills/list (URIs look like skill://sluice/NAME/SKILL.md)"
        ),
        None,
    )
}
