//! ferrite's boards. A board creates RAM and devices, wires interrupts, builds the device tree,
//! loads images, sets the boot state, and runs the machine loop (timers, host events, idle).

pub mod clock;
pub mod console;
pub mod control;
pub mod drive;
pub mod gdb;
pub mod host;
pub mod loader;
pub mod monitor_socket;
pub mod netdev;
pub mod ppce500;
pub mod qmp;
pub mod rtc;

pub use clock::{ClockMode, VirtualClock};
pub use drive::{DiskFormat, DriveConfig};
pub use host::{CharInput, HostEvent, HostEvents};
pub use netdev::{NetOptions, NicConfig};
pub use ppce500::{PciDevice, Ppce500, Ppce500Config, RunEnd};
