//! A test-only writer of LVM2 physical volumes: the label, the PV header, metadata areas and their
//! circular text buffers, and VG metadata text describing the VGs and LVs a test asks for.
//!
//! Written from the on-disk layout as LVM2's `lib/label/label.c` and `lib/format_text/` lay it
//! out (read for the facts only) and from PVs `pvcreate` made; independent of regnet's reader.
//! `regnet-image/tests/lvm_tools.rs` proves its output with `pvs`, `vgs` and `lvs` on a loop
//! device.
//!
//! # What is written (all integers little-endian)
//! - **Label** in sector [`PvLayout::label_sector`] (1, as `pvcreate` writes it): `LABELONE`,
//!   the sector number, the CRC of bytes 20..512, the PV header offset 32, `LVM2 001`.
//! - **PV header** at byte 32 of the label sector: the 32-character UUID, the device size, the
//!   data area list (one area from `pe_start`, size 0: to the end), the metadata area list, each
//!   ending in a zero entry, then the extension `pvcreate` writes (version 2, flags 1, and an
//!   empty bootloader-area list).
//! - **Metadata areas**: a 512-byte header (CRC of bytes 4..512, ` LVM2 x[5A%r0N*>`, version 1,
//!   start, size, then `raw_locn` slot 0: offset from the area start, size, CRC of the text,
//!   flags) and the text after it, placed as LVM places each new commit: at the end of the
//!   previous text rounded up to 512 bytes, back at byte 512 of the area when fewer than 512
//!   bytes would remain; a text that passes the end of the area continues at byte 512 (it
//!   *wraps*). [`PvImage::commit`] writes successive versions that way, so committing enough of
//!   them wraps the buffer as many changes on a real PV do.
//! - **Metadata text** ([`VgSpec::text`]): LVM's syntax, laid out as LVM writes it on disk (the
//!   VG section, then `contents`, `version`, `description`, `creation_host`, `creation_time`), a
//!   NUL byte after it (counted in its size, as LVM does).
//!
//! ```
//! use regnet_testkit::lvm::{LvSpec, PvImage, PvLayout, SegSpec, VgSpec};
//!
//! let mut vg = VgSpec::new("vg0", 8); // 4 KiB extents
//! vg.add_pv("pv0", PvLayout::small("pv0-uuid-seed", 1 << 20));
//! vg.lvs.push(LvSpec::new("root", vec![SegSpec::linear(0, 10, "pv0", 0)]));
//! let images: Vec<PvImage> = vg.write();
//! assert_eq!(&images[0].bytes[512..520], b"LABELONE");
//! ```

/// The initial value of LVM's CRC.
pub const INITIAL_CRC: u32 = 0xF597_A6CF;
/// The metadata area header's magic.
pub const MDA_MAGIC: &[u8; 16] = b" LVM2 x[5A%r0N*>";
/// Bytes of a sector and of a metadata area header.
pub const SECTOR: u64 = 512;

/// LVM's CRC: reflected CRC-32 (polynomial 0xEDB88320) from `state`, no final XOR. Bitwise, so
/// that it shares nothing with the reader's table-driven one.
pub fn crc(state: u32, data: &[u8]) -> u32 {
    let mut c = state;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
        }
    }
    c
}

/// A valid 32-character LVM UUID made from `seed` (the same seed, the same UUID).
pub fn uuid(seed: &str) -> String {
    const CHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut out = String::new();
    for i in 0..32u64 {
        for &b in seed.as_bytes().iter().chain(&i.to_le_bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        out.push(char::from(CHARS[(h % CHARS.len() as u64) as usize]));
    }
    out
}

/// The dashed form (6-4-4-4-4-4-6) LVM prints and writes in metadata.
pub fn dashed(uuid: &str) -> String {
    let raw: String = uuid.chars().filter(|&c| c != '-').collect();
    let mut out = String::new();
    for (i, c) in raw.chars().enumerate() {
        if [6, 10, 14, 18, 22, 26].contains(&i) {
            out.push('-');
        }
        out.push(c);
    }
    out
}

/// Where things go on one PV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvLayout {
    /// Its UUID (32 characters; dashes are dropped).
    pub uuid: String,
    /// Its size in bytes (the device size its header records, and the image's length).
    pub size: u64,
    /// The sector (0–3) the label goes in.
    pub label_sector: u64,
    /// Metadata areas: (offset, size) in bytes from the start of the PV.
    pub mdas: Vec<(u64, u64)>,
    /// Where the first extent starts, bytes.
    pub pe_start: u64,
}

impl PvLayout {
    /// `pvcreate`'s default layout: the label in sector 1, one metadata area from 4 KiB to 1 MiB,
    /// extents from 1 MiB. The UUID is made from `seed` with [`uuid`].
    pub fn new(seed: &str, size: u64) -> Self {
        PvLayout { uuid: uuid(seed), size, label_sector: 1, mdas: vec![(4096, (1 << 20) - 4096)], pe_start: 1 << 20 }
    }

    /// A small layout for fuzz seeds and unit tests: one 28 KiB metadata area from 4 KiB,
    /// extents from 32 KiB.
    pub fn small(seed: &str, size: u64) -> Self {
        PvLayout { uuid: uuid(seed), size, label_sector: 1, mdas: vec![(4096, 28 << 10)], pe_start: 32 << 10 }
    }
}

/// One PV's bytes, and where its text went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvImage {
    /// The layout it was made with.
    pub layout: PvLayout,
    /// The whole PV.
    pub bytes: Vec<u8>,
    /// For each metadata area, the (offset, size) of its committed text, from the area's start.
    pub committed: Vec<Option<(u64, u64)>>,
}

impl PvImage {
    /// A PV with its label, header, and empty metadata areas (a PV in no VG).
    pub fn new(layout: PvLayout) -> Self {
        let len = usize::try_from(layout.size).expect("PV size fits in memory");
        let mut img = PvImage { committed: vec![None; layout.mdas.len()], layout, bytes: vec![0; len] };
        img.write_label();
        for i in 0..img.layout.mdas.len() {
            img.write_mda_header(i, None);
        }
        img
    }

    /// Byte offset of the label sector.
    pub fn label_at(&self) -> usize {
        (self.layout.label_sector * SECTOR) as usize
    }

    /// Byte offset of metadata area `i`'s header.
    pub fn mda_at(&self, i: usize) -> usize {
        self.layout.mdas[i].0 as usize
    }

    fn put(&mut self, at: usize, data: &[u8]) {
        self.bytes[at..at + data.len()].copy_from_slice(data);
    }

    fn write_label(&mut self) {
        let at = self.label_at();
        let mut s = vec![0u8; 512];
        s[..8].copy_from_slice(b"LABELONE");
        s[8..16].copy_from_slice(&self.layout.label_sector.to_le_bytes());
        s[20..24].copy_from_slice(&32u32.to_le_bytes());
        s[24..32].copy_from_slice(b"LVM2 001");
        let raw: Vec<u8> = self.layout.uuid.bytes().filter(|&c| c != b'-').collect();
        s[32..32 + raw.len().min(32)].copy_from_slice(&raw[..raw.len().min(32)]);
        s[64..72].copy_from_slice(&self.layout.size.to_le_bytes());
        let mut p = 72;
        let mut entry = |s: &mut Vec<u8>, o: u64, z: u64| {
            s[p..p + 8].copy_from_slice(&o.to_le_bytes());
            s[p + 8..p + 16].copy_from_slice(&z.to_le_bytes());
            p += 16;
        };
        entry(&mut s, self.layout.pe_start, 0);
        entry(&mut s, 0, 0);
        for &(o, z) in &self.layout.mdas {
            entry(&mut s, o, z);
        }
        entry(&mut s, 0, 0);
        // The extension pvcreate writes: version 2, flags 1 (PV in use), no bootloader areas.
        s[p..p + 4].copy_from_slice(&2u32.to_le_bytes());
        s[p + 4..p + 8].copy_from_slice(&1u32.to_le_bytes());
        self.put(at, &s);
        self.reseal_label();
    }

    /// Recomputes the label's CRC (after a test patched it).
    pub fn reseal_label(&mut self) {
        let at = self.label_at();
        let c = crc(INITIAL_CRC, &self.bytes[at + 20..at + 512]);
        self.put(at + 16, &c.to_le_bytes());
    }

    /// Writes metadata area `i`'s header with slot 0 = `locn` (offset, size, checksum, flags).
    pub fn write_mda_header(&mut self, i: usize, locn: Option<(u64, u64, u32, u32)>) {
        let (start, size) = self.layout.mdas[i];
        let mut h = vec![0u8; 512];
        h[4..20].copy_from_slice(MDA_MAGIC);
        h[20..24].copy_from_slice(&1u32.to_le_bytes());
        h[24..32].copy_from_slice(&start.to_le_bytes());
        h[32..40].copy_from_slice(&size.to_le_bytes());
        if let Some((o, z, c, f)) = locn {
            h[40..48].copy_from_slice(&o.to_le_bytes());
            h[48..56].copy_from_slice(&z.to_le_bytes());
            h[56..60].copy_from_slice(&c.to_le_bytes());
            h[60..64].copy_from_slice(&f.to_le_bytes());
        }
        self.put(start as usize, &h);
        self.reseal_mda_header(i);
    }

    /// Recomputes metadata area `i`'s header CRC (after a test patched it).
    pub fn reseal_mda_header(&mut self, i: usize) {
        let at = self.mda_at(i);
        let c = crc(INITIAL_CRC, &self.bytes[at + 4..at + 512]);
        self.put(at, &c.to_le_bytes());
    }

    /// Commits `text` (a NUL is appended) to every metadata area, each placed after the area's
    /// previous text as LVM places it, wrapping around the circular buffer when it must.
    pub fn commit(&mut self, text: &str) {
        for i in 0..self.layout.mdas.len() {
            let (_, size) = self.layout.mdas[i];
            let offset = match self.committed[i] {
                None => SECTOR,
                Some((o, z)) => {
                    let last = o + z - 1;
                    // The previous text's last byte, in the area (it may have wrapped).
                    let last = if last >= size { last - size + SECTOR } else { last };
                    if size - last < SECTOR {
                        SECTOR
                    } else {
                        let next = (last + 1).div_ceil(SECTOR) * SECTOR;
                        if next > size - SECTOR {
                            SECTOR
                        } else {
                            next
                        }
                    }
                }
            };
            self.commit_at(i, offset, text);
        }
    }

    /// Commits `text` (a NUL is appended) to metadata area `i` at `offset` from the area's start,
    /// wrapping past the area's end to byte 512.
    pub fn commit_at(&mut self, i: usize, offset: u64, text: &str) {
        let (start, size) = self.layout.mdas[i];
        let mut t = text.as_bytes().to_vec();
        t.push(0);
        let len = t.len() as u64;
        assert!(len <= size - SECTOR, "metadata text of {len} bytes does not fit the area");
        let first = len.min(size - offset);
        self.put((start + offset) as usize, &t[..first as usize]);
        self.put((start + SECTOR) as usize, &t[first as usize..]);
        let checksum = crc(INITIAL_CRC, &t);
        self.committed[i] = Some((offset, len));
        self.write_mda_header(i, Some((offset, len, checksum, 0)));
    }

    /// True when area `i`'s committed text runs past the area's end.
    pub fn wrapped(&self, i: usize) -> bool {
        self.committed[i].is_some_and(|(o, z)| o + z > self.layout.mdas[i].1)
    }

    /// Writes `data` at byte `at` of the PV.
    pub fn write_at(&mut self, at: u64, data: &[u8]) {
        self.put(at as usize, data);
    }
}

/// A PV as a VG lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvRef {
    /// Its name in the metadata (`pv0`).
    pub name: String,
    /// Its layout (UUID, size, `pe_start`).
    pub layout: PvLayout,
    /// Its extent count; `None`: as many as fit after `pe_start`.
    pub pe_count: Option<u64>,
}

/// One segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegSpec {
    /// First logical extent.
    pub start_extent: u64,
    /// Number of extents.
    pub extent_count: u64,
    /// The segment type (`striped`, or `thin`, `raid1`, … for refusals).
    pub seg_type: String,
    /// Stripe size in sectors (written when there are several stripes).
    pub stripe_size: u64,
    /// Stripes: PV name and first physical extent.
    pub stripes: Vec<(String, u64)>,
    /// More `key = value` lines, as written (for other segment types).
    pub extra: Vec<String>,
}

impl SegSpec {
    /// A linear segment: `count` extents from `first_pe` of `pv`.
    pub fn linear(start_extent: u64, count: u64, pv: &str, first_pe: u64) -> Self {
        SegSpec {
            start_extent,
            extent_count: count,
            seg_type: "striped".into(),
            stripe_size: 0,
            stripes: vec![(pv.into(), first_pe)],
            extra: vec![],
        }
    }

    /// A striped segment over `stripes`, chunks of `stripe_size` sectors.
    pub fn striped(start_extent: u64, count: u64, stripe_size: u64, stripes: &[(&str, u64)]) -> Self {
        SegSpec {
            start_extent,
            extent_count: count,
            seg_type: "striped".into(),
            stripe_size,
            stripes: stripes.iter().map(|&(p, e)| (p.to_string(), e)).collect(),
            extra: vec![],
        }
    }

    /// A segment of another type, with its own lines.
    pub fn other(start_extent: u64, count: u64, seg_type: &str, extra: &[&str]) -> Self {
        SegSpec {
            start_extent,
            extent_count: count,
            seg_type: seg_type.into(),
            stripe_size: 0,
            stripes: vec![],
            extra: extra.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// One LV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LvSpec {
    /// Its name.
    pub name: String,
    /// Its UUID (made from the name unless set).
    pub uuid: String,
    /// Written with `VISIBLE` in its status.
    pub visible: bool,
    /// Its segments, written as `segment1`, `segment2`, …
    pub segments: Vec<SegSpec>,
}

impl LvSpec {
    /// A visible LV.
    pub fn new(name: &str, segments: Vec<SegSpec>) -> Self {
        LvSpec { name: name.into(), uuid: uuid(&format!("lv:{name}")), visible: true, segments }
    }
}

/// One VG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VgSpec {
    /// Its name.
    pub name: String,
    /// Its UUID.
    pub uuid: String,
    /// Its sequence number.
    pub seqno: u64,
    /// Extent size in sectors.
    pub extent_size: u64,
    /// Its PVs.
    pub pvs: Vec<PvRef>,
    /// Its LVs.
    pub lvs: Vec<LvSpec>,
}

impl VgSpec {
    /// A VG with no PVs yet, seqno 1.
    pub fn new(name: &str, extent_size: u64) -> Self {
        VgSpec { name: name.into(), uuid: uuid(&format!("vg:{name}")), seqno: 1, extent_size, pvs: vec![], lvs: vec![] }
    }

    /// Adds a PV with as many extents as fit.
    pub fn add_pv(&mut self, name: &str, layout: PvLayout) {
        self.pvs.push(PvRef { name: name.into(), layout, pe_count: None });
    }

    /// Extent size in bytes.
    pub fn extent_bytes(&self) -> u64 {
        self.extent_size * SECTOR
    }

    /// The extent count of `pv`.
    pub fn pe_count(&self, pv: &PvRef) -> u64 {
        pv.pe_count.unwrap_or_else(|| pv.layout.size.saturating_sub(pv.layout.pe_start) / self.extent_bytes())
    }

    /// The metadata text, laid out as LVM writes it in a metadata area (no NUL).
    pub fn text(&self) -> String {
        let mut t = String::new();
        let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        t += &format!("{} {{\nid = {}\nseqno = {}\nformat = \"lvm2\"\n", self.name, q(&dashed(&self.uuid)), self.seqno);
        t += "status = [\"RESIZEABLE\", \"READ\", \"WRITE\"]\nflags = []\n";
        t += &format!(
            "extent_size = {}\nmax_lv = 0\nmax_pv = 0\nmetadata_copies = 0\n\nphysical_volumes {{\n",
            self.extent_size
        );
        for pv in &self.pvs {
            t += &format!(
                "\n{} {{\nid = {}\ndevice = \"/dev/hint-only\"\n\nstatus = [\"ALLOCATABLE\"]\nflags = []\ndev_size = {}\npe_start = {}\npe_count = {}\n}}\n",
                pv.name,
                q(&dashed(&pv.layout.uuid)),
                pv.layout.size / SECTOR,
                pv.layout.pe_start / SECTOR,
                self.pe_count(pv)
            );
        }
        t += "}\n";
        if !self.lvs.is_empty() {
            t += "\nlogical_volumes {\n";
            for lv in &self.lvs {
                let status = if lv.visible { "[\"READ\", \"WRITE\", \"VISIBLE\"]" } else { "[\"READ\", \"WRITE\"]" };
                t += &format!(
                    "\n{} {{\nid = {}\nstatus = {status}\nflags = []\ncreation_time = 1796537297\ncreation_host = \"fixture\"\nsegment_count = {}\n",
                    lv.name,
                    q(&dashed(&lv.uuid)),
                    lv.segments.len()
                );
                for (i, s) in lv.segments.iter().enumerate() {
                    t += &format!(
                        "\nsegment{} {{\nstart_extent = {}\nextent_count = {}\n\ntype = {}\n",
                        i + 1,
                        s.start_extent,
                        s.extent_count,
                        q(&s.seg_type)
                    );
                    if !s.stripes.is_empty() {
                        t += &format!("stripe_count = {}\n", s.stripes.len());
                        if s.stripes.len() > 1 {
                            t += &format!("stripe_size = {}\n", s.stripe_size);
                        }
                        t += "\nstripes = [\n";
                        let items: Vec<String> = s.stripes.iter().map(|(p, e)| format!("{}, {e}", q(p))).collect();
                        t += &items.join(",\n");
                        t += "\n]\n";
                    }
                    for line in &s.extra {
                        t += line;
                        t += "\n";
                    }
                    t += "}\n";
                }
                t += "}\n";
            }
            t += "}\n";
        }
        t += "\n}\n# Generated by regnet-testkit\n\ncontents = \"Text Format Volume Group\"\nversion = 1\n\n";
        t += &format!("description = \"regnet-testkit seqno {}\"\n\ncreation_host = \"fixture\"\t# regnet\ncreation_time = 1796537297\t# 2026\n\n", self.seqno);
        t
    }

    /// One image per PV, each with this VG's text committed.
    pub fn write(&self) -> Vec<PvImage> {
        let text = self.text();
        self.pvs
            .iter()
            .map(|pv| {
                let mut img = PvImage::new(pv.layout.clone());
                img.commit(&text);
                img
            })
            .collect()
    }

    /// Byte offset in `pv`'s image of physical extent `pe`.
    pub fn pe_offset(&self, pv: &str, pe: u64) -> u64 {
        let pv = self.pvs.iter().find(|p| p.name == pv).expect("a PV of this VG");
        pv.layout.pe_start + pe * self.extent_bytes()
    }
}

/// The byte at offset `at` of a PV whose extents [`fill_extents`] filled: a pattern that differs
/// per PV (`salt`), per extent and per byte, so a read from the wrong place shows.
pub fn pattern_byte(salt: u8, at: u64) -> u8 {
    let x = at.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (at >> 9) ^ u64::from(salt).wrapping_mul(0x1000_0001);
    (x >> 29) as u8 ^ salt
}

/// Fills every extent of `img` (from its `pe_start` to its end) with [`pattern_byte`]`(salt, …)`.
pub fn fill_extents(img: &mut PvImage, salt: u8) {
    let start = img.layout.pe_start as usize;
    for (i, b) in img.bytes[start..].iter_mut().enumerate() {
        *b = pattern_byte(salt, (start + i) as u64);
    }
}

/// Small sample disks for fuzz seeds and examples (name, bytes): each a few hundred KiB, PVs
/// laid out with [`PvLayout::small`] and 4 KiB extents.
///
/// - `linear.img`: one PV; VG `vg0` with `root` (two segments, out of order on the PV) and `swap`.
/// - `striped.img`: two PVs one after the other on one disk; VG `vgs` with `data` striped over
///   both (4 KiB chunks) and `span`, linear from the end of one PV into the other.
/// - `wrapped.img`: one PV whose metadata was committed 40 times and more, until the newest text
///   wraps around the end of its metadata area.
/// - `refused.img`: one PV; thin pool and thin volume, `raid1`, a snapshot and its COW store,
///   a hidden LV.
/// - `two-mdas.img`: one PV with a second metadata area at its end and its label in sector 0.
pub fn samples() -> Vec<(&'static str, Vec<u8>)> {
    samples_sized(256 << 10)
}

/// [`samples`] with PVs of `size` bytes (at least 256 KiB; LVM's tools ignore devices under
/// 512 KiB).
pub fn samples_sized(size: u64) -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();

    let mut vg = VgSpec::new("vg0", 8);
    vg.add_pv("pv0", PvLayout::small("linear-pv0", size));
    vg.lvs.push(LvSpec::new("root", vec![SegSpec::linear(0, 10, "pv0", 20), SegSpec::linear(10, 6, "pv0", 2)]));
    vg.lvs.push(LvSpec::new("swap", vec![SegSpec::linear(0, 4, "pv0", 40)]));
    let mut img = vg.write().remove(0);
    fill_extents(&mut img, 1);
    out.push(("linear.img", img.bytes));

    let mut vg = VgSpec::new("vgs", 8);
    vg.add_pv("pv0", PvLayout::small("striped-pv0", size));
    vg.add_pv("pv1", PvLayout::small("striped-pv1", size));
    vg.lvs.push(LvSpec::new("data", vec![SegSpec::striped(0, 8, 8, &[("pv0", 0), ("pv1", 0)])]));
    vg.lvs.push(LvSpec::new("span", vec![SegSpec::linear(0, 3, "pv0", 50), SegSpec::linear(3, 5, "pv1", 10)]));
    let mut disk = Vec::new();
    for (i, mut img) in vg.write().into_iter().enumerate() {
        fill_extents(&mut img, 2 + i as u8);
        disk.extend_from_slice(&img.bytes);
    }
    out.push(("striped.img", disk));

    let mut vg = VgSpec::new("vgw", 8);
    vg.add_pv("pv0", PvLayout::small("wrapped-pv0", size));
    let mut img = PvImage::new(vg.pvs[0].layout.clone());
    // At least 40 commits, then on until the newest text is one that wraps.
    for seqno in 1..=400 {
        vg.seqno = seqno;
        vg.lvs = (0..seqno % 5 + 1)
            .map(|i| LvSpec::new(&format!("lv{i}"), vec![SegSpec::linear(0, 2, "pv0", 2 * i)]))
            .collect();
        img.commit(&vg.text());
        if seqno >= 40 && img.wrapped(0) {
            break;
        }
    }
    assert!(img.wrapped(0));
    fill_extents(&mut img, 4);
    out.push(("wrapped.img", img.bytes));

    let mut vg = VgSpec::new("vgr", 8);
    vg.add_pv("pv0", PvLayout::small("refused-pv0", size));
    let hidden = |name: &str, segs: Vec<SegSpec>| LvSpec { visible: false, ..LvSpec::new(name, segs) };
    vg.lvs.push(LvSpec::new(
        "pool",
        vec![SegSpec::other(
            0,
            4,
            "thin-pool",
            &[
                "metadata = \"pool_tmeta\"",
                "pool = \"pool_tdata\"",
                "transaction_id = 1",
                "chunk_size = 128",
                "discards = \"passdown\"",
                "zero_new_blocks = 1",
            ],
        )],
    ));
    vg.lvs.push(LvSpec::new(
        "thin",
        vec![SegSpec::other(0, 8, "thin", &["thin_pool = \"pool\"", "transaction_id = 0", "device_id = 1"])],
    ));
    vg.lvs.push(LvSpec::new(
        "mirror",
        vec![SegSpec::other(
            0,
            2,
            "raid1",
            &[
                "device_count = 2",
                "region_size = 1024",
                "raids = [\"mirror_rmeta_0\", \"mirror_rimage_0\", \"mirror_rmeta_1\", \"mirror_rimage_1\"]",
            ],
        )],
    ));
    vg.lvs.push(LvSpec::new("origin", vec![SegSpec::linear(0, 4, "pv0", 10)]));
    vg.lvs.push(LvSpec::new("snap", vec![SegSpec::linear(0, 2, "pv0", 20)]));
    vg.lvs.push(hidden(
        "snapshot0",
        vec![SegSpec::other(0, 4, "snapshot", &["chunk_size = 8", "origin = \"origin\"", "cow_store = \"snap\""])],
    ));
    vg.lvs.push(hidden("pool_tdata", vec![SegSpec::linear(0, 4, "pv0", 0)]));
    vg.lvs.push(hidden("pool_tmeta", vec![SegSpec::linear(0, 1, "pv0", 4)]));
    vg.lvs.push(hidden("mirror_rmeta_0", vec![SegSpec::linear(0, 1, "pv0", 30)]));
    vg.lvs.push(hidden("mirror_rimage_0", vec![SegSpec::linear(0, 2, "pv0", 31)]));
    vg.lvs.push(hidden("mirror_rmeta_1", vec![SegSpec::linear(0, 1, "pv0", 33)]));
    vg.lvs.push(hidden("mirror_rimage_1", vec![SegSpec::linear(0, 2, "pv0", 34)]));
    let mut img = vg.write().remove(0);
    fill_extents(&mut img, 5);
    out.push(("refused.img", img.bytes));

    let mut vg = VgSpec::new("vg2", 8);
    let mut layout = PvLayout::small("two-mdas-pv0", size);
    layout.label_sector = 0;
    layout.mdas.push((size - (16 << 10), 16 << 10));
    vg.add_pv("pv0", layout);
    vg.pvs[0].pe_count = Some(40);
    vg.lvs.push(LvSpec::new("lv", vec![SegSpec::linear(0, 40, "pv0", 0)]));
    let mut img = vg.write().remove(0);
    fill_extents(&mut img, 6);
    // The second area keeps its header and text: fill_extents covered it, so write it again.
    let text = vg.text();
    img.committed[1] = None;
    img.commit_at(1, SECTOR, &text);
    out.push(("two-mdas.img", img.bytes));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_is_lvms() {
        // The CRC pvcreate wrote over a label sector (see regnet-image's label tests).
        let mut s = vec![0u8; 492];
        s[0..4].copy_from_slice(&32u32.to_le_bytes());
        s[4..12].copy_from_slice(b"LVM2 001");
        s[12..44].copy_from_slice(b"QGRo9XzfAgUDYkZEYYmkLh3Ix0y5aykl");
        s[44..52].copy_from_slice(&(16u64 << 20).to_le_bytes());
        s[52..60].copy_from_slice(&(1u64 << 20).to_le_bytes());
        s[84..92].copy_from_slice(&4096u64.to_le_bytes());
        s[92..100].copy_from_slice(&0xff000u64.to_le_bytes());
        s[116..120].copy_from_slice(&2u32.to_le_bytes());
        s[120..124].copy_from_slice(&1u32.to_le_bytes());
        assert_eq!(crc(INITIAL_CRC, &s), 0x150d_f53b);
    }

    #[test]
    fn commits_wrap_like_lvm() {
        let mut vg = VgSpec::new("vg", 8);
        vg.add_pv("pv0", PvLayout::small("p", 1 << 20));
        let mut img = PvImage::new(vg.pvs[0].layout.clone());
        let mut wrapped = false;
        for seqno in 1..200 {
            vg.seqno = seqno;
            img.commit(&vg.text());
            let (o, z) = img.committed[0].unwrap();
            assert!(o >= 512 && o % 512 == 0 && o < 28 << 10 && z < (28 << 10) - 512);
            wrapped |= img.wrapped(0);
        }
        assert!(wrapped);
        assert_eq!(uuid("x").len(), 32);
        assert_eq!(dashed("QGRo9XzfAgUDYkZEYYmkLh3Ix0y5aykl"), "QGRo9X-zfAg-UDYk-ZEYY-mkLh-3Ix0-y5aykl");
    }
}
