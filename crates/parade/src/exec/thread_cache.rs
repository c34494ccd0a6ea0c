//! A cache of reusable threads on which every call starts at once (being built).
