//! Directory indexes: the `$INDEX_ROOT` value, INDX blocks of `$INDEX_ALLOCATION`, their index
//! entries, and the `$FILE_NAME` keys of `$I30` entries.
//!
//! `$INDEX_ROOT` value: indexed attribute type (u32) at 0, collation rule (u32) at 4, index block
//! size (u32) at 8, then a node header at 0x10. INDX block: "INDX", fixups, VCN of the block (u64) at
//! 0x10, node header at 0x18. Node header: entries offset (u32) at 0, end of the entries in use (u32)
//! at 4, allocated size (u32) at 8, flags at 12 (1 = the node has children); offsets are from the
//! node header. Index entry: file reference (u64) at 0, entry length (u16) at 8, key length (u16) at
//! 0x0A, flags (u16) at 0x0C (1 = has a child node, 2 = last entry), the key at 0x10, and the child's
//! VCN (u64) in the entry's last 8 bytes. `$FILE_NAME`: parent reference (u64) at 0, file attributes
//! (u32) at 0x38, name length (u8) at 0x40, namespace (u8) at 0x41, name at 0x42.
//! Sources: Linux-NTFS documentation (flatcap), libfsntfs format notes.

use super::le::{bytes, u16_at, u32_at, u64_at, u8_at, utf16};
use super::record::apply_fixups;
use crate::error::{ImageError, Result};

/// Collation of `$I30` indexes: file names, compared upper-cased.
pub(crate) const COLLATION_FILE_NAME: u32 = 1;
const ENTRY_HAS_CHILD: u16 = 0x0001;
const ENTRY_LAST: u16 = 0x0002;
const ENTRY_HEADER: usize = 0x10;
/// `$FILE_NAME` namespaces.
pub(crate) const NAMESPACE_DOS: u8 = 2;
/// `$FILE_NAME` file attribute bit: the entry is a directory.
pub(crate) const FILE_ATTR_DIRECTORY: u32 = 0x1000_0000;

/// Where a node's entries are inside its buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Node {
    pub start: usize,
    pub end: usize,
}

/// Validates the node header at `hdr` of `buf`: entries offset ≤ end of entries ≤ allocated size,
/// all inside `buf`.
pub(crate) fn node_header(buf: &[u8], hdr: usize, offset: u64) -> Result<Node> {
    let bad = |rel: usize, what: &'static str, value: u32, expected: &'static str| ImageError::BadField {
        what,
        offset: offset.saturating_add(hdr as u64).saturating_add(rel as u64),
        value: value.into(),
        expected,
    };
    let (Some(entries), Some(used), Some(alloc)) =
        (u32_at(buf, hdr), u32_at(buf, hdr.saturating_add(4)), u32_at(buf, hdr.saturating_add(8)))
    else {
        return Err(ImageError::Truncated {
            what: "NTFS index node header",
            offset: offset.saturating_add(hdr as u64),
            needed: 16,
            available: buf.len().saturating_sub(hdr) as u64,
        });
    };
    let room = buf.len().saturating_sub(hdr);
    let fits = |v: u32| usize::try_from(v).is_ok_and(|v| v <= room);
    if !fits(alloc) {
        return Err(bad(8, "NTFS index node allocated size", alloc, "a node inside its index block or root"));
    }
    if used > alloc || !fits(used) {
        return Err(bad(4, "NTFS index node size in use", used, "at most the node's allocated size"));
    }
    if entries < 16 || entries > used || entries % 8 != 0 {
        return Err(bad(
            0,
            "NTFS index entries offset",
            entries,
            "8-aligned, after the node header, at most the size in use",
        ));
    }
    let start = hdr.saturating_add(usize::try_from(entries).unwrap_or(usize::MAX));
    let end = hdr.saturating_add(usize::try_from(used).unwrap_or(usize::MAX));
    Ok(Node { start, end })
}

/// The parsed `$INDEX_ROOT` value of a directory.
#[derive(Debug, Clone)]
pub(crate) struct IndexRoot {
    pub block_size: u64,
    pub node: Node,
}

/// Parses an `$INDEX_ROOT` value; it must index `$FILE_NAME` by file-name collation.
pub(crate) fn parse_root(value: &[u8], offset: u64) -> Result<IndexRoot> {
    let bad = |rel: u64, what: &'static str, value: u64, expected: &'static str| ImageError::BadField {
        what,
        offset: offset.saturating_add(rel),
        value,
        expected,
    };
    let indexed = u32_at(value, 0).unwrap_or(0);
    if indexed != super::attribute::TYPE_FILE_NAME {
        return Err(bad(0, "NTFS index root indexed type", indexed.into(), "0x30 ($FILE_NAME) for a directory"));
    }
    let collation = u32_at(value, 4).unwrap_or(0);
    if collation != COLLATION_FILE_NAME {
        return Err(bad(4, "NTFS index root collation rule", collation.into(), "1 (file name)"));
    }
    let block_size = u64::from(u32_at(value, 8).unwrap_or(0));
    if !block_size.is_power_of_two()
        || !(super::boot::MIN_INDEX_BLOCK..=super::boot::MAX_INDEX_BLOCK).contains(&block_size)
    {
        return Err(bad(8, "NTFS index block size", block_size, "a power of two from 256 to 65536"));
    }
    let node = node_header(value, 0x10, offset)?;
    Ok(IndexRoot { block_size, node })
}

/// Checks an INDX block read from `$INDEX_ALLOCATION` (signature, fixups, its own VCN) and returns
/// its node.
pub(crate) fn parse_block(buf: &mut [u8], vcn: u64, offset: u64) -> Result<Node> {
    let sig = buf.get(..4).unwrap_or_default();
    if sig != b"INDX" {
        return Err(ImageError::BadSignature {
            what: "NTFS index block",
            offset,
            expected: "INDX",
            found: sig.to_vec(),
        });
    }
    apply_fixups(buf, "NTFS index block", offset)?;
    let own = u64_at(buf, 0x10).unwrap_or(u64::MAX);
    if own != vcn {
        return Err(ImageError::BadField {
            what: "NTFS index block VCN",
            offset: offset.saturating_add(0x10),
            value: own,
            expected: "the VCN the parent entry points at",
        });
    }
    node_header(buf, 0x18, offset)
}

/// One index entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<'a> {
    /// The file reference (record number in the low 48 bits, sequence in the high 16).
    pub file_ref: u64,
    /// The key; empty for the last entry of a node.
    pub key: &'a [u8],
    pub child: Option<u64>,
    pub last: bool,
    /// Offset of the entry in its buffer (for messages).
    pub pos: usize,
}

/// The entries of a node, up to and including the last-entry marker. Each entry must be at least 16
/// bytes, 8-aligned, inside the node; its key (and child VCN) inside the entry.
pub(crate) fn entries<'a>(buf: &'a [u8], node: Node, offset: u64) -> Result<Vec<Entry<'a>>> {
    let area = buf.get(..node.end).unwrap_or_default();
    let mut out = Vec::new();
    let mut pos = node.start;
    loop {
        let corrupt = |reason: String| ImageError::Corrupt {
            what: "NTFS index entry",
            offset: offset.saturating_add(pos as u64),
            reason,
        };
        let (Some(file_ref), Some(len), Some(key_len), Some(flags)) = (
            u64_at(area, pos),
            u16_at(area, pos.saturating_add(8)),
            u16_at(area, pos.saturating_add(0x0A)),
            u16_at(area, pos.saturating_add(0x0C)),
        ) else {
            return Err(corrupt("the node ends without a last entry".into()));
        };
        let len = usize::from(len);
        let Some(entry) = bytes(area, pos, len).filter(|_| len >= ENTRY_HEADER && len % 8 == 0) else {
            return Err(corrupt(format!("entry length {len:#x} (must be ≥ 16, 8-aligned, inside the node)")));
        };
        let child = if flags & ENTRY_HAS_CHILD != 0 {
            let at = len.checked_sub(8).filter(|&a| a >= ENTRY_HEADER);
            let vcn = at.and_then(|a| u64_at(entry, a));
            Some(vcn.ok_or_else(|| corrupt("an entry with a child node is too short for the child's VCN".into()))?)
        } else {
            None
        };
        let last = flags & ENTRY_LAST != 0;
        let key = if last {
            &[][..]
        } else {
            let room = len.saturating_sub(ENTRY_HEADER).saturating_sub(if child.is_some() { 8 } else { 0 });
            let key_len = usize::from(key_len);
            if key_len > room {
                return Err(corrupt(format!("key length {key_len:#x} does not fit the entry")));
            }
            bytes(entry, ENTRY_HEADER, key_len).unwrap_or_default()
        };
        out.push(Entry { file_ref, key, child, last, pos });
        if last {
            return Ok(out);
        }
        pos = pos.saturating_add(len);
    }
}

/// The parts of a `$FILE_NAME` key a lookup needs.
#[derive(Debug, Clone)]
pub(crate) struct FileName {
    pub name: Vec<u16>,
    pub namespace: u8,
    pub file_attributes: u32,
}

/// Parses a `$FILE_NAME` (an `$I30` key, or the attribute's value).
pub(crate) fn parse_file_name(key: &[u8], offset: u64) -> Result<FileName> {
    let name_len = usize::from(u8_at(key, 0x40).unwrap_or(0));
    let Some(raw) = bytes(key, 0x42, name_len.saturating_mul(2)) else {
        return Err(ImageError::Corrupt {
            what: "NTFS file name",
            offset,
            reason: format!("a name of {name_len} characters does not fit a key of {} bytes", key.len()),
        });
    };
    Ok(FileName {
        name: utf16(raw),
        namespace: u8_at(key, 0x41).unwrap_or(0),
        file_attributes: u32_at(key, 0x38).unwrap_or(0),
    })
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    fn entry(file_ref: u64, name: &str, child: Option<u64>) -> Vec<u8> {
        let units: Vec<u16> = name.encode_utf16().collect();
        let key_len = 0x42 + 2 * units.len();
        let mut len = (16 + key_len).next_multiple_of(8);
        if child.is_some() {
            len += 8;
        }
        let mut e = vec![0u8; len];
        e[0..8].copy_from_slice(&file_ref.to_le_bytes());
        e[8..10].copy_from_slice(&(len as u16).to_le_bytes());
        e[10..12].copy_from_slice(&(key_len as u16).to_le_bytes());
        e[12] = if child.is_some() { 1 } else { 0 };
        e[16 + 0x40] = units.len() as u8;
        e[16 + 0x41] = 1;
        for (i, u) in units.iter().enumerate() {
            e[16 + 0x42 + 2 * i..16 + 0x44 + 2 * i].copy_from_slice(&u.to_le_bytes());
        }
        if let Some(c) = child {
            e[len - 8..].copy_from_slice(&c.to_le_bytes());
        }
        e
    }

    fn last(child: Option<u64>) -> Vec<u8> {
        let len = if child.is_some() { 24 } else { 16 };
        let mut e = vec![0u8; len];
        e[8] = len as u8;
        e[12] = 2 | if child.is_some() { 1 } else { 0 };
        if let Some(c) = child {
            e[16..24].copy_from_slice(&c.to_le_bytes());
        }
        e
    }

    fn root(entries: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = entries.concat();
        let mut v = vec![0u8; 0x20];
        v[0] = 0x30;
        v[4] = 1;
        v[8..12].copy_from_slice(&4096u32.to_le_bytes());
        v[0x10] = 0x10;
        let used = (0x10 + body.len()) as u32;
        v[0x14..0x18].copy_from_slice(&used.to_le_bytes());
        v[0x18..0x1C].copy_from_slice(&used.to_le_bytes());
        v.extend_from_slice(&body);
        v
    }

    #[test]
    fn walks_root_entries() {
        let v = root(&[entry(0x0001_0000_0000_0040, "Windows", Some(3)), last(Some(7))]);
        let r = parse_root(&v, 0).unwrap();
        let es = entries(&v, r.node, 0).unwrap();
        assert_eq!(es.len(), 2);
        assert_eq!(es[0].child, Some(3));
        assert_eq!(parse_file_name(es[0].key, 0).unwrap().name, "Windows".encode_utf16().collect::<Vec<_>>());
        assert!(es[1].last && es[1].child == Some(7));
    }

    #[test]
    fn hostile_entries_and_headers() {
        // Entry length 0 (the ntfs crate's slice panic).
        let mut v = root(&[entry(1, "a", None), last(None)]);
        v[0x20 + 8] = 0;
        let r = parse_root(&v, 0).unwrap();
        assert!(matches!(entries(&v, r.node, 0), Err(ImageError::Corrupt { .. })));
        // Key length past the entry.
        let mut v = root(&[entry(1, "a", None), last(None)]);
        v[0x20 + 10] = 0xFF;
        let r = parse_root(&v, 0).unwrap();
        assert!(entries(&v, r.node, 0).is_err());
        // No last entry.
        let v = root(&[entry(1, "a", None)]);
        let r = parse_root(&v, 0).unwrap();
        assert!(entries(&v, r.node, 0).is_err());
        // Entries offset past the index data; used past allocated; allocated past the value.
        for (at, val) in [(0x10usize, 0x100u32), (0x14, 0x1000), (0x18, 0x1000), (0x10, 4), (0x10, 0x12)] {
            let mut v = root(&[entry(1, "a", None), last(None)]);
            v[at..at + 4].copy_from_slice(&val.to_le_bytes());
            assert!(matches!(parse_root(&v, 0), Err(ImageError::BadField { .. })), "{at:#x}={val:#x}");
        }
        // Not a file-name index; odd block size.
        let mut v = root(&[last(None)]);
        v[0] = 0;
        assert!(parse_root(&v, 0).is_err());
        let mut v = root(&[last(None)]);
        v[8] = 3;
        assert!(parse_root(&v, 0).is_err());
        assert!(parse_root(&[], 0).is_err());
        // A file name longer than its key.
        let mut k = vec![0u8; 0x44];
        k[0x40] = 5;
        assert!(parse_file_name(&k, 0).is_err());
    }

    #[test]
    fn indx_block_checks() {
        let mut b = vec![0u8; 4096];
        b[..4].copy_from_slice(b"INDX");
        b[4] = 0x28;
        b[6] = 9;
        b[0x10..0x18].copy_from_slice(&5u64.to_le_bytes());
        let body = last(None);
        b[0x18] = 0x28; // entries at 0x18 + 0x28 = 0x40
        b[0x1C..0x20].copy_from_slice(&((0x28 + body.len()) as u32).to_le_bytes());
        b[0x20..0x24].copy_from_slice(&(4096u32 - 0x18).to_le_bytes());
        b[0x40..0x40 + body.len()].copy_from_slice(&body);
        crate::ntfs::record::tests::protect(&mut b, 0x28, 1);
        let mut ok = b.clone();
        let node = parse_block(&mut ok, 5, 0).unwrap();
        assert_eq!(entries(&ok, node, 0).unwrap().len(), 1);
        assert!(matches!(parse_block(&mut b.clone(), 6, 0), Err(ImageError::BadField { .. })));
        let mut torn = b.clone();
        torn[2046] ^= 1;
        assert!(matches!(parse_block(&mut torn, 5, 0), Err(ImageError::Corrupt { .. })));
        let mut sig = b;
        sig[0] = b'X';
        assert!(matches!(parse_block(&mut sig, 5, 0), Err(ImageError::BadSignature { .. })));
    }
}
