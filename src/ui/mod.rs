//! Terminal rendering for the commands: the printer (stdout results, stderr
//! status, formats, colour), the output formats, aligned tables and
//! progress bars. Only `commands` and `cli` use this module; the library
//! never prints.

pub mod format;
pub mod printer;
pub mod progress;
pub mod table;

pub use printer::Printer;
pub use table::Table;
