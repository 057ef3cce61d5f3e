//! MBR (being written).
