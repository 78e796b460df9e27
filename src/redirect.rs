//! The one rule for following an HTTP redirect, shared by every client pkg
//! has (sources and the server client): resolve the location against the
//! current URL, and never step down from https to http or off http(s).
//! Imports nothing of pkg's own.

use url::Url;

/// Where a redirect from `current` to `location` leads, refusing a step
/// down from https to http and any scheme but http(s).
pub fn redirect_target(current: &Url, location: &str) -> Result<Url, String> {
    let next = current
        .join(location)
        .map_err(|e| format!("a redirect to an invalid URL ({e})"))?;
    match (current.scheme(), next.scheme()) {
        ("https", "https") | ("http", "http" | "https") => Ok(next),
        ("https", "http") => Err(format!(
            "refusing a redirect from https down to plain http ({next})"
        )),
        (_, other) => Err(format!("refusing a redirect to scheme `{other}`")),
    }
}
