//! `pkg validate`: every check a load makes that needs no hub, all problems
//! at once, plus the files no manifest entry names.

use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use super::Context;
use super::source::SourceArgs;
use crate::package::read::OutsideRef;
use crate::package::{PackageError, Report, read_package};

#[derive(Debug, Serialize)]
struct ValidateView {
    source: String,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
    resources: usize,
    #[serde(flatten)]
    report: Report,
}

/// `pkg validate`.
pub fn run(ctx: &Context, args: &SourceArgs) -> Result<ExitCode> {
    let bar = ctx.progress();
    let fetched = ctx.fetch(&args.source, &bar)?;
    let view = match read_package(&fetched.dir, &bar) {
        Ok(package) => ValidateView {
            source: fetched.origin,
            valid: true,
            digest: Some(package.digest.clone()),
            resources: package.items.len(),
            report: Report {
                problems: Vec::new(),
                unlisted: package.unlisted_files(),
                external: package.external_refs().map(OutsideRef::line).collect(),
                dangling: package.dangling_refs().map(OutsideRef::line).collect(),
            },
        },
        Err(PackageError::Invalid { report, .. }) => ValidateView {
            source: fetched.origin,
            valid: false,
            digest: None,
            resources: 0,
            report,
        },
        Err(other) => return Err(other.into()),
    };
    drop(bar);
    ctx.printer.result(&view, || {
        let mut out = String::new();
        for problem in &view.report.problems {
            out.push_str(&format!("error: {problem}\n"));
        }
        for file in &view.report.unlisted {
            out.push_str(&format!(
                "note: {} is not named by the manifest (never read)\n",
                crate::model::slug::escape(file)
            ));
        }
        for line in &view.report.external {
            out.push_str(&format!(
                "note: external reference {line}: outside the package's spaces, it keeps its space under --prefix and must exist in the hub it is loaded into\n"
            ));
        }
        for line in &view.report.dangling {
            out.push_str(&format!(
                "note: {line} is not in the package: a load keeps it if the hub has it, else refuses it, or drops it with a warning where cub does (a target, a view's filter, an invocation's worker)\n"
            ));
        }
        if view.valid {
            out.push_str(&format!(
                "{}: valid ({} resources)\n",
                view.source, view.resources
            ));
        } else {
            out.push_str(&format!(
                "{}: {} problem{}\n",
                view.source,
                view.report.problems.len(),
                if view.report.problems.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ));
        }
        out
    })?;
    Ok(if view.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
