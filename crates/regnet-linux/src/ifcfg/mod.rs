//! ifcfg files, RHEL style (`/etc/sysconfig/network-scripts`) and SUSE style
//! (`/etc/sysconfig/network`).

use crate::{GuestFiles, Limits, StackConfig};

/// Reads RHEL-style ifcfg files.
pub fn read_rhel(_files: &mut dyn GuestFiles, _limits: &Limits) -> StackConfig {
    StackConfig::default()
}

/// Reads SUSE-style ifcfg files.
pub fn read_suse(_files: &mut dyn GuestFiles, _limits: &Limits) -> StackConfig {
    StackConfig::default()
}
