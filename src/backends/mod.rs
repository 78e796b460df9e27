//! Python environment backends (pixi, uv) behind one trait. Arrives with the
//! environments issue; packages already carry an `environments` manifest key.
