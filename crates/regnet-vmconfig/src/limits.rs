//! Caller-settable limits of the configuration layer.

use serde::{Deserialize, Serialize};

/// Bounds on what one configuration file may cost. Every limit is checked before the allocation or
/// loop it guards; hitting one is [`VmConfigError::LimitExceeded`](crate::VmConfigError::LimitExceeded)
/// naming the field.
///
/// ```
/// let mut limits = regnet_vmconfig::VmConfigLimits::default();
/// assert_eq!(limits.max_nics, 4096);
/// limits.max_nics = 16;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VmConfigLimits {
    /// Largest configuration file read (a `.vmx`, `.ovf` or domain XML, or the `.ovf` member of
    /// an OVA), bytes.
    pub max_config_bytes: u64,
    /// Most NICs one VM may have.
    pub max_nics: usize,
    /// Most disks one VM may have.
    pub max_disks: usize,
    /// Deepest XML element nesting.
    pub max_xml_depth: usize,
    /// Most XML elements and attributes in one document.
    pub max_xml_nodes: usize,
    /// Most attributes on one XML element.
    pub max_xml_attributes: usize,
    /// Most namespace declarations (`xmlns`, `xmlns:p`) in scope at once in an XML document. Each
    /// element's name is resolved against the declarations in scope, so this bounds that work.
    pub max_xml_namespaces: usize,
    /// Most `key = value` lines in one `.vmx`.
    pub max_vmx_entries: usize,
    /// Most tar members walked in an OVA (pax and long-name headers count).
    pub max_archive_members: usize,
}

impl Default for VmConfigLimits {
    fn default() -> Self {
        VmConfigLimits {
            max_config_bytes: 8 << 20,
            max_nics: 4096,
            max_disks: 4096,
            max_xml_depth: 256,
            max_xml_nodes: 200_000,
            max_xml_attributes: 1024,
            max_xml_namespaces: 256,
            max_vmx_entries: 200_000,
            max_archive_members: 10_000,
        }
    }
}

impl VmConfigLimits {
    /// `Err(LimitExceeded)` when `value > max`.
    pub fn check(limit: &'static str, value: u64, max: u64) -> crate::Result<()> {
        if value > max {
            Err(crate::VmConfigError::LimitExceeded { limit, value, max })
        } else {
            Ok(())
        }
    }
}
