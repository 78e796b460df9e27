//! Which commit of a repository a source means ([`RefQuery`]) and git's
//! ref-name rule ([`check_ref_name`]). Argument parsing (`loaders::spec`)
//! produces a query; [`super::refs`] resolves it against a remote's refs,
//! and [`super::publish`] checks the branch and tag it writes.

use semver::VersionReq;

use crate::model::slug::escape;

/// Which commit of a repository a source means.
#[derive(Debug, Clone, PartialEq)]
pub enum RefQuery {
    /// The remote's default branch.
    Default,
    /// A branch, tag, `refs/...` name or full commit id.
    Named(String),
    /// The highest `vX.Y.Z` tag matching a semver requirement.
    Semver(VersionReq),
    /// `REF/PATH` from a GitHub `/tree/` URL: the split is decided against
    /// the remote's refs (branch names may contain `/`).
    TreePath(String),
}

impl std::fmt::Display for RefQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefQuery::Default => f.write_str("the default branch"),
            RefQuery::Named(name) => f.write_str(name),
            RefQuery::Semver(req) => write!(f, "{req}"),
            RefQuery::TreePath(text) => f.write_str(text),
        }
    }
}

/// Checks a branch, tag or commit name by git's rules, and refuses names
/// that could be read as options.
pub fn check_ref_name(text: &str) -> Result<(), String> {
    if text.starts_with('-') {
        return Err(format!("ref `{}` starts with `-`", escape(text)));
    }
    let full = if text.starts_with("refs/") {
        text.to_string()
    } else {
        format!("refs/heads/{text}")
    };
    if !git2::Reference::is_valid_name(&full) {
        return Err(format!("`{}` is not a valid git ref name", escape(text)));
    }
    Ok(())
}
