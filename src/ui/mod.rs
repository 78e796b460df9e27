//! Terminal rendering for the commands: the printer (stdout results, stderr
//! status, formats, colour), aligned tables and progress bars. Only
//! `commands` uses this module; the library never prints.

pub mod printer;
pub mod progress;
pub mod table;

pub use printer::Printer;
pub use table::Table;
