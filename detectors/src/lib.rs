//! PII detection for Sluice (emails, phones, names). Pure: no I/O, no panics on input.
