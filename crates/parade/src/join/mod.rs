//! Fork-join calls and parallel resources (not built yet).
