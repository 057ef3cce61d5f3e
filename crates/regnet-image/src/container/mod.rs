//! Container formats: each turns its file(s) into a [`crate::VirtualDisk`].

pub(crate) mod cache;
pub mod qcow2;
pub mod vhd;
pub mod vhdx;
pub mod vmdk;
