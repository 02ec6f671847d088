//! The GDB remote stub's board-independent parts: where it listens and how clients come and
//! go ([`server`]), and each guest CPU as gdb sees it ([`e500mc`]). The protocol itself is the
//! `gdbstub` crate's; a board answers it (see `ppce500::gdb`).

pub mod e500mc;
mod server;

pub use server::{Client, GdbAddr, GdbServer, InputWatch, ListenError};
