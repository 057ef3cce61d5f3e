//! OVA archives: a tar (ustar or GNU; pax headers read for `path` only) whose first member is the
//! `.ovf` descriptor. The walker reads one 512-byte header at a time, checks every number and the
//! header checksum, and never reads a member's data except the `.ovf`'s.

use std::io::{Read, Seek, SeekFrom};

use crate::{clip, ovf, warn, ConfigKind, DiskLocation, Result, VmConfig, VmConfigError, VmConfigLimits};

const BLOCK: u64 = 512;
/// Largest GNU long name or pax header read, bytes.
const MAX_META: u64 = 64 << 10;

/// One regular-file member of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

fn field(h: &[u8], start: usize, len: usize) -> &[u8] {
    h.get(start..start + len).unwrap_or_default()
}

/// A NUL-terminated string field.
fn cstr(f: &[u8]) -> &[u8] {
    let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
    f.get(..end).unwrap_or_default()
}

/// The member name of a ustar header: `prefix/name`.
fn header_name(h: &[u8]) -> Vec<u8> {
    let name = cstr(field(h, 0, 100));
    let prefix = if field(h, 257, 6) == b"ustar\0" { cstr(field(h, 345, 155)) } else { &[] };
    let mut out = Vec::with_capacity(prefix.len() + 1 + name.len());
    if !prefix.is_empty() {
        out.extend_from_slice(prefix);
        out.push(b'/');
    }
    out.extend_from_slice(name);
    out
}

fn ends_with_ovf(name: &[u8]) -> bool {
    name.len() >= 4 && name.get(name.len() - 4..).is_some_and(|s| s.eq_ignore_ascii_case(b".ovf"))
}

/// Whether `head` starts a ustar or GNU tar whose first member's name ends in `.ovf`.
pub(crate) fn looks_like_ova(head: &[u8]) -> bool {
    head.len() >= BLOCK as usize && field(head, 257, 5) == b"ustar" && ends_with_ovf(&header_name(head))
}

/// A tar number: octal (space or NUL padded), or GNU base-256 (first byte 0x80).
pub(crate) fn tar_number(f: &[u8]) -> Option<u64> {
    match f.first() {
        Some(0x80) => {
            let rest = f.get(1..)?;
            let skip = rest.len().saturating_sub(8);
            if rest.get(..skip)?.iter().any(|&b| b != 0) {
                return None;
            }
            Some(rest.get(skip..)?.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
        }
        Some(b) if b & 0x80 != 0 => None,
        _ => {
            let s = f.iter().position(|&b| b != b' ' && b != 0).map_or(&[][..], |i| f.get(i..).unwrap_or_default());
            let end = s.iter().position(|&b| b == b' ' || b == 0).unwrap_or(s.len());
            let (digits, tail) = s.split_at(end);
            if tail.iter().any(|&b| b != b' ' && b != 0) || digits.len() > 21 {
                return None;
            }
            digits.iter().try_fold(0u64, |acc, &b| match b {
                b'0'..=b'7' => acc.checked_mul(8)?.checked_add(u64::from(b - b'0')),
                _ => None,
            })
        }
    }
}

fn read_at<R: Read + Seek>(r: &mut R, pos: u64, buf: &mut [u8], what: &str) -> Result<()> {
    r.seek(SeekFrom::Start(pos)).map_err(|e| VmConfigError::io(format!("seeking to {what} at {pos:#x}"), e))?;
    r.read_exact(buf).map_err(|e| VmConfigError::io(format!("reading {what} at {pos:#x}"), e))
}

/// The `path` of a pax extended header (records `LEN key=value\n`), if it has one.
fn pax_path(data: &[u8]) -> Option<Vec<u8>> {
    let mut rest = data;
    let mut path = None;
    // Each record consumes at least one byte.
    while !rest.is_empty() {
        let sp = rest.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(rest.get(..sp)?).ok()?.parse().ok()?;
        if len <= sp + 1 {
            return None;
        }
        let record = rest.get(sp + 1..len)?;
        let record = record.strip_suffix(b"\n")?;
        let eq = record.iter().position(|&b| b == b'=')?;
        if record.get(..eq)? == b"path" {
            path = Some(record.get(eq + 1..)?.to_vec());
        }
        rest = rest.get(len..)?;
    }
    path
}

/// Walks the tar headers: the regular-file members, in archive order.
pub(crate) fn members<R: Read + Seek>(
    r: &mut R,
    limits: &VmConfigLimits,
    warnings: &mut Vec<String>,
) -> Result<Vec<Member>> {
    let file_len = r.seek(SeekFrom::End(0)).map_err(|e| VmConfigError::io("seeking to the end of the OVA", e))?;
    let mut out = Vec::new();
    let mut pos = 0u64;
    let mut headers = 0usize;
    let mut long_name: Option<Vec<u8>> = None;
    let mut pax_name: Option<Vec<u8>> = None;
    let mut h = [0u8; BLOCK as usize];
    loop {
        if pos >= file_len {
            if pos == 0 {
                return Err(VmConfigError::Truncated { what: "tar header", offset: 0, needed: BLOCK, available: 0 });
            }
            warn(warnings, "OVA ends without the tar end-of-archive blocks");
            break;
        }
        let available = file_len - pos;
        if available < BLOCK {
            return Err(VmConfigError::Truncated { what: "tar header", offset: pos, needed: BLOCK, available });
        }
        read_at(r, pos, &mut h, "tar header")?;
        if h.iter().all(|&b| b == 0) {
            break;
        }
        headers += 1;
        VmConfigLimits::check("max_archive_members", headers as u64, limits.max_archive_members as u64)?;
        let bad = |what, off: u64, value: &[u8], expected| VmConfigError::BadField {
            what,
            offset: pos + off,
            value: clip(&String::from_utf8_lossy(value), 40),
            expected,
        };
        if field(&h, 257, 5) != b"ustar" {
            return Err(bad("tar magic", 257, field(&h, 257, 8), "\"ustar\" (a ustar or GNU tar)"));
        }
        let stored =
            tar_number(field(&h, 148, 8)).ok_or_else(|| bad("tar checksum", 148, field(&h, 148, 8), "octal"))?;
        let sum: u64 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| if (148..156).contains(&i) { u64::from(b' ') } else { u64::from(b) })
            .sum();
        if stored != sum {
            return Err(bad("tar checksum", 148, field(&h, 148, 8), "the sum of the header's bytes"));
        }
        let size = tar_number(field(&h, 124, 12))
            .ok_or_else(|| bad("tar size", 124, field(&h, 124, 12), "octal or base-256"))?;
        let data = pos + BLOCK;
        let left = file_len - data;
        if size > left {
            return Err(VmConfigError::Truncated {
                what: "tar member data",
                offset: data,
                needed: size,
                available: left,
            });
        }
        // size <= left, so data + padded size cannot overflow far past file_len.
        let padded = size.div_ceil(BLOCK).saturating_mul(BLOCK);
        let next = data.saturating_add(padded);
        let typeflag = h.get(156).copied().unwrap_or(0);
        match typeflag {
            b'L' | b'x' => {
                if size > MAX_META {
                    return Err(VmConfigError::BadField {
                        what: "tar long name or pax header size",
                        offset: pos + 124,
                        value: size.to_string(),
                        expected: "at most 64 KiB",
                    });
                }
                let mut buf = vec![0u8; size as usize];
                read_at(r, data, &mut buf, "tar extended header")?;
                if typeflag == b'L' {
                    long_name = Some(cstr(&buf).to_vec());
                } else {
                    match pax_path(&buf) {
                        Some(p) => pax_name = Some(p),
                        None if buf.is_empty() => {}
                        None => warn(warnings, format!("pax header at {pos:#x} has no readable path; skipped")),
                    }
                }
            }
            b'0' | 0 | b'7' => {
                let raw = pax_name.take().or_else(|| long_name.take()).unwrap_or_else(|| header_name(&h));
                let name = String::from_utf8_lossy(&raw).into_owned();
                let name = name.strip_prefix("./").map(str::to_owned).unwrap_or(name);
                if name.starts_with('/') || name.split('/').any(|c| c == "..") {
                    warn(warnings, format!("OVA member {:?} has an absolute or '..' name", clip(&name, 80)));
                }
                out.push(Member { name, offset: data, len: size });
            }
            _ => {
                // Directories, links, global pax headers, ...: nothing to read.
                long_name = None;
                pax_name = None;
            }
        }
        pos = next;
    }
    Ok(out)
}

/// Reads an OVA: walks its tar headers (bounded by `max_archive_members`), reads the `.ovf`
/// member (bounded by `max_config_bytes`), parses it, and resolves each disk's References `href`
/// to the tar member holding it ([`DiskLocation::ArchiveMember`]). A `href` naming no member, or
/// several, is [`VmConfigError::MemberNotFound`] naming it. Nothing but the headers and the
/// `.ovf` is read.
///
/// ```
/// # fn main() -> Result<(), regnet_vmconfig::VmConfigError> {
/// // A one-member archive: just the descriptor, no disks.
/// let ovf = br#"<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
///   <VirtualSystem ovf:id="vm1"><VirtualHardwareSection/></VirtualSystem></Envelope>"#;
/// let mut tar = vec![0u8; 512];
/// tar[..7].copy_from_slice(b"vm1.ovf");
/// tar[100..108].copy_from_slice(b"0000644\0");
/// tar[124..136].copy_from_slice(format!("{:011o}\0", ovf.len()).as_bytes());
/// tar[156] = b'0';
/// tar[257..265].copy_from_slice(b"ustar\x0000");
/// tar[148..156].copy_from_slice(b"        ");
/// let sum: u32 = tar.iter().map(|&b| u32::from(b)).sum();
/// tar[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
/// tar.extend_from_slice(ovf);
/// tar.resize(tar.len().div_ceil(512) * 512 + 1024, 0);
/// assert_eq!(regnet_vmconfig::detect(&tar), Some(regnet_vmconfig::ConfigKind::Ova));
/// let vm = regnet_vmconfig::parse_ova(&mut std::io::Cursor::new(tar), &Default::default())?;
/// assert_eq!(vm.name.as_deref(), Some("vm1"));
/// # Ok(()) }
/// ```
pub fn parse_ova<R: Read + Seek>(reader: &mut R, limits: &VmConfigLimits) -> Result<VmConfig> {
    let mut warnings = Vec::new();
    let members = members(reader, limits, &mut warnings)?;
    let ovf_member = match members.first() {
        Some(m) if ends_with_ovf(m.name.as_bytes()) => m,
        _ => {
            let m = members.iter().find(|m| ends_with_ovf(m.name.as_bytes())).ok_or_else(|| {
                VmConfigError::Missing { what: "OVA descriptor", expected: "a member whose name ends in .ovf".into() }
            })?;
            warn(&mut warnings, format!("OVA's first member is not the .ovf; read {:?}", clip(&m.name, 80)));
            m
        }
    };
    VmConfigLimits::check("max_config_bytes", ovf_member.len, limits.max_config_bytes)?;
    let mut bytes = vec![0u8; ovf_member.len as usize];
    read_at(reader, ovf_member.offset, &mut bytes, "the OVA's .ovf member")?;
    let mut vm = ovf::parse(&bytes, limits)?;
    vm.kind = ConfigKind::Ova;
    for disk in &mut vm.disks {
        let DiskLocation::File(href) = &disk.location else { continue };
        let want = href.strip_prefix("./").unwrap_or(href);
        let mut found = members.iter().filter(|m| m.name == want);
        let m = found.next().ok_or_else(|| VmConfigError::MemberNotFound {
            href: href.clone(),
            reason: "is not a member of the archive",
        })?;
        if found.next().is_some() {
            return Err(VmConfigError::MemberNotFound {
                href: href.clone(),
                reason: "names several members of the archive",
            });
        }
        disk.location = DiskLocation::ArchiveMember { name: m.name.clone(), offset: m.offset, len: m.len };
    }
    warnings.append(&mut vm.warnings);
    vm.warnings = warnings;
    Ok(vm)
}
