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
            if tail.iter().any(|&b| b != b' ' && b != 0) || digits.len() > 22 {
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
    let len = usize::try_from(ovf_member.len).unwrap_or(usize::MAX);
    let mut bytes = Vec::new();
    // Fallible: a caller may raise max_config_bytes past what memory holds.
    bytes.try_reserve_exact(len).map_err(|_| VmConfigError::LimitExceeded {
        limit: "max_config_bytes",
        value: ovf_member.len,
        max: limits.max_config_bytes,
    })?;
    bytes.resize(len, 0);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A ustar header for `name` of `size` bytes with type `flag`, checksum set.
    fn header(name: &[u8], size: u64, flag: u8) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
        h[100..108].copy_from_slice(b"0000644\0");
        h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
        h[156] = flag;
        h[257..265].copy_from_slice(b"ustar\x0000");
        seal(&mut h);
        h
    }

    fn seal(h: &mut [u8]) {
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    }

    fn member(out: &mut Vec<u8>, name: &[u8], data: &[u8], flag: u8) {
        out.extend(header(name, data.len() as u64, flag));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }

    fn end(out: &mut Vec<u8>) {
        out.extend([0u8; 1024]);
    }

    const OVF: &str = r#"<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
<References><File ovf:id="f1" ovf:href="HREF"/></References>
<VirtualSystem ovf:id="vm"><VirtualHardwareSection>
<Item><rasd:ElementName>Hard disk 1</rasd:ElementName><rasd:HostResource>ovf:/file/f1</rasd:HostResource><rasd:ResourceType>17</rasd:ResourceType></Item>
</VirtualHardwareSection></VirtualSystem></Envelope>"#;

    fn ovf(href: &str) -> Vec<u8> {
        OVF.replace("HREF", href).into_bytes()
    }

    fn ova(bytes: &[u8]) -> Result<VmConfig> {
        parse_ova(&mut Cursor::new(bytes), &VmConfigLimits::default())
    }

    #[test]
    fn numbers() {
        assert_eq!(tar_number(b"00000001750\0"), Some(1000));
        assert_eq!(tar_number(b"   1750 \0\0\0\0"), Some(1000));
        assert_eq!(tar_number(b"\0\0\0\0"), Some(0));
        assert_eq!(tar_number(b"0000000175 1"), None);
        assert_eq!(tar_number(b"00000001790\0"), None);
        assert_eq!(tar_number(b"7777777777777777777777"), None);
        assert_eq!(tar_number(b"1777777777777777777777"), Some(u64::MAX));
        assert_eq!(tar_number(b"2000000000000000000000"), None);
        assert_eq!(tar_number(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34]), Some(0x1234));
        assert_eq!(tar_number(&[0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(tar_number(&[0xff; 12]), None);
        assert_eq!(tar_number(&[0x80]), Some(0));
        assert_eq!(pax_path(b"11 path=ab\n16 mtime=1.5\nx\n"), None);
        assert_eq!(pax_path(b"11 path=ab\n"), Some(b"ab".to_vec()));
        assert_eq!(pax_path(b"1 x"), None);
        assert_eq!(pax_path(b"99 path=ab\n"), None);
        assert_eq!(pax_path(b"10 pathab\n"), None);
        assert_eq!(pax_path(b"x path=a\n"), None);
        assert_eq!(pax_path(b""), None);
    }

    #[test]
    fn gnu_long_names_pax_paths_and_directories() {
        let long = format!("{}/disk.vmdk", "d".repeat(150));
        let mut t = Vec::new();
        member(&mut t, b"vm.ovf", &ovf(&long), b'0');
        member(&mut t, b"dir/", b"", b'5');
        member(&mut t, b"././@LongLink", format!("{long}\0").as_bytes(), b'L');
        member(&mut t, b"truncated-name", b"DISK", b'0');
        let vm = ova(&{
            let mut t = t.clone();
            end(&mut t);
            t
        })
        .unwrap();
        let DiskLocation::ArchiveMember { name, offset, len } = &vm.disks[0].location else { panic!() };
        assert_eq!((name.as_str(), *len), (long.as_str(), 4));
        assert_eq!(t[*offset as usize..*offset as usize + 4], *b"DISK");

        let mut t = Vec::new();
        member(&mut t, b"./vm.ovf", &ovf("./p.vmdk"), b'0');
        member(&mut t, b"PaxHeader/x", b"", b'x');
        member(&mut t, b"PaxHeader/x", b"15 path=p.vmdk\n", b'x');
        member(&mut t, b"other-name", b"PAX", b'0');
        member(&mut t, b"global", b"9 a=b\n", b'g');
        member(&mut t, b"PaxHeader/y", b"9 a=b\n", b'x');
        member(&mut t, b"after-pax", b"", b'0');
        // No end-of-archive blocks: a warning.
        let vm = ova(&t).unwrap();
        assert!(matches!(&vm.disks[0].location, DiskLocation::ArchiveMember { name, len: 3, .. } if name == "p.vmdk"));
        let w = vm.warnings.join("\n");
        assert!(w.contains("no readable path") && w.contains("end-of-archive"), "{w}");
    }

    #[test]
    fn gnu_magic_and_base256_size() {
        let mut t = Vec::new();
        member(&mut t, b"vm.ovf", &ovf("disk.vmdk"), b'0');
        let mut h = header(b"disk.vmdk", 0, b'0');
        h[257..265].copy_from_slice(b"ustar  \0");
        h[124..136].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]);
        seal(&mut h);
        t.extend(h);
        t.extend(b"HELLO");
        t.resize(t.len().div_ceil(512) * 512, 0);
        end(&mut t);
        let vm = ova(&t).unwrap();
        assert!(matches!(&vm.disks[0].location, DiskLocation::ArchiveMember { len: 5, .. }));
        assert_eq!(vm.kind, ConfigKind::Ova);
    }

    #[test]
    fn hostile_archives() {
        let mut good = Vec::new();
        member(&mut good, b"vm.ovf", &ovf("disk.vmdk"), b'0');
        member(&mut good, b"disk.vmdk", b"DATA", b'0');
        end(&mut good);
        assert!(ova(&good).is_ok());

        // Empty, or shorter than one header.
        assert!(matches!(ova(b""), Err(VmConfigError::Truncated { offset: 0, available: 0, .. })));
        assert!(matches!(ova(&good[..300]), Err(VmConfigError::Truncated { what: "tar header", .. })));
        // Cut inside the second member's header, and inside its data.
        let second = 512 + ovf("disk.vmdk").len().div_ceil(512) * 512;
        assert!(matches!(ova(&good[..second + 100]), Err(VmConfigError::Truncated { what: "tar header", .. })));
        assert!(matches!(
            ova(&good[..second + 514]),
            Err(VmConfigError::Truncated { what: "tar member data", needed: 4, available: 2, .. })
        ));
        // A size past the end of the file (octal and base-256).
        for size in [&b"77777777777\0"[..], &[0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]] {
            let mut t = good.clone();
            t[second + 124..second + 136].copy_from_slice(size);
            seal(&mut t[second..second + 512]);
            let e = ova(&t).unwrap_err();
            assert!(
                matches!(e, VmConfigError::Truncated { what: "tar member data", .. } | VmConfigError::BadField { .. }),
                "{e}"
            );
        }
        // Bad checksum, magic, size field.
        let mut t = good.clone();
        t[second] ^= 1;
        assert!(matches!(ova(&t), Err(VmConfigError::BadField { what: "tar checksum", .. })));
        let mut t = good.clone();
        t[second + 150] = b'9';
        assert!(matches!(ova(&t), Err(VmConfigError::BadField { what: "tar checksum", .. })));
        let mut t = good.clone();
        t[second + 257..second + 262].copy_from_slice(b"xxxxx");
        seal(&mut t[second..second + 512]);
        assert!(matches!(ova(&t), Err(VmConfigError::BadField { what: "tar magic", .. })));
        let mut t = good.clone();
        t[second + 124] = b'9';
        seal(&mut t[second..second + 512]);
        assert!(matches!(ova(&t), Err(VmConfigError::BadField { what: "tar size", .. })));
        // A huge GNU long name.
        let mut t = Vec::new();
        member(&mut t, b"vm.ovf", &ovf("x"), b'0');
        member(&mut t, b"././@LongLink", &vec![b'a'; 70_000], b'L');
        assert!(matches!(ova(&t), Err(VmConfigError::BadField { what: "tar long name or pax header size", .. })));
    }

    #[test]
    fn member_names_and_references() {
        // The href names no member, or several.
        let mut t = Vec::new();
        member(&mut t, b"vm.ovf", &ovf("missing.vmdk"), b'0');
        end(&mut t);
        let e = ova(&t).unwrap_err();
        assert!(matches!(&e, VmConfigError::MemberNotFound { href, .. } if href == "missing.vmdk"), "{e}");
        assert!(e.to_string().contains("missing.vmdk"));
        let mut t = Vec::new();
        member(&mut t, b"vm.ovf", &ovf("d.vmdk"), b'0');
        member(&mut t, b"d.vmdk", b"1", b'0');
        member(&mut t, b"./d.vmdk", b"2", b'0');
        end(&mut t);
        assert!(matches!(
            ova(&t),
            Err(VmConfigError::MemberNotFound { reason: "names several members of the archive", .. })
        ));
        // '..' and absolute names are only names: resolved inside the archive, with a warning.
        let mut t = Vec::new();
        member(&mut t, b"vm.ovf", &ovf("../../etc/shadow"), b'0');
        member(&mut t, b"../../etc/shadow", b"not really", b'0');
        member(&mut t, b"/abs", b"", b'0');
        end(&mut t);
        let vm = ova(&t).unwrap();
        assert!(
            matches!(&vm.disks[0].location, DiskLocation::ArchiveMember { name, len: 10, .. } if name == "../../etc/shadow")
        );
        assert_eq!(vm.warnings.iter().filter(|w| w.contains("absolute or '..'")).count(), 2, "{:?}", vm.warnings);
        // The .ovf is not first: read with a warning. No .ovf at all: an error.
        let mut t = Vec::new();
        member(&mut t, b"vm.mf", b"SHA256(vm.ovf)= 00\n", b'0');
        member(&mut t, b"VM.OVF", &ovf("vm.mf"), b'0');
        end(&mut t);
        let vm = ova(&t).unwrap();
        assert!(vm.warnings[0].contains("not the .ovf"), "{:?}", vm.warnings);
        let mut t = Vec::new();
        member(&mut t, b"vm.mf", b"", b'0');
        end(&mut t);
        assert!(matches!(ova(&t), Err(VmConfigError::Missing { what: "OVA descriptor", .. })));
        // The .ovf member is bigger than max_config_bytes; too many members.
        let mut t = Vec::new();
        member(&mut t, b"vm.ovf", &ovf("a"), b'0');
        member(&mut t, b"a", b"", b'0');
        end(&mut t);
        let small = VmConfigLimits { max_config_bytes: 100, ..Default::default() };
        assert!(matches!(
            parse_ova(&mut Cursor::new(&t), &small),
            Err(VmConfigError::LimitExceeded { limit: "max_config_bytes", .. })
        ));
        let few = VmConfigLimits { max_archive_members: 1, ..Default::default() };
        assert!(matches!(
            parse_ova(&mut Cursor::new(&t), &few),
            Err(VmConfigError::LimitExceeded { limit: "max_archive_members", value: 2, .. })
        ));
        // A broken .ovf inside: its own error.
        let mut t = Vec::new();
        member(&mut t, b"vm.ovf", b"<Envelope", b'0');
        end(&mut t);
        assert!(matches!(ova(&t), Err(VmConfigError::Xml { .. })));
    }

    #[test]
    fn ten_thousand_members() {
        let mut t = Vec::new();
        member(&mut t, b"vm.ovf", &ovf("m9999"), b'0');
        for i in 0..10_000 {
            member(&mut t, format!("m{i}").as_bytes(), b"", b'0');
        }
        end(&mut t);
        let e = ova(&t).unwrap_err();
        assert!(matches!(e, VmConfigError::LimitExceeded { limit: "max_archive_members", value: 10_001, .. }), "{e}");
        let vm = parse_ova(&mut Cursor::new(&t), &VmConfigLimits { max_archive_members: 10_001, ..Default::default() })
            .unwrap();
        assert!(matches!(&vm.disks[0].location, DiskLocation::ArchiveMember { name, .. } if name == "m9999"));
    }

    /// A reader whose reads fail after `ok` bytes.
    struct Failing {
        inner: Cursor<Vec<u8>>,
        ok: u64,
    }
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.inner.position() >= self.ok {
                return Err(std::io::Error::other("disk on fire"));
            }
            self.inner.read(buf)
        }
    }
    impl Seek for Failing {
        fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
            self.inner.seek(pos)
        }
    }

    #[test]
    fn io_errors_carry_context() {
        let mut t = Vec::new();
        member(&mut t, b"vm.ovf", &ovf("a"), b'0');
        end(&mut t);
        let e =
            parse_ova(&mut Failing { inner: Cursor::new(t.clone()), ok: 0 }, &VmConfigLimits::default()).unwrap_err();
        assert!(matches!(&e, VmConfigError::Io { context, .. } if context.contains("tar header")), "{e}");
        assert!(e.to_string().contains("disk on fire"));
        let e = parse_ova(&mut Failing { inner: Cursor::new(t), ok: 512 }, &VmConfigLimits::default()).unwrap_err();
        assert!(matches!(&e, VmConfigError::Io { .. }), "{e}");
    }

    #[test]
    fn detection() {
        let mut t = Vec::new();
        member(&mut t, b"vm.OVF", b"", b'0');
        assert!(looks_like_ova(&t));
        let mut h = header(b"x.ovf", 0, b'0');
        h[345..348].copy_from_slice(b"dir");
        assert!(looks_like_ova(&h));
        assert!(!looks_like_ova(&header(b"disk.vmdk", 0, b'0')));
        assert!(!looks_like_ova(&t[..511]));
        assert!(!looks_like_ova(b".ovf"));
        assert_eq!(header_name(&h), b"dir/x.ovf");
    }
}
