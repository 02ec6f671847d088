//! Virtio consoles from the command line, in QEMU's spelling:
//! `-device virtio-serial-pci[,id=ID] -device virtconsole,chardev=CHR[,bus=ID.0]`.
//!
//! Each virtio-serial-pci holds one console port (ferrite's device has no multiport
//! protocol, see `ferrite_devices::virtio::console`), so a second `virtconsole` on one device
//! and `virtserialport` are refused. A `virtconsole` goes on the device its `bus=` names,
//! or else on the first one without a console, as QEMU picks a bus with room.

use crate::drive::split_options;

/// The `-device` drivers this module handles.
pub const DRIVERS: &[&str] = &["virtio-serial-pci", "virtio-serial", "virtconsole", "virtserialport", "virtio-serial-device"];

/// One virtio-serial-pci device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerialDevice {
    /// Position of its `-device` among all `-device` options (PCI slots follow that order).
    pub device_index: usize,
    /// Its `id=`.
    pub id: Option<String>,
    /// Whether a `virtconsole` is plugged into it.
    pub has_console: bool,
    /// The `chardev=` of that console (None: output is dropped, no input).
    pub chardev: Option<String>,
}

/// The virtio-serial devices among `-device` options, with their consoles. Options of other
/// drivers are skipped.
pub fn serial_devices(devices: &[String]) -> Result<Vec<SerialDevice>, String> {
    let mut out: Vec<SerialDevice> = Vec::new();
    for (index, spec) in devices.iter().enumerate() {
        let items = split_options(spec);
        let Some((driver, rest)) = items.split_first() else { continue };
        let kv: Vec<(&str, &str)> = rest
            .iter()
            .map(|i| i.split_once('=').ok_or_else(|| format!("-device {driver}: '{i}' is not KEY=VALUE")))
            .collect::<Result<_, _>>()?;
        match driver.as_str() {
            "virtio-serial-pci" | "virtio-serial" => {
                let mut id = None;
                for (k, v) in kv {
                    match k {
                        "id" => id = Some(v.to_string()),
                        "max_ports" | "bus" | "addr" | "vectors" | "disable-legacy" => {}
                        _ => return Err(format!("-device {driver}: unknown option '{k}' (accepted: id, max_ports)")),
                    }
                }
                out.push(SerialDevice { device_index: index, id, has_console: false, chardev: None });
            }
            "virtconsole" => attach_console(&mut out, &kv)?,
            "virtserialport" => {
                return Err("-device virtserialport: not supported (ferrite's virtio-serial has one console port and no multiport protocol; use virtconsole)".into())
            }
            "virtio-serial-device" => return Err("-device virtio-serial-device: the ppce500 has no virtio-mmio bus (use virtio-serial-pci)".into()),
            _ => {}
        }
    }
    Ok(out)
}

/// Plugs a `virtconsole` with options `kv` into its virtio-serial device.
fn attach_console(devices: &mut [SerialDevice], kv: &[(&str, &str)]) -> Result<(), String> {
    let mut chardev = None;
    let mut bus = None;
    for &(k, v) in kv {
        match k {
            "chardev" => chardev = Some(v.to_string()),
            "bus" => bus = Some(v),
            "id" => {}
            "nr" if v == "0" => {}
            "nr" => return Err(format!("-device virtconsole: nr={v}: only port 0 exists (no multiport protocol)")),
            "name" => return Err("-device virtconsole: name= needs the multiport protocol, which ferrite's virtio-serial does not offer".into()),
            _ => return Err(format!("-device virtconsole: unknown option '{k}' (accepted: chardev, id, bus, nr=0)")),
        }
    }
    let target = match bus {
        Some(b) => {
            let id = b.strip_suffix(".0").unwrap_or(b);
            let d = devices.iter_mut().find(|d| d.id.as_deref() == Some(id));
            d.ok_or_else(|| format!("-device virtconsole: bus={b}: no -device virtio-serial-pci,id={id} before it"))?
        }
        None => {
            let none_yet = "-device virtconsole: no -device virtio-serial-pci before it (QEMU's order: the bus first)";
            let free = "-device virtconsole: every virtio-serial-pci already has its console (one each in ferrite: no multiport protocol)";
            if devices.is_empty() {
                return Err(none_yet.into());
            }
            devices.iter_mut().find(|d| !d.has_console).ok_or(free)?
        }
    };
    if target.has_console {
        return Err(format!("-device virtconsole: virtio-serial-pci '{}' already has a console (one each: no multiport protocol)", target.id.as_deref().unwrap_or("")));
    }
    target.has_console = true;
    target.chardev = chardev;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(devs: &[&str]) -> Result<Vec<SerialDevice>, String> {
        serial_devices(&devs.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn qemu_spellings() {
        let d = parse(&["virtio-net-pci,netdev=n0", "virtio-serial-pci", "virtconsole,chardev=c0"]).unwrap();
        assert_eq!(d, vec![SerialDevice { device_index: 1, id: None, has_console: true, chardev: Some("c0".into()) }]);
        let d = parse(&["virtio-serial-pci,id=a", "virtio-serial,id=b,max_ports=4", "virtconsole,chardev=y,bus=b.0", "virtconsole,chardev=x"]).unwrap();
        assert_eq!((d[0].chardev.as_deref(), d[1].chardev.as_deref()), (Some("x"), Some("y")));
        let d = parse(&["virtio-serial-pci", "virtconsole,nr=0,id=con0"]).unwrap();
        assert_eq!((d[0].has_console, d[0].chardev.as_deref()), (true, None));
        let d = parse(&["virtio-serial-pci"]).unwrap();
        assert!(!d[0].has_console);
    }

    #[test]
    fn refusals_say_why() {
        let err = |d: &[&str]| parse(d).unwrap_err();
        assert!(err(&["virtconsole,chardev=c0"]).contains("no -device virtio-serial-pci before it"));
        assert!(err(&["virtio-serial-pci", "virtconsole", "virtconsole"]).contains("already has its console"));
        assert!(err(&["virtio-serial-pci,id=s", "virtconsole,bus=s.0", "virtconsole,bus=s.0"]).contains("already has a console"));
        assert!(err(&["virtio-serial-pci", "virtconsole,bus=t.0"]).contains("no -device virtio-serial-pci,id=t"));
        assert!(err(&["virtio-serial-pci", "virtserialport,chardev=c"]).contains("virtconsole"));
        assert!(err(&["virtio-serial-pci", "virtconsole,name=org.x"]).contains("multiport"));
        assert!(err(&["virtio-serial-pci", "virtconsole,nr=1"]).contains("only port 0"));
        assert!(err(&["virtio-serial-pci,bogus=1"]).contains("unknown option 'bogus'"));
        assert!(err(&["virtio-serial-device"]).contains("virtio-mmio"));
    }
}
