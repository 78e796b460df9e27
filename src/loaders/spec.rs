//! Source arguments, parsed: which kind of source an argument names and its
//! parts (repository URL, sub-directory, ref), checked before anything
//! touches the network. Hostile arguments (option injection, disallowed
//! transports, credentials or look-alike hosts in URLs, encoded dots,
//! `..` in paths) are refused here with the reason.

use std::path::PathBuf;

use semver::VersionReq;
use url::Url;

use super::archive::ArchiveFormat;
use crate::git::ref_query::{RefQuery, check_ref_name};
use crate::manifest::paths::check_syntax;
use crate::model::slug::escape;
use crate::source_settings::{SourceSettings, is_loopback};

/// The longest source argument accepted.
pub const MAX_SOURCE_LEN: usize = 4096;

/// A parsed source argument.
#[derive(Debug, Clone)]
pub enum SourceSpec {
    /// A package directory.
    Local(PathBuf),
    /// An archive file on disk.
    ArchiveFile(PathBuf, ArchiveFormat),
    /// An archive at an http(s) URL.
    ArchiveUrl(Url, ArchiveFormat),
    /// A cub-style package root at an http(s) URL.
    Http(Url),
    /// A package in a git repository.
    Git(GitSpec),
    /// A package artifact in an OCI registry.
    Oci(crate::oci::OciRef),
}

/// A package in a git repository at a ref.
#[derive(Debug, Clone, PartialEq)]
pub struct GitSpec {
    /// The repository URL handed to git (`https://`, `http://` on loopback,
    /// `ssh://`, `git://` or `file://`).
    pub repo: String,
    /// The package directory inside the repository (`""` for the root).
    pub path: String,
    /// Which commit.
    pub reference: RefQuery,
}

/// Why an argument is not a usable source.
#[derive(Debug, thiserror::Error)]
#[error("`{arg}` is not a source pkg will read: {reason}")]
pub struct SpecError {
    /// The argument (control characters escaped).
    pub arg: String,
    /// Why.
    pub reason: String,
}

/// Parses a source argument.
pub fn parse(arg: &str, settings: &SourceSettings) -> Result<SourceSpec, SpecError> {
    let fail = |reason: String| SpecError {
        arg: escape(arg),
        reason,
    };
    parse_inner(arg, settings).map_err(fail)
}

fn parse_inner(arg: &str, settings: &SourceSettings) -> Result<SourceSpec, String> {
    if arg.is_empty() {
        return Err("it is empty".into());
    }
    if arg.len() > MAX_SOURCE_LEN {
        return Err(format!("it is longer than {MAX_SOURCE_LEN} bytes"));
    }
    if arg.chars().any(char::is_control) {
        return Err("it contains a control character".into());
    }
    let lower = arg.to_ascii_lowercase();
    if let Some(scheme_end) = lower.find("::")
        && !lower[..scheme_end].contains('/')
    {
        return Err(format!(
            "transport `{}::` is not allowed; use https, ssh, git or file URLs",
            &arg[..scheme_end]
        ));
    }
    if let Some(rest) = strip_prefix_ci(arg, "github:") {
        return parse_github_short(rest, settings);
    }
    if let Some(rest) = strip_prefix_ci(arg, "git+") {
        return parse_git_url(rest, settings).map(SourceSpec::Git);
    }
    if let Some((scheme, _)) = lower.split_once("://") {
        return match scheme {
            "git" | "file" | "ssh" => parse_git_url(arg, settings).map(SourceSpec::Git),
            "http" | "https" => parse_http(arg, settings),
            "oci" => crate::oci::OciRef::parse(arg)
                .map(SourceSpec::Oci)
                .map_err(|e| e.reason),
            _ => Err(format!(
                "scheme `{scheme}` is not supported; use a path, http(s), github:, git+https, git+ssh, git://, file:// or oci://"
            )),
        };
    }
    if arg.starts_with('-') {
        return Err("it starts with `-`; write `./-name` for a directory of that name".into());
    }
    match ArchiveFormat::from_name(arg) {
        Some(format) => Ok(SourceSpec::ArchiveFile(PathBuf::from(arg), format)),
        None => Ok(SourceSpec::Local(PathBuf::from(arg))),
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// `http(s)://`: a GitHub repository, an archive, or a cub-style root.
fn parse_http(arg: &str, settings: &SourceSettings) -> Result<SourceSpec, String> {
    let url = parse_url(arg)?;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let base_host = settings.github_base.host_str().unwrap_or_default();
    let on_github = settings.is_github_origin(&url)
        || (host == "github.com" && url.scheme() == "https" && url.port().is_none());
    if !on_github {
        for gh in ["github.com", base_host] {
            if host == gh {
                return Err(format!(
                    "`{}` is not the configured GitHub origin `{}`; use https and no port",
                    url.origin().ascii_serialization(),
                    settings.github_base.origin().ascii_serialization()
                ));
            }
            if host.starts_with(&format!("{gh}.")) {
                return Err(format!(
                    "host `{host}` only looks like `{gh}`; refusing a look-alike host"
                ));
            }
        }
    }
    let archive = ArchiveFormat::from_name(url.path());
    if on_github {
        if let Some(format) = archive {
            return Ok(SourceSpec::ArchiveUrl(rebase_on(&url, settings)?, format));
        }
        return parse_github_url(&url, settings);
    }
    if let Some(format) = archive {
        return Ok(SourceSpec::ArchiveUrl(url, format));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("a package URL must not have a query or fragment".into());
    }
    Ok(SourceSpec::Http(url))
}

/// `https://github.com/PATH` on the configured GitHub base (the same URL
/// when no other base is configured).
fn rebase_on(url: &Url, settings: &SourceSettings) -> Result<Url, String> {
    if settings.is_github_origin(url) {
        return Ok(url.clone());
    }
    let base = settings.github_base.as_str().trim_end_matches('/');
    Url::parse(&format!("{base}{}", url.path()))
        .map_err(|e| format!("cannot rebase on PKG_GITHUB_URL ({e})"))
}

/// Parses a URL and refuses the tricks that make one URL mean another:
/// credentials, backslashes and percent-encoded dots.
fn parse_url(text: &str) -> Result<Url, String> {
    if text.contains('\\') {
        return Err("URLs must not contain backslashes".into());
    }
    if text.to_ascii_lowercase().contains("%2e") {
        return Err("URLs must not contain percent-encoded dots (`%2e`)".into());
    }
    // The URL parser would resolve these silently; refuse them instead.
    let before_query = text.split(['?', '#']).next().unwrap_or_default();
    if before_query.split('/').any(|s| s == ".." || s == ".") {
        return Err("the URL has a `.` or `..` component".into());
    }
    let url = Url::parse(text).map_err(|e| format!("not a valid URL ({e})"))?;
    let host = url.host_str().unwrap_or_default();
    if url.scheme() != "file" && host.is_empty() {
        return Err("the URL has no host".into());
    }
    if host.starts_with('-') {
        return Err(format!("host `{host}` starts with `-`"));
    }
    if !host.is_ascii() || host.split('.').any(|l| l.starts_with("xn--")) {
        return Err(format!(
            "host `{host}` is an internationalised (punycode) name; write the ASCII host"
        ));
    }
    if url.scheme() != "ssh" && (!url.username().is_empty() || url.password().is_some()) {
        return Err(
            "credentials in URLs are refused (they end up in logs and history); set GITHUB_TOKEN or PKG_GIT_TOKEN".into(),
        );
    }
    if url.password().is_some() {
        return Err("passwords in ssh URLs are refused; use an ssh agent".into());
    }
    if url.username().starts_with('-') {
        return Err(format!("user name `{}` starts with `-`", url.username()));
    }
    Ok(url)
}

/// `https://github.com/O/R`, `.../O/R.git`, `.../O/R/tree/REF[/PATH]`.
fn parse_github_url(url: &Url, settings: &SourceSettings) -> Result<SourceSpec, String> {
    if url.query().is_some() || url.fragment().is_some() {
        return Err("a GitHub repository URL must not have a query or fragment".into());
    }
    let base_path = if settings.is_github_origin(url) {
        settings.github_base.path().trim_end_matches('/')
    } else {
        ""
    };
    let path = url
        .path()
        .strip_prefix(base_path)
        .ok_or_else(|| format!("the path is not under `{base_path}`"))?;
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let usage = "use https://github.com/OWNER/REPO, https://github.com/OWNER/REPO/tree/REF/PATH or github:OWNER/REPO/PATH@REF";
    let (owner, repo) = match parts.as_slice() {
        [owner, repo, ..] => (*owner, repo.strip_suffix(".git").unwrap_or(repo)),
        _ => return Err(format!("it names no repository; {usage}")),
    };
    check_github_name(owner, "owner")?;
    check_github_name(repo, "repository")?;
    let reference = match &parts[2..] {
        [] | [""] => RefQuery::Default,
        ["tree", rest @ ..] if !rest.is_empty() && !rest[0].is_empty() => {
            let rest = rest.join("/");
            let rest = rest.trim_end_matches('/');
            check_sub_path(rest)?;
            RefQuery::TreePath(rest.to_string())
        }
        _ => return Err(format!("it is not a repository or tree URL; {usage}")),
    };
    Ok(SourceSpec::Git(GitSpec {
        repo: settings.github_repo_url(owner, repo),
        path: String::new(),
        reference,
    }))
}

/// `github:O/R[/PATH][@REF]`.
fn parse_github_short(rest: &str, settings: &SourceSettings) -> Result<SourceSpec, String> {
    let (body, reference) = split_ref(rest)?;
    let mut parts = body.splitn(3, '/');
    let owner = parts.next().unwrap_or_default();
    let repo = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default().trim_end_matches('/');
    check_github_name(owner, "owner")?;
    let repo = repo.strip_suffix(".git").unwrap_or(repo);
    check_github_name(repo, "repository")?;
    if !path.is_empty() {
        check_sub_path(path)?;
    }
    Ok(SourceSpec::Git(GitSpec {
        repo: settings.github_repo_url(owner, repo),
        path: path.to_string(),
        reference,
    }))
}

/// `SCHEME://HOST/REPO[//PATH][@REF]` or `...?ref=REF`.
fn parse_git_url(text: &str, settings: &SourceSettings) -> Result<GitSpec, String> {
    let url = parse_url(text)?;
    match url.scheme() {
        "https" | "ssh" | "git" | "file" => {}
        "http" if is_loopback(&url) || settings.is_github_origin(&url) => {}
        "http" => return Err("plain http is refused for git; use https".into()),
        other => {
            return Err(format!(
                "git transport `{other}` is not allowed; use https, ssh, git or file"
            ));
        }
    }
    if url.fragment().is_some() {
        return Err("a git URL must not have a fragment".into());
    }
    let mut query_ref = None;
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "ref" if query_ref.is_none() => query_ref = Some(value.into_owned()),
            _ => return Err(format!("unknown URL parameter `{key}`; only `ref` is read")),
        }
    }
    let raw_path = url.path();
    let (repo_path, sub) = match raw_path[1.min(raw_path.len())..].find("//") {
        Some(at) => {
            let at = at + 1;
            (&raw_path[..at], &raw_path[at + 2..])
        }
        None => (raw_path, ""),
    };
    let (repo_path, sub, at_ref) = if sub.is_empty() {
        let (repo, reference) = split_at_ref(repo_path);
        (repo, "", reference)
    } else {
        let (sub, reference) = split_at_ref(sub);
        (repo_path, sub, reference)
    };
    if repo_path.is_empty() || repo_path == "/" {
        return Err("the URL names no repository".into());
    }
    if repo_path.contains('%') || sub.contains('%') {
        return Err("percent-encoded characters in repository paths are not supported".into());
    }
    for part in repo_path.split('/') {
        if part.starts_with('-') {
            return Err(format!(
                "repository path component `{part}` starts with `-`"
            ));
        }
        if part == ".." {
            return Err("the repository path has a `..` component".into());
        }
    }
    let sub = sub.trim_end_matches('/');
    if !sub.is_empty() {
        check_sub_path(sub)?;
    }
    let reference = match (at_ref, query_ref) {
        (Some(_), Some(_)) => return Err("give the ref once: `@REF` or `?ref=REF`".into()),
        (Some(r), None) => parse_ref(r)?,
        (None, Some(r)) => parse_ref(&r)?,
        (None, None) => RefQuery::Default,
    };
    let mut repo = url.clone();
    repo.set_path(repo_path);
    repo.set_query(None);
    Ok(GitSpec {
        repo: repo.to_string(),
        path: sub.to_string(),
        reference,
    })
}

/// Splits `PATH@REF` at the first `@` (refs may contain `/`; repository
/// and package paths hold no `@`).
fn split_at_ref(text: &str) -> (&str, Option<&str>) {
    match text.split_once('@') {
        Some((body, reference)) => (body, Some(reference)),
        None => (text, None),
    }
}

fn split_ref(text: &str) -> Result<(&str, RefQuery), String> {
    match text.rsplit_once('@') {
        Some((body, reference)) => Ok((body, parse_ref(reference)?)),
        None => Ok((text, RefQuery::Default)),
    }
}

/// Parses a ref: a semver requirement when it starts with an operator,
/// otherwise a branch, tag or commit name checked by git's ref-name rules.
pub fn parse_ref(text: &str) -> Result<RefQuery, String> {
    if text.is_empty() {
        return Err("the ref after `@` is empty".into());
    }
    if text.starts_with(['^', '~', '=', '>', '<', '*']) {
        return VersionReq::parse(text)
            .map(RefQuery::Semver)
            .map_err(|e| format!("`{text}` is not a semver requirement ({e})"));
    }
    check_ref_name(text)?;
    Ok(RefQuery::Named(text.to_string()))
}

fn check_github_name(name: &str, what: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with(['-', '.'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "GitHub {what} `{}` is not a valid name (letters, digits, `-`, `_`, `.`; not starting with `-` or `.`)",
            escape(name)
        ))
    }
}

/// Checks a package sub-directory: package-path syntax and no component
/// that starts with `-`.
fn check_sub_path(path: &str) -> Result<(), String> {
    let full = format!("/{path}");
    let parts = check_syntax(&full).map_err(|e| format!("path `{path}`: {e}"))?;
    if let Some(part) = parts.iter().find(|p| p.starts_with('-')) {
        return Err(format!("path component `{part}` starts with `-`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SourceSettings {
        SourceSettings {
            github_base: Url::parse("https://github.com").unwrap(),
            token: None,
            cache_dir: PathBuf::from("/nonexistent"),
            offline: false,
            oci_plain_http: false,
        }
    }

    fn git(arg: &str) -> GitSpec {
        match parse(arg, &settings()) {
            Ok(SourceSpec::Git(spec)) => spec,
            other => panic!("{arg}: {other:?}"),
        }
    }

    fn refused(arg: &str) -> String {
        match parse(arg, &settings()) {
            Err(e) => e.to_string(),
            Ok(spec) => panic!("{arg} was accepted as {spec:?}"),
        }
    }

    #[test]
    fn github_forms() {
        let spec = git("https://github.com/acme/packages");
        assert_eq!(spec.repo, "https://github.com/acme/packages.git");
        assert_eq!(spec.reference, RefQuery::Default);
        assert_eq!(spec.path, "");
        let spec = git("https://github.com/acme/packages/tree/release/v2/drift-detector");
        assert_eq!(
            spec.reference,
            RefQuery::TreePath("release/v2/drift-detector".into())
        );
        let spec = git("github:acme/packages/apps/drift@v1.2.0");
        assert_eq!(spec.path, "apps/drift");
        assert_eq!(spec.reference, RefQuery::Named("v1.2.0".into()));
        assert_eq!(spec.repo, "https://github.com/acme/packages.git");
        let spec = git("github:acme/packages@^1.2");
        assert!(matches!(spec.reference, RefQuery::Semver(_)));
        assert_eq!(git("https://github.com/acme/packages.git/").path, "");
    }

    #[test]
    fn github_base_override() {
        let mut s = settings();
        s.github_base = Url::parse("http://127.0.0.1:9000").unwrap();
        let Ok(SourceSpec::Git(spec)) = parse("https://github.com/acme/p/tree/main/x", &s) else {
            panic!()
        };
        assert_eq!(spec.repo, "http://127.0.0.1:9000/acme/p.git");
        let Ok(SourceSpec::Git(spec)) = parse("http://127.0.0.1:9000/acme/p", &s) else {
            panic!()
        };
        assert_eq!(spec.repo, "http://127.0.0.1:9000/acme/p.git");
    }

    #[test]
    fn generic_git_forms() {
        let spec = git("git+https://git.example/team/repo.git//pkgs/app@release/2");
        assert_eq!(spec.repo, "https://git.example/team/repo.git");
        assert_eq!(spec.path, "pkgs/app");
        assert_eq!(spec.reference, RefQuery::Named("release/2".into()));
        let spec = git("file:///srv/git/repo.git//app?ref=v1.0.0");
        assert_eq!(spec.repo, "file:///srv/git/repo.git");
        assert_eq!(spec.path, "app");
        assert_eq!(spec.reference, RefQuery::Named("v1.0.0".into()));
        let spec = git("git+ssh://git@git.example:2222/team/repo.git@main");
        assert_eq!(spec.repo, "ssh://git@git.example:2222/team/repo.git");
        assert_eq!(spec.reference, RefQuery::Named("main".into()));
        let spec = git("git://127.0.0.1:9418/acme/p.git//a/b@~1.2");
        assert_eq!(spec.path, "a/b");
        assert!(matches!(spec.reference, RefQuery::Semver(_)));
        let commit = "0123456789abcdef0123456789abcdef01234567";
        let spec = git(&format!("git+http://127.0.0.1:1/r.git@{commit}"));
        assert_eq!(spec.reference, RefQuery::Named(commit.into()));
    }

    #[test]
    fn http_and_archive_forms() {
        assert!(matches!(
            parse("https://pkgs.example/drift/", &settings()),
            Ok(SourceSpec::Http(_))
        ));
        assert!(matches!(
            parse("https://pkgs.example/drift.tar.gz", &settings()),
            Ok(SourceSpec::ArchiveUrl(_, ArchiveFormat::TarGz))
        ));
        assert!(matches!(
            parse("./out/drift.ZIP", &settings()),
            Ok(SourceSpec::ArchiveFile(_, ArchiveFormat::Zip))
        ));
        assert!(matches!(
            parse("./out/drift", &settings()),
            Ok(SourceSpec::Local(_))
        ));
    }

    #[test]
    fn hostile_arguments_are_refused() {
        let cases = [
            ("ext::sh -c touch% /tmp/pwned", "transport"),
            ("fd::17", "transport"),
            ("git+ext::sh -c x", "transport"),
            ("--upload-pack=touch /tmp/x", "starts with `-`"),
            (
                "git+ssh://-oProxyCommand=touch%20x/repo.git",
                "starts with `-`",
            ),
            ("ssh://-oProxyCommand=x/r.git", "starts with `-`"),
            ("git+ssh://-oProxyCommand=x@host/r.git", "starts with `-`"),
            (
                "git+https://h.example/r.git@--upload-pack=x",
                "starts with `-`",
            ),
            (
                "git+https://h.example/r.git//--upload-pa=x",
                "starts with `-`",
            ),
            (
                "git+https://h.example/--upload-pack=x.git",
                "starts with `-`",
            ),
            ("github:acme/packages@-oProxyCommand=x", "starts with `-`"),
            ("github:acme/packages/../../etc", "`..`"),
            ("git+https://h.example/r.git//a/../../b", "`..`"),
            ("https://github.com@evil.example/acme/p", "credentials"),
            ("https://user:pw@pkgs.example/p/", "credentials"),
            ("https://github.com.evil.example/acme/p", "look-alike"),
            ("http://github.com/acme/p", "configured GitHub origin"),
            ("https://github.com/acme/%2e%2e/x", "%2e"),
            ("https://github.com/acme/p/blob/main/x", "not a repository"),
            ("https://github.com/-acme/p", "not a valid name"),
            ("https://github.com/acme/p?x=1", "query"),
            ("https://gïthub.com/acme/p", "punycode"),
            ("https://github.com\\@evil.example/x", "backslash"),
            ("git+http://git.example/r.git", "plain http"),
            ("git+ftp://git.example/r.git", "not allowed"),
            ("ftp://x.example/p", "not supported"),
            (
                "git+https://h.example/r.git?upload-pack=x",
                "unknown URL parameter",
            ),
            ("github:acme/p@", "empty"),
            ("github:acme/p@bad..ref", "not a valid git ref"),
            ("github:acme/p@^x.y", "semver"),
            ("a\u{1b}[31m", "control character"),
            ("", "empty"),
        ];
        for (arg, expected) in cases {
            let message = refused(arg);
            assert!(message.contains(expected), "{arg}: {message}");
        }
    }
}
