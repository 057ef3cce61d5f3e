//! Container formats: each turns its file(s) into a [`crate::VirtualDisk`] (EWF evidence files and
//! split raw images from several files of one set).

pub(crate) mod cache;
pub mod ewf;
pub mod qcow2;
pub mod split;
pub mod vhd;
pub mod vhdx;
pub mod vmdk;
