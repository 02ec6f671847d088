//! `-netdev socket`: frames carried over a TCP connection to another emulator, each preceded
//! by its length as a 32-bit big-endian number (QEMU's framing).
