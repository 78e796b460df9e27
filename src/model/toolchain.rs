//! A unit's `ToolchainType` (`Kubernetes/YAML`, `OpenTofu/HCL`, ...) and the
//! data-file name `cub` derives from it. The toolchain type is text from
//! packages and users, and `pkg create` turns it into a file name, so it is
//! checked where it enters the hub and again where a file name is made.

use thiserror::Error;

use serde_json::Value;

use super::Details;
use super::slug::escape;

/// The longest toolchain type accepted.
pub const MAX_TOOLCHAIN_LEN: usize = 128;

/// Why a toolchain type is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "ToolchainType `{}` {reason}; use `Name/Format` with letters, digits, `.`, `_`, `+` and `-` (e.g. Kubernetes/YAML)",
    escape(.toolchain)
)]
pub struct ToolchainError {
    /// The toolchain type as given.
    pub toolchain: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Checks a toolchain type: `/`-separated fields, each starting with a letter
/// or digit and holding only letters, digits, `.`, `_`, `+` and `-`, at most
/// [`MAX_TOOLCHAIN_LEN`] bytes in all. The empty string (no toolchain) is
/// accepted: its data file has no suffix.
///
/// ```
/// use pkg::model::toolchain::validate_toolchain;
/// assert!(validate_toolchain("Kubernetes/YAML").is_ok());
/// assert!(validate_toolchain("Kubernetes/../../tmp/x").is_err());
/// ```
pub fn validate_toolchain(toolchain: &str) -> Result<(), ToolchainError> {
    let refuse = |reason| {
        Err(ToolchainError {
            toolchain: toolchain.chars().take(200).collect(),
            reason,
        })
    };
    if toolchain.is_empty() {
        return Ok(());
    }
    if toolchain.len() > MAX_TOOLCHAIN_LEN {
        return refuse("is longer than 128 bytes");
    }
    for field in toolchain.split('/') {
        let mut chars = field.chars();
        match chars.next() {
            None => return refuse("has an empty `/`-separated field"),
            Some(c) if !c.is_ascii_alphanumeric() => {
                return refuse("has a field that does not start with a letter or digit");
            }
            Some(_) => {}
        }
        if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-')) {
            return refuse("has a character other than letters, digits, `.`, `_`, `+` and `-`");
        }
    }
    Ok(())
}

/// Checks the `ToolchainType` of a unit's details: absent, or a string that
/// [`validate_toolchain`] accepts.
pub fn check_unit_toolchain(details: &Details) -> Result<(), ToolchainError> {
    match details.get("ToolchainType") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(t)) => validate_toolchain(t),
        Some(other) => Err(ToolchainError {
            toolchain: other.to_string().chars().take(200).collect(),
            reason: "is not a string",
        }),
    }
}

/// The suffix `cub` gives a unit's data file for `toolchain`: `"." +
/// lowercase(second "/"-separated field)`, or nothing when there is no `/`
/// (`Foo/Bar/Baz` gives `.bar`). The result must keep `<unit>.data<suffix>`
/// one safe path component; anything else is an error, whatever the hub holds.
///
/// ```
/// use pkg::model::toolchain::data_suffix;
/// assert_eq!(data_suffix("AppConfig/Properties").unwrap(), ".properties");
/// assert_eq!(data_suffix("Foo/Bar/Baz").unwrap(), ".bar");
/// assert!(data_suffix("Kubernetes/a\\b").is_err());
/// ```
pub fn data_suffix(toolchain: &str) -> Result<String, ToolchainError> {
    let mut fields = toolchain.split('/');
    let _ = fields.next();
    let Some(format) = fields.next() else {
        return Ok(String::new());
    };
    let suffix = format!(".{}", format.to_lowercase());
    let unsafe_char = suffix
        .chars()
        .any(|c| c.is_control() || matches!(c, '/' | '\\' | ':'));
    if unsafe_char || suffix.len() > 64 {
        return Err(ToolchainError {
            toolchain: toolchain.chars().take(200).collect(),
            reason: "does not give a safe data file name",
        });
    }
    Ok(suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_confighub_toolchains() {
        for ok in [
            "",
            "Kubernetes/YAML",
            "OpenTofu/HCL",
            "AppConfig/Properties",
            "AppConfig/Env",
            "Plain",
            "Foo/Bar/Baz",
            "Kubernetes/YAML+v1.2",
        ] {
            assert_eq!(validate_toolchain(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_hostile_toolchains() {
        for bad in [
            "Kubernetes/../../../../tmp/x",
            "/etc/passwd",
            "Kubernetes/",
            "Kubernetes/a\\b",
            "Kubernetes/YAML\0",
            "Kubernetes/YAML\nx",
            "Kubernetes/.hidden",
            "C:/x",
            "Kubernetes/YAML x",
            &"x".repeat(129),
        ] {
            let err = validate_toolchain(bad).unwrap_err();
            assert!(err.to_string().contains("ToolchainType"), "{bad:?}: {err}");
            assert!(!err.to_string().contains('\n'), "{bad:?}: {err}");
        }
    }

    #[test]
    fn suffixes_follow_cub() {
        assert_eq!(data_suffix("Kubernetes/YAML").unwrap(), ".yaml");
        assert_eq!(data_suffix("OpenTofu/HCL").unwrap(), ".hcl");
        assert_eq!(data_suffix("Foo/Bar/Baz").unwrap(), ".bar");
        assert_eq!(data_suffix("Plain").unwrap(), "");
        assert_eq!(data_suffix("").unwrap(), "");
        assert_eq!(data_suffix("Kubernetes/").unwrap(), ".");
        // cub takes only the second field, so traversal stays in the name.
        assert_eq!(data_suffix("Kubernetes/../../tmp/x").unwrap(), "...");
    }

    #[test]
    fn suffixes_that_are_not_one_safe_component_are_refused() {
        for bad in [
            "K/a\\b",
            "K/a\0b",
            "K/a\nb",
            "K/c:x",
            &format!("K/{}", "y".repeat(80)),
        ] {
            assert!(data_suffix(bad).is_err(), "{bad:?}");
        }
    }
}
