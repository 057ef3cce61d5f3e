//! The text descriptor of a VMDK: `key=value` lines (`createType`, `CID`, `parentCID`,
//! `parentFileNameHint`) and extent lines `ACCESS SECTORS TYPE ["FILE" [OFFSET]]`. It is a text
//! file of its own (monolithicFlat, twoGbMaxExtent*, vmfs, vmfsSparse, seSparse) or embedded in a
//! hosted sparse file (monolithicSparse, streamOptimized).
//!
//! The text is read whole only up to `max_header_bytes`, must be UTF-8 up to its first NUL, and
//! lists at most [`MAX_EXTENTS`] extents; numbers that do not parse are errors carrying the line's
//! byte offset. Descriptors of host devices (raw device maps, full devices) are refused.

use super::corrupt;
use crate::error::{ImageError, Result};

/// First line of a text descriptor.
pub(super) const DESCRIPTOR_MAGIC: &[u8] = b"# Disk DescriptorFile";
/// Most extents one descriptor may list: a 2 TiB disk split at 2 GB has 1024. Each is an open file.
pub(super) const MAX_EXTENTS: usize = 1024;
/// `createType`s that name host devices rather than files.
const DEVICE_TYPES: [&str; 5] =
    ["fullDevice", "partitionedDevice", "vmfsRaw", "vmfsRawDeviceMap", "vmfsPassthroughRawDeviceMap"];

/// The fields of a descriptor this reader uses.
#[derive(Debug, Default)]
pub(super) struct Descriptor {
    pub(super) create_type: Option<String>,
    pub(super) cid: Option<u32>,
    pub(super) parent_cid: Option<u32>,
    pub(super) parent_hint: Option<String>,
    pub(super) extents: Vec<ExtentLine>,
}

/// `ACCESS SECTORS TYPE ["FILE" [OFFSET]]`.
#[derive(Debug)]
pub(super) struct ExtentLine {
    pub(super) access: String,
    pub(super) sectors: u64,
    pub(super) kind: String,
    pub(super) file: Option<String>,
    pub(super) offset: u64,
    /// Byte offset of the line, for messages.
    pub(super) at: u64,
}

/// The text of a descriptor region up to its first NUL (embedded descriptors are NUL-padded).
pub(super) fn text_until_nul(raw: &[u8], at: u64) -> Result<&str> {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let bytes = raw.get(..end).unwrap_or_default();
    std::str::from_utf8(bytes).map_err(|e| {
        corrupt("VMDK descriptor", at.saturating_add(e.valid_up_to() as u64), "the descriptor is not UTF-8 text")
    })
}

/// Refuses descriptors that describe host devices.
pub(super) fn check_create_type(d: &Descriptor) -> Result<()> {
    if let Some(t) = &d.create_type {
        if DEVICE_TYPES.iter().any(|k| k.eq_ignore_ascii_case(t)) {
            return Err(ImageError::Unsupported(format!(
                "VMDK createType {t:?} maps a host device, which is not read"
            )));
        }
    }
    Ok(())
}

/// Parses a descriptor's text; `base` is its byte offset in its file, for messages.
pub(super) fn parse_descriptor(text: &str, base: u64) -> Result<Descriptor> {
    let mut d = Descriptor::default();
    let mut at = base;
    for raw in text.split('\n') {
        let line_at = at;
        at = at.saturating_add(raw.len() as u64).saturating_add(1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first = line.split_ascii_whitespace().next().unwrap_or_default();
        if ["RW", "RDONLY", "NOACCESS"].iter().any(|a| a.eq_ignore_ascii_case(first)) {
            if d.extents.len() >= MAX_EXTENTS {
                return Err(ImageError::Unsupported(format!("VMDK descriptor with more than {MAX_EXTENTS} extents")));
            }
            d.extents.push(parse_extent_line(line, first, line_at)?);
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            let value = unquote(value.trim());
            match key.trim() {
                "createType" => d.create_type = Some(value.to_owned()),
                "CID" => d.cid = u32::from_str_radix(value, 16).ok(),
                "parentCID" => d.parent_cid = u32::from_str_radix(value, 16).ok(),
                "parentFileNameHint" => d.parent_hint = Some(value.to_owned()),
                _ => {}
            }
        }
        // Other lines (DDB entries, unknown keys) carry nothing this reader needs.
    }
    Ok(d)
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(v)
}

/// `ACCESS SECTORS TYPE ["FILE" [OFFSET]]`; the file name is quoted and may hold spaces.
fn parse_extent_line(line: &str, access: &str, at: u64) -> Result<ExtentLine> {
    let bad_line =
        |why: &str| corrupt("VMDK extent line", at, format!("{why}: {:?}", line.chars().take(200).collect::<String>()));
    let rest = line.get(access.len()..).unwrap_or_default().trim_start();
    let (sectors, rest) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let sectors: u64 = sectors.parse().map_err(|_| bad_line("the sector count is not a number"))?;
    let rest = rest.trim_start();
    let (kind, rest) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if kind.is_empty() {
        return Err(bad_line("no extent type"));
    }
    let rest = rest.trim_start();
    let (file, rest) = match rest.strip_prefix('"') {
        Some(q) => {
            let (name, after) = q.split_once('"').ok_or_else(|| bad_line("unterminated file name"))?;
            (Some(name.to_owned()), after.trim_start())
        }
        None => (None, rest),
    };
    let offset = match rest.split_ascii_whitespace().next() {
        Some(o) => o.parse().map_err(|_| bad_line("the offset is not a number"))?,
        None => 0,
    };
    Ok(ExtentLine { access: access.to_owned(), sectors, kind: kind.to_owned(), file, offset, at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_lines() {
        let text =
            "# Disk DescriptorFile\nversion=1\nCID=7ce09369\nparentCID=91bc5ec0\ncreateType=\"monolithicSparse\"\n\
                    parentFileNameHint=\"base disk.vmdk\"\n# Extent description\nRW 98304 SPARSE \"my disk.vmdk\"\n\
                    RDONLY 100 FLAT \"f.vmdk\" 2048\r\nRW 8 ZERO\n\nddb.adapterType = \"ide\"\n";
        let d = parse_descriptor(text, 512).unwrap();
        assert_eq!(d.create_type.as_deref(), Some("monolithicSparse"));
        assert_eq!((d.cid, d.parent_cid), (Some(0x7ce0_9369), Some(0x91bc_5ec0)));
        assert_eq!(d.parent_hint.as_deref(), Some("base disk.vmdk"));
        assert_eq!(d.extents.len(), 3);
        assert_eq!(d.extents[0].file.as_deref(), Some("my disk.vmdk"));
        assert_eq!((d.extents[1].sectors, d.extents[1].offset, d.extents[1].access.as_str()), (100, 2048, "RDONLY"));
        assert_eq!((d.extents[2].kind.as_str(), d.extents[2].file.as_deref()), ("ZERO", None));
        assert!(d.extents[0].at > 512);
        for bad in
            ["RW x SPARSE \"a\"", "RW 5", "RW 5 FLAT \"a", "RW 5 FLAT \"a\" z", "RW 99999999999999999999 FLAT \"a\""]
        {
            assert!(parse_descriptor(bad, 0).is_err(), "{bad}");
        }
        let many = "RW 1 ZERO\n".repeat(MAX_EXTENTS + 1);
        assert!(matches!(parse_descriptor(&many, 0), Err(ImageError::Unsupported(_))));
    }
}
