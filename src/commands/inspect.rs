//! `pkg inspect`: what a package holds: its metadata, counts per kind and its
//! units with their space and labels. Owns [`InspectArgs`].

use std::collections::BTreeMap;

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use serde_json::Value;

use super::Context;
use crate::model::details::{map_field, str_field};
use crate::model::{RefField, Reference, ResourceKind};
use crate::package::read::OutsideRef;
use crate::progress::Progress;
use crate::signing;
use crate::ui::Table;

/// `pkg inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The package: a directory, an archive (.tar.gz, .tgz, .zip), an http(s) URL, a GitHub URL, github:OWNER/REPO/PATH@REF, or git+https://HOST/REPO.git//PATH@REF
    pub source: String,
    /// Add a column per label key (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "KEYS")]
    pub label_columns: Vec<String>,
}

#[derive(Debug, Serialize)]
struct UnitView {
    space: String,
    slug: String,
    toolchain: String,
    target: String,
    labels: BTreeMap<String, String>,
}

/// The package's signature as found, not verified (`pkg verify` does that).
#[derive(Debug, Serialize)]
struct SignatureView {
    /// The key ID the signature names.
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    /// Always false: inspect has no key to check it against.
    verified: bool,
    /// Why the signature file cannot be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

/// The signature beside the manifest in `dir`, if any.
fn signature_of(dir: &std::path::Path) -> Option<SignatureView> {
    match signing::claimed_signer(dir) {
        Ok(None) => None,
        Ok(Some(key_id)) => Some(SignatureView {
            key_id: Some(key_id),
            verified: false,
            problem: None,
        }),
        Err(e) => Some(SignatureView {
            key_id: None,
            verified: false,
            problem: Some(e.to_string()),
        }),
    }
}

#[derive(Debug, Serialize)]
struct InspectView {
    source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<String>,
    digest: String,
    name: Option<String>,
    version: Option<String>,
    description: Option<String>,
    created_at: Option<String>,
    format: Option<u64>,
    /// The lowest level that may read it.
    #[serde(skip_serializing_if = "Option::is_none")]
    min_level: Option<u8>,
    /// Package name → semver requirement.
    dependencies: BTreeMap<String, String>,
    /// The signature beside the manifest, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<SignatureView>,
    counts: BTreeMap<String, usize>,
    units: Vec<UnitView>,
    environments: Vec<crate::manifest::environment::Environment>,
    /// A database package's tables.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tables: Vec<crate::manifest::tables::TableEntry>,
    /// References into spaces the package does not contain.
    external: Vec<String>,
    /// References into its own spaces to resources it does not hold.
    dangling: Vec<String>,
}

/// `pkg inspect`.
pub fn run(ctx: &Context, args: &InspectArgs) -> Result<()> {
    let bar = ctx.progress();
    let opened = ctx.open_from(
        &args.source,
        super::source::OpenRequest {
            read_only: true,
            ..Default::default()
        },
        &bar,
    )?;
    let signature = signature_of(&opened.fetched.dir);
    let (package, origin, commit) = (
        opened.package,
        opened.fetched.origin.clone(),
        opened.fetched.commit.clone(),
    );
    bar.finish();
    let mut counts = BTreeMap::new();
    let mut units = Vec::new();
    for item in &package.items {
        *counts.entry(item.key.kind).or_insert(0) += 1;
        if item.key.kind == ResourceKind::Unit {
            let details: crate::model::Details =
                match serde_json::from_str(&package.read_details(item, &item.key.slug)?) {
                    Ok(Value::Object(map)) => map,
                    _ => crate::model::Details::new(),
                };
            units.push(UnitView {
                space: item.key.space.clone(),
                slug: item.key.slug.clone(),
                toolchain: str_field(&details, "ToolchainType").to_string(),
                target: item
                    .refs
                    .iter()
                    .find(|r| r.field == RefField::Target)
                    .map(Reference::manifest_value)
                    .unwrap_or_default(),
                labels: map_field(&details, "Labels")
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            });
        }
    }
    let m = &package.manifest;
    let view = InspectView {
        source: origin,
        commit,
        digest: package.digest.clone(),
        name: m.name.clone(),
        version: m.version.clone(),
        description: m.description.clone(),
        created_at: m.created_at.clone(),
        format: m.format,
        min_level: m.min_level,
        dependencies: m.dependencies.clone(),
        signature,
        counts: counts
            .iter()
            .map(|(k, v)| (k.plural().to_string(), *v))
            .collect(),
        units,
        environments: package.environments.clone(),
        tables: crate::manifest::tables::parse_tables(&m.tables).0,
        external: package.external_refs().map(OutsideRef::line).collect(),
        dangling: package.dangling_refs().map(OutsideRef::line).collect(),
    };
    ctx.printer.result(&view, || {
        let mut out = String::new();
        let title = match (&view.name, &view.version) {
            (Some(n), Some(v)) => format!("{n} {v}"),
            (Some(n), None) => n.clone(),
            _ => "(unnamed package: written by cub or without --name)".to_string(),
        };
        out.push_str(&format!(
            "Package: {}\n",
            crate::model::slug::escape(&title)
        ));
        if let Some(d) = &view.description {
            out.push_str(&format!("Description: {}\n", crate::model::slug::escape(d)));
        }
        if let Some(commit) = &view.commit {
            let label = if commit.starts_with("sha256:") {
                "Manifest"
            } else {
                "Commit"
            };
            out.push_str(&format!("Source: {}\n{label}: {commit}\n", view.source));
        }
        if !view.dependencies.is_empty() {
            let deps: Vec<String> = view
                .dependencies
                .iter()
                .map(|(n, r)| crate::model::slug::escape(&format!("{n} {r}")))
                .collect();
            out.push_str(&format!("Depends on: {}\n", deps.join(", ")));
        }
        if let Some(level) = view.min_level {
            out.push_str(&format!("Minimum level: {level}\n"));
        }
        match &view.signature {
            Some(SignatureView {
                key_id: Some(id), ..
            }) => out.push_str(&format!(
                "Signature: key {id} (not verified: `pkg verify {} --key PUBLIC` checks it)\n",
                crate::model::slug::escape(&args.source)
            )),
            Some(SignatureView {
                problem: Some(p), ..
            }) => out.push_str(&format!("Signature: unusable ({p})\n")),
            _ => {}
        }
        out.push_str(&format!("Digest: {}\n\n", view.digest));
        let mut kinds = Table::new(["KIND", "COUNT"]);
        for (kind, n) in &counts {
            kinds.row([kind.plural().to_string(), n.to_string()]);
        }
        out.push_str(&kinds.render());
        if !view.environments.is_empty() {
            out.push('\n');
            let mut envs = Table::new(["ENVIRONMENT", "BACKEND", "FILES"]);
            for env in &view.environments {
                let files: Vec<&str> = env.files.iter().map(|f| env.relative(f)).collect();
                envs.row([
                    crate::model::slug::escape(&env.name),
                    env.backend.clone(),
                    crate::model::slug::escape(&files.join(", ")),
                ]);
            }
            out.push_str(&envs.render());
        }
        if !view.tables.is_empty() {
            out.push('\n');
            let mut tables = Table::new(["TABLE", "ROWS", "PRIMARY KEY", "REFERENCES"]);
            for t in &view.tables {
                let refs: Vec<String> = t
                    .table
                    .foreign_keys
                    .iter()
                    .map(|fk| format!("({}) -> {}({})", fk.columns.join(","), fk.table, fk.references.join(",")))
                    .collect();
                tables.row([
                    crate::model::slug::escape(&t.table.name),
                    t.row_count.to_string(),
                    crate::model::slug::escape(&t.table.primary_key.join(",")),
                    crate::model::slug::escape(&refs.join(" ")),
                ]);
            }
            out.push_str(&tables.render());
        }
        if !view.units.is_empty() {
            out.push('\n');
            let mut header = vec!["SLUG".to_string(), "SPACE".to_string()];
            if args.label_columns.is_empty() {
                header.extend([
                    "TOOLCHAIN".to_string(),
                    "TARGET".to_string(),
                    "LABELS".to_string(),
                ]);
            } else {
                header.extend(args.label_columns.iter().map(|k| k.to_uppercase()));
            }
            let mut table = Table::new(header);
            for unit in &view.units {
                let mut row = vec![unit.slug.clone(), unit.space.clone()];
                if args.label_columns.is_empty() {
                    let labels: Vec<String> = unit
                        .labels
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    row.extend([
                        unit.toolchain.clone(),
                        unit.target.clone(),
                        labels.join(","),
                    ]);
                } else {
                    row.extend(
                        args.label_columns
                            .iter()
                            .map(|k| unit.labels.get(k).cloned().unwrap_or_default()),
                    );
                }
                table.row(row);
            }
            out.push_str(&table.render());
        }
        if !view.external.is_empty() {
            out.push_str("\nExternal references (they keep their space under --prefix and must exist in the hub):\n");
            for line in &view.external {
                out.push_str(&format!("  {line}\n"));
            }
        }
        if !view.dangling.is_empty() {
            out.push_str("\nReferences to resources the package does not hold:\n");
            for line in &view.dangling {
                out.push_str(&format!("  {line}\n"));
            }
        }
        out
    })
}
