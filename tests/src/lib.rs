//! Integration tests: guest programs, differential tests against QEMU, Linux boot
