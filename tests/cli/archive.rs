//! Archive sources and `pkg pack`: hostile archives, determinism, loads from archives.
