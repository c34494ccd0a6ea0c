//! Executors: what runs a ready job (being built).

pub mod thread_cache;
