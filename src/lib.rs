//! The root package only owns the end-to-end tests (`tests/`) and the benchmarks (`benches/`).
