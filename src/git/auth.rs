//! libgit2 callbacks: credentials (the token only for the configured GitHub
//! origin, whatever URL the request ended up at; an ssh agent for ssh),
//! transfer progress, and libgit2's own host-key and certificate checks.

use std::cell::Cell;

use git2::{Cred, CredentialType, RemoteCallbacks};

use crate::progress::Progress;
use crate::source_settings::SourceSettings;

/// Callbacks for one remote operation.
pub fn callbacks<'a>(
    settings: &'a SourceSettings,
    progress: &'a dyn Progress,
) -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    let attempts = Cell::new(0u32);
    callbacks.credentials(move |url, username, allowed| {
        attempts.set(attempts.get() + 1);
        if attempts.get() > 2 {
            let hint = if url.starts_with("ssh:") {
                "the ssh agent (SSH_AUTH_SOCK) holds no key the server accepts; add one with ssh-add"
            } else {
                "check GITHUB_TOKEN / PKG_GIT_TOKEN"
            };
            return Err(git2::Error::from_str(&format!(
                "authentication to {url} failed: {hint}"
            )));
        }
        credential(settings, url, username, allowed)
    });
    let received = Cell::new(0u64);
    callbacks.transfer_progress(move |stats| {
        let objects = stats.received_objects() as u64;
        if objects > received.get() {
            progress.advance(objects - received.get());
            received.set(objects);
        }
        true
    });
    callbacks
}

fn credential(
    settings: &SourceSettings,
    url: &str,
    username: Option<&str>,
    allowed: CredentialType,
) -> Result<Cred, git2::Error> {
    if allowed.contains(CredentialType::SSH_KEY) {
        return Cred::ssh_key_from_agent(username.unwrap_or("git"));
    }
    if allowed.contains(CredentialType::USERNAME) {
        return Cred::username(username.unwrap_or("git"));
    }
    if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
        if let Some(token) = settings.token_for_str(url) {
            return Cred::userpass_plaintext("x-access-token", token);
        }
        let origin = settings.github_base.origin().ascii_serialization();
        let why = if settings.token.is_none() {
            "set GITHUB_TOKEN or PKG_GIT_TOKEN".to_string()
        } else {
            format!("the token is only ever sent to {origin}")
        };
        return Err(git2::Error::from_str(&format!(
            "{url} asks for credentials; {why}"
        )));
    }
    Err(git2::Error::from_str(&format!(
        "{url} asks for a kind of credentials pkg does not provide"
    )))
}
