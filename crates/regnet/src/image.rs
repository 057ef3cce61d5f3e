//! From a disk image to a report: container, partition table, the NTFS volume that holds
//! `\Windows\System32\config\SYSTEM`, its logs, then the hive.

use crate::error::{Error, Result};
use crate::guest::{self, Holds, MachineDisk, VolumeRef};
use crate::report::{ImageSource, Report};
use crate::Options;
use regnet_hive::{BaseBlock, LogFile};
use regnet_image::guest::{FsKind, GuestLimits, GuestView};
use regnet_image::partition::{read_partitions, Partition, PartitionTable, TableKind};
use regnet_image::{
    detect_in, open_container, ContainerFormat, Counters, DirResolver, FileSource, ImageError, ImageLimits, NoResolver,
    ReadSeek, Resolver, VirtualDisk,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the system hive lives on a Windows volume.
pub const SYSTEM_HIVE: &str = "\\Windows\\System32\\config\\SYSTEM";

/// How to read a disk image.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ExtractOptions {
    /// How to read the hive (limits, log replay).
    pub hive: Options,
    /// Limits of the image layer.
    pub image_limits: ImageLimits,
    /// The partition to read when several hold a guest (GPT entry number, MBR number, 0 for a bare volume).
    pub partition: Option<u32>,
    /// Further folders from which an image may open the files it names (extents, backing files,
    /// parents). The image's own folder is always allowed; nothing else is unless listed here.
    pub allow_dirs: Vec<PathBuf>,
    /// Read the image as this container format instead of detecting it from the content.
    pub container: Option<ContainerFormat>,
    /// The LVM logical volume to read when several volumes hold a guest, `VG/LV` (`rl/root`).
    pub volume: Option<String>,
    /// For a VM configuration file: the disk to read when several hold a guest, by its device
    /// (`scsi0:0`, `vda`) or its number in the configuration's order (1 is the first).
    pub disk: Option<String>,
    /// Limits on VM configuration files (`.vmx`, `.ovf`/`.ova`, libvirt XML).
    pub vm_limits: regnet_vmconfig::VmConfigLimits,
}

impl ExtractOptions {
    /// Defaults: detect the container, choose the Windows partition, replay logs.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Reads the network settings of the Windows guest on the disk image at `path`, or of the VM
/// whose configuration file `path` is.
///
/// The container (raw, VHD, VHDX, VMDK, qcow2, EWF `.E01` evidence files) is detected from the
/// content; a raw image split into pieces (`disk.001`, `disk.002`, … or `diskaa`, `diskab`, …) from
/// the first piece's name. Files the image names (VMDK extents, backing files, parent disks, EWF
/// segments, split pieces) are opened only inside its own folder or [`ExtractOptions::allow_dirs`].
///
/// A folder is an already-mounted guest root (Windows or Linux), read through the guest view:
/// its links resolve inside it, and nothing else of the host is read.
///
/// A VM configuration file (VMware `.vmx`, OVF `.ovf` or `.ova`, libvirt domain XML), also detected
/// from the content, names the VM's disks and NICs: the disk holding the guest is found among them
/// (the same folder rules apply to the disks it names), and the report gains a [`crate::VmInfo`]
/// and each adapter the production network of the VM NIC with its MAC address.
///
/// ```
/// # let image = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/disk.qcow2");
/// let report = regnet::extract(image, &regnet::ExtractOptions::default())?;
/// assert_eq!(report.hostname.as_deref(), Some("APP-SRV-07"));
/// let source = report.source.as_ref().unwrap();
/// assert_eq!((source.container.as_str(), source.partition_table.as_str()), ("qcow2", "gpt"));
/// # Ok::<(), regnet::Error>(())
/// ```
pub fn extract(path: impl AsRef<Path>, opts: &ExtractOptions) -> Result<Report> {
    let path = path.as_ref();
    if path.is_dir() {
        return crate::folder::extract_folder(path, opts);
    }
    let counters = Arc::new(Counters::default());
    let mut src = FileSource::open_path(path, counters.clone(), &opts.image_limits)?;
    if opts.container.is_none() {
        if let Some(kind) = crate::vm::detect(&mut src)? {
            return crate::vm::extract_vm(path, src, kind, counters, opts);
        }
    }
    let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let resolver = DirResolver::new(base, &opts.allow_dirs, counters.clone(), opts.image_limits);
    extract_source(src, &path.display().to_string(), &resolver, counters, opts)
}

/// Reads the network settings of the guest whose disks are the images at `paths` (an LVM volume
/// group may span them): the guest is looked for across all of them, as for one image.
///
/// ```
/// # let image = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/disk.qcow2");
/// let report = regnet::extract_machine(&[image], &regnet::ExtractOptions::default())?;
/// assert_eq!(report.hostname.as_deref(), Some("APP-SRV-07"));
/// # Ok::<(), regnet::Error>(())
/// ```
pub fn extract_machine<P: AsRef<Path>>(paths: &[P], opts: &ExtractOptions) -> Result<Report> {
    if let [one] = paths {
        return extract(one, opts);
    }
    let counters = Arc::new(Counters::default());
    let mut disks = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let src = FileSource::open_path(path, counters.clone(), &opts.image_limits)?;
        let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let resolver = DirResolver::new(base, &opts.allow_dirs, counters.clone(), opts.image_limits);
        let label = if paths.len() > 1 { format!("disk {}", path.display()) } else { String::new() };
        disks.push(OpenedDisk::open(src, &resolver, opts)?.into_machine_disk(label));
    }
    let survey = guest::survey(&disks, opts);
    let chosen = guest::choose(&survey, opts)?;
    let name = paths.get(chosen_disk(&disks, &survey, &chosen)).map(|p| p.as_ref().display().to_string());
    report_from_chosen(&disks, &survey, &chosen, &name.unwrap_or_default(), &counters, opts)
}

/// A read-only view of a guest's files, and where it is.
#[non_exhaustive]
pub struct Guest {
    /// The files, by path, resolved inside the guest ([`regnet_image::guest::GuestView`]).
    pub view: GuestView<'static>,
    /// Which volume holds it, for people (`LV rl/root (linear, 100 MiB)`, `partition 1 (...)`).
    pub volume: String,
}

impl std::fmt::Debug for Guest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guest").field("volume", &self.volume).finish()
    }
}

/// Opens the files of the guest on the disk images at `paths` (one machine's disks), found as
/// [`extract`] finds it (NTFS, ext2/3/4, XFS, on partitions or LVM volumes), or in the mounted
/// guest root `paths[0]` when it is a folder.
///
/// ```
/// # let root = std::env::temp_dir().join(format!("regnet-doc-guest-{}", std::process::id()));
/// # std::fs::create_dir_all(root.join("etc")).unwrap();
/// # std::fs::write(root.join("etc/os-release"), "ID=debian\n").unwrap();
/// let mut guest = regnet::open_guest(&[&root], &regnet::ExtractOptions::default())?;
/// assert_eq!(guest.view.read("/etc/os-release")?, b"ID=debian\n");
/// # Ok::<(), regnet::Error>(())
/// ```
pub fn open_guest<P: AsRef<Path>>(paths: &[P], opts: &ExtractOptions) -> Result<Guest> {
    let mut limits = GuestLimits::default();
    limits.max_file_bytes = opts.image_limits.max_file_bytes;
    if let [one] = paths {
        let path = one.as_ref();
        if path.is_dir() {
            let root = path.canonicalize().map_err(|e| Error::Io { path: path.to_owned(), source: e })?;
            let fs = regnet_image::guest::HostFolder::open(&root)?;
            return Ok(Guest {
                view: GuestView::new(Box::new(fs), limits),
                volume: format!("folder {}", root.display()),
            });
        }
    }
    let counters = Arc::new(Counters::default());
    let mut disks = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let src = FileSource::open_path(path, counters.clone(), &opts.image_limits)?;
        let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let resolver = DirResolver::new(base, &opts.allow_dirs, counters.clone(), opts.image_limits);
        let label = if paths.len() > 1 { format!("disk {}", path.display()) } else { String::new() };
        disks.push(OpenedDisk::open(src, &resolver, opts)?.into_machine_disk(label));
    }
    let survey = guest::survey(&disks, opts);
    let chosen = guest::choose(&survey, opts)?;
    let volume = chosen.name.clone();
    let fs = match (&chosen.holds, &chosen.volume) {
        (Holds::Linux { fs }, _) => *fs,
        (Holds::Windows, VolumeRef::Partition { disk, partition }) => {
            let d = disks.get(*disk).ok_or_else(|| Error::NoWindows("no such disk".into()))?;
            let ntfs = regnet_image::ntfs::NtfsVolume::open_shared(
                d.shared.clone(),
                partition.start,
                partition.len,
                &opts.image_limits,
            )?;
            return Ok(Guest { view: GuestView::new(Box::new(ntfs), limits), volume });
        }
        _ => return Err(Error::NoWindows(format!("{volume} holds no guest"))),
    };
    let vol = guest::open_volume(&disks, &survey, &chosen.volume)?;
    let fs_box: Box<dyn regnet_image::guest::FileSystem> = match fs {
        FsKind::Xfs => Box::new(regnet_image::xfs::XfsFs::open(vol, &opts.image_limits)?),
        _ => Box::new(regnet_image::ext4::Ext4Fs::open(vol, &opts.image_limits)?),
    };
    Ok(Guest { view: GuestView::new(fs_box, limits), volume })
}

/// Reads the network settings from a disk image handed in as a stream (e.g. from a backup store).
/// An image that names other files (extents, backing files, parents) is refused: a stream has no
/// folder. So is a VM configuration file, whose disks can only be found by path
/// ([`Error::Unsupported`]). The stream is read as [`extract`] reads a file, so the report is the
/// same as for the image's path, `source.image` (here `name`) included.
///
/// ```
/// # let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/disk.qcow2")).unwrap();
/// let report = regnet::extract_from_reader(std::io::Cursor::new(bytes), "disk.qcow2", &Default::default())?;
/// assert_eq!(report.adapters.len(), 2);
/// # Ok::<(), regnet::Error>(())
/// ```
pub fn extract_from_reader<R: ReadSeek + 'static>(reader: R, name: &str, opts: &ExtractOptions) -> Result<Report> {
    let counters = Arc::new(Counters::default());
    let mut src = FileSource::new(name, Box::new(reader), counters.clone(), &opts.image_limits)?;
    if opts.container.is_none() {
        if let Some(kind) = crate::vm::detect(&mut src)? {
            return Err(Error::Unsupported(format!(
                "{name} is a VM configuration file ({}): the disks it names are found by path, so give its path, not a stream",
                crate::vm::kind_name(kind)
            )));
        }
    }
    extract_source(src, name, &NoResolver, counters, opts)
}

fn extract_source(
    src: FileSource,
    name: &str,
    resolver: &dyn Resolver,
    counters: Arc<Counters>,
    opts: &ExtractOptions,
) -> Result<Report> {
    let disk = OpenedDisk::open(src, resolver, opts)?.into_machine_disk(String::new());
    let disks = [disk];
    let survey = guest::survey(&disks, opts);
    let chosen = guest::choose(&survey, opts)?;
    report_from_chosen(&disks, &survey, &chosen, name, &counters, opts)
}

/// A disk opened through its container, with its partition table read.
pub(crate) struct OpenedDisk {
    pub(crate) disk: Box<dyn VirtualDisk>,
    pub(crate) format: ContainerFormat,
    pub(crate) table: PartitionTable,
}

impl OpenedDisk {
    /// Detects the container (unless the options name it), opens it and reads the partition table.
    pub(crate) fn open(mut src: FileSource, resolver: &dyn Resolver, opts: &ExtractOptions) -> Result<Self> {
        let format = match opts.container {
            Some(f) => f,
            None => detect_in(&mut src, resolver)?,
        };
        let mut disk = open_container(src, format, resolver, &opts.image_limits)?;
        let table = read_partitions(disk.as_mut(), &opts.image_limits)?;
        Ok(OpenedDisk { disk, format, table })
    }

    /// The disk as one of a machine's, named `label` in messages.
    pub(crate) fn into_machine_disk(self, label: String) -> MachineDisk {
        MachineDisk { shared: regnet_image::share(self.disk), format: self.format, table: self.table, label }
    }
}

/// The report of the chosen guest volume, with the `source` object filled in (`name` is the image
/// as the caller named it).
pub(crate) fn report_from_chosen(
    disks: &[MachineDisk],
    survey: &guest::Survey,
    chosen: &guest::Chosen,
    name: &str,
    counters: &Counters,
    opts: &ExtractOptions,
) -> Result<Report> {
    let disk_index = chosen_disk(disks, survey, chosen);
    let partition = match &chosen.volume {
        VolumeRef::Partition { partition, .. } => Some(partition.clone()),
        VolumeRef::Lv { .. } => None,
    };
    let disk = disks.get(disk_index).ok_or_else(|| Error::NoWindows("no such disk".into()))?;
    let (files, mut report, fs_name, fs_warnings) = match (&chosen.holds, &partition) {
        (Holds::Windows, Some(p)) => {
            let mut d = disk.shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let (files, report) = report_from_volume(d.as_mut(), p, opts)?;
            (files, report, "ntfs", Vec::new())
        }
        (Holds::Linux { fs }, _) => {
            let volume = guest::open_volume(disks, survey, &chosen.volume)?;
            let (fs_box, warnings): (Box<dyn regnet_image::guest::FileSystem>, Vec<String>) = match fs {
                FsKind::Xfs => {
                    let f = regnet_image::xfs::XfsFs::open(volume, &opts.image_limits)?;
                    let w = f.warnings();
                    (Box::new(f), w)
                }
                _ => {
                    let f = regnet_image::ext4::Ext4Fs::open(volume, &opts.image_limits)?;
                    let w = f.warnings();
                    (Box::new(f), w)
                }
            };
            let mut view = GuestView::new(fs_box, GuestLimits::default());
            let (report, files) = crate::linux::report(&mut view);
            (files, report, fs.name(), warnings)
        }
        _ => return Err(Error::NoWindows("the chosen volume holds no guest".into())),
    };
    let (size, segments, evidence) = {
        let d = disk.shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        (d.size(), d.segments(), d.acquisition().as_ref().map(crate::Evidence::from))
    };
    let lv = guest::lv_name(survey, &chosen.volume);
    report.source = Some(ImageSource {
        image: name.to_owned(),
        container: format_name(disk.format).to_owned(),
        virtual_size: size,
        partition_table: match disk.table.kind {
            TableKind::Gpt { .. } => "gpt",
            TableKind::Mbr => "mbr",
            _ => "none",
        }
        .to_owned(),
        partition: partition.as_ref().map_or(0, |p| p.number),
        partition_start: partition.as_ref().map_or(0, |p| p.start),
        files,
        bytes_read: counters.bytes_read(),
        reads: counters.reads(),
        segments,
        evidence,
        volume_manager: lv.as_ref().map(|_| "lvm".to_owned()),
        logical_volume: lv,
        filesystem: Some(fs_name.to_owned()),
    });
    let mut extra = Vec::new();
    for d in disks {
        extra.extend(d.table.warnings.iter().map(|w| ("partition_table", w.clone())));
    }
    extra.extend(survey.warnings.iter().map(|w| ("lvm", w.clone())));
    extra.extend(fs_warnings.into_iter().map(|w| ("filesystem", w)));
    for (code, message) in extra {
        report.warnings.push(crate::Warning { code: code.into(), message, key: None, value: None });
    }
    Ok(report)
}

/// The disk the chosen volume is on (for an LV, the disk of its VG's first PV).
pub(crate) fn chosen_disk(disks: &[MachineDisk], survey: &guest::Survey, chosen: &guest::Chosen) -> usize {
    match &chosen.volume {
        VolumeRef::Partition { disk, .. } => *disk,
        VolumeRef::Lv { vg, .. } => lv_disk(survey, *vg, disks),
    }
}

/// The disk holding the first PV of volume group `vg` (for the `source` object).
fn lv_disk(survey: &guest::Survey, vg: usize, disks: &[MachineDisk]) -> usize {
    let Some(g) = survey.vgs.get(vg) else { return 0 };
    let first = g.pvs.iter().find(|p| p.found).map(|p| p.uuid.clone());
    let Some(pv) = survey.pvs.iter().find(|p| Some(&p.uuid) == first.as_ref()) else { return 0 };
    disks.iter().position(|d| std::sync::Arc::ptr_eq(&d.shared, pv.region.disk())).unwrap_or(0)
}

/// The container's name in reports.
fn format_name(f: ContainerFormat) -> &'static str {
    match f {
        ContainerFormat::Raw => "raw",
        ContainerFormat::Vhd => "vhd",
        ContainerFormat::Vhdx => "vhdx",
        ContainerFormat::Vmdk => "vmdk",
        ContainerFormat::Qcow2 => "qcow2",
        ContainerFormat::Ewf => "ewf",
        ContainerFormat::SplitRaw => "split",
        _ => "unknown",
    }
}

/// The report from the hive on the chosen volume, and the paths of the files read. The hive is read
/// on demand (only the pages the report needs); its logs only when it is dirty and `opts` allows,
/// and only as far as their entries go ([`regnet_hive::log_bytes_needed`]).
fn report_from_volume(
    disk: &mut dyn VirtualDisk,
    p: &Partition,
    opts: &ExtractOptions,
) -> Result<(Vec<String>, Report)> {
    let mut vol = regnet_image::ntfs::NtfsVolume::open(disk, p.start, p.len, &opts.image_limits)?;
    let id = vol.find(SYSTEM_HIVE)?;
    let system = vol.open_data(id)?;
    let mut files = vec![SYSTEM_HIVE.to_owned()];
    let logs = hive_logs(&mut vol, &system, SYSTEM_HIVE, "SYSTEM", &mut files, opts)?;
    let refs: Vec<LogFile<'_>> = logs.iter().map(|(n, d)| LogFile::new(n.clone(), d)).collect();
    let vol = std::sync::Mutex::new(vol);
    let source = HiveFile { vol: &vol, data: system };
    let mut report = crate::report_from_hive_source(&source, &refs, &opts.hive)?;
    if !opts.hive.no_software {
        if let Err(e) = software_from_volume(&vol, &mut files, &mut report, opts) {
            report.warnings.push(crate::Warning {
                code: "software_unreadable".into(),
                message: format!("{}: {e}", crate::SOFTWARE_HIVE),
                key: None,
                value: None,
            });
        }
    }
    Ok((files, report))
}

/// Adds the SOFTWARE hive on the volume (with its logs when it is dirty) to `report`; a volume
/// without one adds nothing.
fn software_from_volume(
    vol: &std::sync::Mutex<regnet_image::ntfs::NtfsVolume<'_>>,
    files: &mut Vec<String>,
    report: &mut Report,
    opts: &ExtractOptions,
) -> Result<()> {
    let path = crate::SOFTWARE_HIVE;
    let (data, logs) = {
        let mut v = vol.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let id = match v.find(path) {
            Ok(id) => id,
            Err(ImageError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let data = v.open_data(id)?;
        files.push(path.to_owned());
        let logs = hive_logs(&mut v, &data, path, "SOFTWARE", files, opts)?;
        (data, logs)
    };
    let refs: Vec<LogFile<'_>> = logs.iter().map(|(n, d)| LogFile::new(n.clone(), d)).collect();
    let source = HiveFile { vol, data };
    crate::add_software_source(report, &source, &refs, &opts.hive);
    Ok(())
}

/// The logs of the hive file `hive` (at `path`, named `name`) that matter: none when its base block
/// says it is clean (or `opts` says not to replay), else `path.LOG1`, `.LOG2`, `.LOG` as far as their
/// entries go. Each one read is added to `files`.
fn hive_logs(
    vol: &mut regnet_image::ntfs::NtfsVolume<'_>,
    hive: &regnet_image::ntfs::FileData,
    path: &str,
    name: &str,
    files: &mut Vec<String>,
    opts: &ExtractOptions,
) -> Result<Vec<(String, Vec<u8>)>> {
    // The base block says whether the logs can matter. One that does not even parse may be
    // replaced from a log: read them then too.
    let mut head = vec![0u8; usize::try_from(hive.len()).map_or(4096, |n| n.min(4096))];
    let n = vol.read_at(hive, 0, &mut head)?;
    let dirty = BaseBlock::parse(head.get(..n).unwrap_or_default()).map_or(true, |b| b.is_dirty());
    let mut logs: Vec<(String, Vec<u8>)> = Vec::new();
    if dirty && !opts.hive.no_logs {
        for suffix in [".LOG1", ".LOG2", ".LOG"] {
            let log_path = format!("{path}{suffix}");
            let id = match vol.find(&log_path) {
                Ok(id) => id,
                Err(ImageError::NotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            let data = vol.open_data(id)?;
            let needed =
                regnet_hive::log_bytes_needed(data.len(), |off, buf: &mut [u8]| read_exact(vol, &data, off, buf))?;
            // At most the file's size, which open_data checked against max_file_bytes; allocated
            // fallibly, as the volume's own reads are.
            let max = opts.image_limits.max_file_bytes;
            let too_big = || ImageError::LimitExceeded { limit: "max_file_bytes", value: needed, max };
            let n = usize::try_from(needed).map_err(|_| too_big())?;
            let mut bytes = Vec::new();
            bytes.try_reserve_exact(n).map_err(|_| too_big())?;
            bytes.resize(n, 0);
            read_exact(vol, &data, 0, &mut bytes)?;
            logs.push((format!("{name}{suffix}"), bytes));
            files.push(log_path);
        }
    }
    Ok(logs)
}

/// Fills `buf` from `pos` of a file; the file ending first is an error.
fn read_exact(
    vol: &mut regnet_image::ntfs::NtfsVolume<'_>,
    data: &regnet_image::ntfs::FileData,
    pos: u64,
    buf: &mut [u8],
) -> std::result::Result<(), ImageError> {
    let n = vol.read_at(data, pos, buf)?;
    if n < buf.len() {
        return Err(ImageError::Truncated {
            what: "file on the NTFS volume",
            offset: pos,
            needed: buf.len() as u64,
            available: n as u64,
        });
    }
    Ok(())
}

/// The hive file on the volume, for [`regnet_hive::Hive::open_source`].
struct HiveFile<'v, 'd> {
    vol: &'v std::sync::Mutex<regnet_image::ntfs::NtfsVolume<'d>>,
    data: regnet_image::ntfs::FileData,
}

impl regnet_hive::Source for HiveFile<'_, '_> {
    fn len(&self) -> u64 {
        self.data.len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let mut vol = match self.vol.lock() {
            Ok(v) => v,
            // A panic elsewhere cannot leave the volume half-changed in a way that matters here:
            // reads only fill caches.
            Err(poisoned) => poisoned.into_inner(),
        };
        read_exact(&mut vol, &self.data, offset, buf).map_err(std::io::Error::other)
    }
}
