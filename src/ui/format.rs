//! How results are printed: the output format of `-o` ([`OutputFormat`]),
//! and the value `-o` takes ([`OutputArg`], parsed by [`OutputParser`]),
//! which for `pkg pack` may name a file instead.

use std::path::PathBuf;

use clap::ValueEnum;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people
    Table,
    /// JSON for scripts
    Json,
    /// YAML for scripts
    Yaml,
}

/// The value of `-o`: an output format, or (for `pkg pack`) a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputArg {
    /// `table`, `json` or `yaml`.
    Format(OutputFormat),
    /// Anything else: the file `pkg pack` writes.
    File(PathBuf),
}

/// Parses `-o`: the three formats (offered for completion), else a file.
#[derive(Debug, Clone, Copy)]
pub struct OutputParser;

impl clap::builder::TypedValueParser for OutputParser {
    type Value = OutputArg;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<OutputArg, clap::Error> {
        let text = value.to_string_lossy();
        Ok(match OutputFormat::from_str(&text, true) {
            Ok(format) => OutputArg::Format(format),
            Err(_) => OutputArg::File(PathBuf::from(value)),
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            OutputFormat::value_variants()
                .iter()
                .filter_map(ValueEnum::to_possible_value),
        ))
    }
}
