//! Disks given on the command line, in QEMU's spelling:
//! `-drive file=PATH[,if=virtio][,format=raw|qcow2][,readonly=on|off][,snapshot=on|off][,cache=MODE][,serial=S][,id=NAME]`
//! and `-hda PATH`. Without `format=`, a qcow2 header is recognised and anything else is raw.

use std::path::{Path, PathBuf};

/// Image file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskFormat {
    /// Guest byte n is file byte n.
    Raw,
    /// QEMU's copy-on-write format.
    Qcow2,
}

/// One disk for the board to attach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriveConfig {
    /// The image file.
    pub file: PathBuf,
    /// Its format.
    pub format: DiskFormat,
    /// Attach read-only (the guest sees a read-only disk; the file is opened read-only).
    pub read_only: bool,
    /// Serial number the guest reads with GET_ID (at most 20 bytes).
    pub serial: Option<String>,
    /// Writes go to a temporary overlay and are dropped at exit; the image is opened
    /// read-only (`snapshot=on`, `-snapshot`).
    pub snapshot: bool,
}

/// The keys `-drive` accepts.
const KEYS: &[&str] = &["file", "if", "format", "readonly", "snapshot", "cache", "serial", "id", "media", "index"];

impl DriveConfig {
    /// `-hda FILE`: a raw virtio disk.
    pub fn hda(file: &Path) -> DriveConfig {
        DriveConfig { file: file.to_path_buf(), format: probe(file), read_only: false, serial: None, snapshot: false }
    }

    /// Parses a `-drive` option string. Unknown keys, interfaces other than virtio and
    /// formats other than raw and qcow2 are errors that say what is accepted.
    pub fn parse(spec: &str) -> Result<DriveConfig, String> {
        let mut file = None;
        let mut read_only = false;
        let mut snapshot = false;
        let mut serial = None;
        let mut format = None;
        for item in split_options(spec) {
            let (key, value) = item.split_once('=').ok_or_else(|| format!("-drive: '{item}' is not KEY=VALUE"))?;
            match key {
                "file" => file = Some(PathBuf::from(value)),
                "if" if value == "virtio" => {}
                "if" => return Err(format!("-drive: if={value} is not supported (only if=virtio)")),
                "format" if value == "raw" => format = Some(DiskFormat::Raw),
                "format" if value == "qcow2" => format = Some(DiskFormat::Qcow2),
                "format" => return Err(format!("-drive: format={value} is not supported (raw or qcow2)")),
                "readonly" => read_only = parse_bool(key, value)?,
                "snapshot" => snapshot = parse_bool(key, value)?,
                "cache" => {
                    // The guest's flushes always reach the disk (writeback semantics);
                    // the other modes are accepted for command-line compatibility.
                    if !["writeback", "none", "writethrough", "directsync", "unsafe"].contains(&value) {
                        return Err(format!("-drive: cache={value} is not a cache mode"));
                    }
                }
                "serial" => serial = Some(value.to_string()),
                "id" | "index" => {}
                "media" if value == "disk" => {}
                "media" => return Err(format!("-drive: media={value} is not supported (only disk)")),
                _ => return Err(format!("-drive: unknown option '{key}' (accepted: {})", KEYS.join(", "))),
            }
        }
        let file: PathBuf = file.ok_or("-drive: file= is required")?;
        let format = format.unwrap_or_else(|| probe(&file));
        Ok(DriveConfig { file, format, read_only, serial, snapshot })
    }
}

/// Splits at commas, where QEMU writes a literal comma as ",,".
pub fn split_options(spec: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' {
            if chars.peek() == Some(&',') {
                chars.next();
                if let Some(s) = out.last_mut() {
                    s.push(',');
                }
            } else {
                out.push(String::new());
            }
        } else if let Some(s) = out.last_mut() {
            s.push(c);
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

fn parse_bool(key: &str, v: &str) -> Result<bool, String> {
    match v {
        "on" | "yes" | "true" => Ok(true),
        "off" | "no" | "false" => Ok(false),
        _ => Err(format!("-drive: {key}={v}: expected on or off")),
    }
}

/// The format of an image given without `format=`: qcow2 if it has the header magic.
fn probe(path: &Path) -> DiskFormat {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let qcow2 = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && magic == *b"QFI\xfb";
    if qcow2 { DiskFormat::Qcow2 } else { DiskFormat::Raw }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_spellings() {
        let d = DriveConfig::parse("file=rootfs.ext2,if=virtio,format=raw").unwrap();
        assert_eq!(d, DriveConfig { file: "rootfs.ext2".into(), format: DiskFormat::Raw, read_only: false, serial: None, snapshot: false });
        assert!(DriveConfig::parse("file=x,snapshot=on").unwrap().snapshot);
        assert_eq!(DriveConfig::parse("file=x,format=qcow2").unwrap().format, DiskFormat::Qcow2);
        let d = DriveConfig::parse("file=a,,b.img,readonly=on,cache=none,serial=xyz,id=disk0").unwrap();
        assert_eq!((d.file.to_str().unwrap(), d.read_only, d.serial.as_deref()), ("a,b.img", true, Some("xyz")));
    }

    #[test]
    fn refusals_say_why_and_formats_are_probed() {
        let e = DriveConfig::parse("file=x,bogus=1").unwrap_err();
        assert!(e.contains("unknown option 'bogus'") && e.contains("readonly"), "{e}");
        assert!(DriveConfig::parse("file=x,if=ide").unwrap_err().contains("only if=virtio"));
        assert!(DriveConfig::parse("file=x,format=vmdk").unwrap_err().contains("raw or qcow2"));
        assert!(DriveConfig::parse("if=virtio").unwrap_err().contains("file= is required"));
        assert!(DriveConfig::parse("file=x,readonly=maybe").unwrap_err().contains("on or off"));
        assert!(DriveConfig::parse("x.img").unwrap_err().contains("KEY=VALUE"));
        let q = std::env::temp_dir().join(format!("ferrite-drive-{}.qcow2", std::process::id()));
        std::fs::write(&q, b"QFI\xfb\0\0\0\x03").unwrap();
        assert_eq!(DriveConfig::parse(&format!("file={}", q.display())).unwrap().format, DiskFormat::Qcow2, "probed");
        assert_eq!(DriveConfig::hda(&q).format, DiskFormat::Qcow2);
        std::fs::remove_file(q).unwrap();
    }
}
