//! Reading the workspace's own source as text, for the tidy tests in `tests/tidy.rs` (in the
//! spirit of rust-analyzer's): each invariant `ARCHITECTURE.md` states about the code's layout
//! is held by a test that fails when someone breaks it. Modules: [`files`] (the sources and
//! their lines), [`modules`] (which file is which module, and what each file imports).

pub mod files;
pub mod modules;
