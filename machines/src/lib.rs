//! Boards: CPU, memory map, devices, interrupt wiring, device tree, boot protocol
