//! Errors of the git layer, typed where callers branch on them.

use thiserror::Error;

use crate::safe_tree::TreeError;

/// What went wrong talking to a repository or reading from it.
#[derive(Debug, Error)]
pub enum GitError {
    /// libgit2 failed on a remote (network, protocol, authentication).
    #[error("git remote `{url}`: {message}")]
    Remote {
        /// The repository URL.
        url: String,
        /// libgit2's message.
        message: String,
    },
    /// No branch, tag or commit matched the ref.
    #[error("`{url}` has no branch or tag `{reference}`{hint}")]
    RefNotFound {
        /// The repository URL.
        url: String,
        /// The ref asked for.
        reference: String,
        /// What to try instead.
        hint: String,
    },
    /// A `/tree/REF/PATH` URL matches more than one ref.
    #[error(
        "`{text}` is ambiguous in `{url}`: it could be ref {}; use github:OWNER/REPO/PATH@REF to say which",
        candidates.join(" or ")
    )]
    Ambiguous {
        /// The repository URL.
        url: String,
        /// The `REF/PATH` text.
        text: String,
        /// The refs that match a prefix.
        candidates: Vec<String>,
    },
    /// No release tag matches a semver requirement.
    #[error("no release tag of `{url}` matches `{requirement}`{found}")]
    NoMatchingVersion {
        /// The repository URL.
        url: String,
        /// The requirement.
        requirement: String,
        /// The versions there are, for the message.
        found: String,
    },
    /// `--offline` and the cache does not hold what is needed.
    #[error("offline: {0}")]
    Offline(String),
    /// The package path is missing or not a directory at the commit.
    #[error("`{path}` at commit {commit} of `{url}`: {reason}")]
    BadPath {
        /// The repository URL.
        url: String,
        /// The commit.
        commit: String,
        /// The path inside the repository.
        path: String,
        /// Why.
        reason: String,
    },
    /// An entry that a package must not contain (symlink, submodule, a
    /// name that is not UTF-8).
    #[error("`{path}` in `{url}` is {what}; packages hold only plain files and directories")]
    Forbidden {
        /// The repository URL.
        url: String,
        /// The entry's path.
        path: String,
        /// What it is.
        what: String,
    },
    /// Writing the package tree failed or hit a limit.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// The cache could not be used.
    #[error("git cache `{path}`: {message}")]
    Cache {
        /// The cache directory.
        path: String,
        /// What failed.
        message: String,
    },
    /// Publishing was refused or failed.
    #[error("{0}")]
    Publish(String),
    /// Any other libgit2 failure on a local repository.
    #[error("git: {0}")]
    Local(#[from] git2::Error),
}

impl GitError {
    /// A remote failure, with libgit2's message cleaned of its class prefix.
    pub fn remote(url: &str, error: &git2::Error) -> GitError {
        let mut message = error.message().to_string();
        if message.contains("ssh hostkey") {
            message.push_str(
                "; pkg checks ssh host keys against ~/.ssh/known_hosts: verify the key, then add it (ssh-keyscan -p PORT HOST >> ~/.ssh/known_hosts)",
            );
        }
        GitError::Remote {
            url: url.to_string(),
            message,
        }
    }
}
