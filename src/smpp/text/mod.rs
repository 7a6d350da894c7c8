//! Message text: GSM 03.38, Latin-1, UCS-2; splitting and reassembly.
