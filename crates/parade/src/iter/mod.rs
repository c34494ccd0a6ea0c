//! Lazy parallel pipelines over any iterator (not built yet).
