//! The scheduling engine (being built).
